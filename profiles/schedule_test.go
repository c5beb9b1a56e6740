package profiles

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
)

// shapes lists phase kinds relative to a base rate r: every case of the ramp formula
// (rising, falling, from 0, to 0, flat) next to constants, including silence.
func shapes(r float64, ds []time.Duration) []Phase {
	mk := func(i int, rate, from, to *float64) Phase {
		return Phase{Name: fmt.Sprint("p", i), Duration: Duration(ds[i%len(ds)]), Rate: rate, From: from, To: to}
	}
	return []Phase{
		mk(0, ptr(r), nil, nil),
		mk(1, nil, ptr(r), ptr(3*r)),
		mk(2, nil, ptr(3*r), ptr(0)),
		mk(3, nil, ptr(0), ptr(r)),
		mk(4, nil, ptr(r), ptr(r)),
		mk(5, ptr(0), nil, nil),
		mk(6, nil, ptr(r/2), ptr(r/10)),
		mk(7, ptr(r), nil, nil),
	}
}

func scheduleCases() []*Profile {
	rates := []float64{1, 2.5, 7, 33.3, 100, 999, 4321, 20000}
	durations := [][]time.Duration{
		{time.Second},
		{2500 * time.Millisecond, 333 * time.Millisecond, 7 * time.Second},
		{1234567 * time.Microsecond, 3 * time.Second},
	}
	var out []*Profile
	for i, r := range rates {
		out = append(out, &Profile{Name: fmt.Sprint("r", r), Phases: shapes(r, durations[i%len(durations)])})
	}
	return out
}

// Each phase must receive as many first attempts as its rate integral says, within 1: the
// pacer sends attempt k at TimeOf(k), and the k that land in a phase are what it offers.
func TestTimeOfCountsPerPhase(t *testing.T) {
	for _, p := range scheduleCases() {
		t.Run(p.Name, func(t *testing.T) {
			s := p.Schedule()
			got, k := attemptsPerPhase(t, s)
			for i, sp := range s.Spans {
				want := sp.Shape.Count(sp.End - sp.Start)
				if math.Abs(float64(got[i])-want) > 1 {
					t.Errorf("phase %d (%T %+v): %d attempts, integral %.3f", i, sp.Shape, sp.Shape, got[i], want)
				}
			}
			if want := math.Ceil(s.Total()); math.Abs(float64(k)-want) > 1 {
				t.Errorf("%d attempts in all, want %v", k, want)
			}
		})
	}
}

func TestCountAtInvertsTimeOf(t *testing.T) {
	for _, p := range scheduleCases() {
		s := p.Schedule()
		tol := 2e-9 * p.PeakRate() // a nanosecond of rounding at the peak rate
		total := s.Total()
		for i := range 997 { // not a divisor of anything, to land at odd places
			n := total * float64(i) / 997
			at, ok := s.TimeOf(n)
			if !ok {
				t.Fatalf("%s: TimeOf(%v) not ok, total %v", p.Name, n, total)
			}
			if got := s.CountAt(at); math.Abs(got-n) > tol+1e-9*n {
				t.Errorf("%s: CountAt(TimeOf(%v) = %v) = %v", p.Name, n, at, got)
			}
		}
		for _, n := range []float64{total + 1e-6, total + 1, math.Inf(1), math.NaN()} {
			if at, ok := s.TimeOf(n); ok {
				t.Errorf("%s: TimeOf(%v) = %v past the end %v", p.Name, n, at, s.Duration())
			}
		}
	}
}

// Ramps in every direction invert exactly, including where the textbook quadratic formula
// divides by zero (from == to) or cancels (from == 0).
func TestRampInverse(t *testing.T) {
	tests := []Ramp{
		{From: 200, To: 600, Length: 3 * time.Second},
		{From: 600, To: 200, Length: 3 * time.Second},
		{From: 0, To: 1000, Length: time.Second},
		{From: 1000, To: 0, Length: time.Second},
		{From: 50, To: 50, Length: 10 * time.Second},
		{From: 50, To: 50.000001, Length: 10 * time.Second},
		{From: 1e-3, To: 20000, Length: 90 * time.Second},
	}
	for _, r := range tests {
		for i := 0; i <= 100; i++ {
			at := r.Length * time.Duration(i) / 100
			got, ok := r.TimeOf(r.Count(at))
			if !ok || absDur(got-at) > time.Microsecond {
				t.Errorf("%+v: TimeOf(Count(%v)) = %v, %v", r, at, got, ok)
			}
		}
		if _, ok := r.TimeOf(r.Count(r.Length) * (1 + 1e-9)); ok {
			t.Errorf("%+v: TimeOf past its count is ok", r)
		}
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

func TestConstantPacing(t *testing.T) {
	s := mustBuiltin(t, "steady").Schedule()
	for k := 0; k < 2000; k++ {
		at, ok := s.TimeOf(float64(k))
		if want := time.Duration(k) * 10 * time.Millisecond; !ok || at != want {
			t.Fatalf("TimeOf(%d) = %v, %v; want %v", k, at, ok, want)
		}
	}
	if at, ok := s.TimeOf(2000); ok {
		t.Errorf("TimeOf(2000) = %v: attempt 2001 of a 100/s × 20s run", at)
	}
}

// A silent phase is skipped: the earliest time for a count reached before the silence is the
// silence's start, and the next count lands after it.
func TestTimeOfAcrossSilence(t *testing.T) {
	p := &Profile{Phases: []Phase{
		{Name: "a", Duration: Duration(time.Second), Rate: ptr(10)},
		{Name: "quiet", Duration: Duration(time.Second), Rate: ptr(0)},
		{Name: "b", Duration: Duration(time.Second), Rate: ptr(10)},
	}}
	s := p.Schedule()
	tests := []struct {
		n    float64
		want time.Duration
	}{
		{9, 900 * time.Millisecond},
		{10, time.Second},
		{10.5, 2050 * time.Millisecond},
		{19, 2900 * time.Millisecond},
	}
	for _, tt := range tests {
		if got, ok := s.TimeOf(tt.n); !ok || got != tt.want {
			t.Errorf("TimeOf(%v) = %v, %v; want %v", tt.n, got, ok, tt.want)
		}
	}
}

func mustBuiltin(t *testing.T, name string) *Profile {
	t.Helper()
	p, ok := Builtin(name)
	if !ok {
		t.Fatalf("no built-in %q", name)
	}
	return p
}

func TestScheduleMondayMorning(t *testing.T) {
	p := mustBuiltin(t, "monday-morning")
	s := p.Schedule()
	if s.Duration() != 30*time.Second {
		t.Errorf("Duration = %v, want 30s", s.Duration())
	}
	if s.Total() != 9000 { // 200·5 + (200+600)/2·3 + 600·6 + 200·16
		t.Errorf("Total = %v, want 9000", s.Total())
	}
	if p.PeakRate() != 600 {
		t.Errorf("PeakRate = %v, want 600", p.PeakRate())
	}
	ms := time.Millisecond
	tests := []struct {
		at    time.Duration
		phase int
		rate  float64
		count float64
	}{
		{-time.Second, 0, 0, 0},
		{0, 0, 200, 0},
		{5*time.Second - ms, 0, 200, 999.8},
		{5 * time.Second, 1, 200, 1000},
		{6500 * ms, 1, 400, 1000 + 1.5*300},
		{8*time.Second - 1, 1, 600, 2200},
		{8 * time.Second, 2, 600, 2200},
		{14 * time.Second, 3, 200, 5800},
		{30*time.Second - ms, 3, 200, 8999.8},
		{30 * time.Second, 3, 0, 9000},
		{time.Hour, 3, 0, 9000},
	}
	for _, tt := range tests {
		if got := s.PhaseAt(tt.at); got != tt.phase {
			t.Errorf("PhaseAt(%v) = %d, want %d", tt.at, got, tt.phase)
		}
		if got := s.RateAt(tt.at); math.Abs(got-tt.rate) > 1e-3 {
			t.Errorf("RateAt(%v) = %v, want %v", tt.at, got, tt.rate)
		}
		if got := s.CountAt(tt.at); math.Abs(got-tt.count) > 1e-6 {
			t.Errorf("CountAt(%v) = %v, want %v", tt.at, got, tt.count)
		}
	}
}

func TestScaled(t *testing.T) {
	p := mustBuiltin(t, "monday-morning")
	orig := mustBuiltin(t, "monday-morning")
	q := p.Scaled(2, 0.5)
	if !reflect.DeepEqual(p, orig) {
		t.Fatal("Scaled modified the original")
	}
	*q.Phases[0].Rate = -1
	*q.Phases[1].From = -1
	if *p.Phases[0].Rate != 200 || *p.Phases[1].From != 200 {
		t.Fatal("the scaled copy shares rate pointers with the original")
	}
	q = p.Scaled(2, 0.5)
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := q.Schedule().Duration(); got != 15*time.Second {
		t.Errorf("scaled duration %v, want 15s", got)
	}
	if got, want := q.Schedule().Total(), p.Schedule().Total(); got != want {
		t.Errorf("scaled total %v, want %v (×2 rate, ×0.5 time)", got, want)
	}
	if got := q.PeakRate(); got != 1200 {
		t.Errorf("scaled peak %v, want 1200", got)
	}
	if *q.Phases[1].From != 400 || *q.Phases[1].To != 1200 || time.Duration(q.Phases[1].Duration) != 1500*time.Millisecond {
		t.Errorf("scaled ramp %+v", q.Phases[1])
	}
	if !reflect.DeepEqual(q.Client, p.Client) || q.SLO != p.SLO {
		t.Errorf("Scaled changed client or SLO: %+v %+v", q.Client, q.SLO)
	}
}
