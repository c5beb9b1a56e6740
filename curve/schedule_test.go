package curve

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// shapes lists phase curves relative to a base rate r: every case of the ramp formula
// (rising, falling, from 0, to 0, flat) next to constants, including silence.
func shapes(r float64, ds []time.Duration) []Phase {
	mk := func(i int, rate, from, to *float64) Phase {
		length := ds[i%len(ds)]
		ph := Phase{Name: fmt.Sprint("p", i), Length: length}
		if rate != nil {
			ph.Shape = Constant{PerSecond: *rate, Length: length}
		} else {
			ph.Shape = Ramp{From: *from, To: *to, Length: length}
		}
		return ph
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

func ptr(v float64) *float64 { return &v }

// scheduleCase is one schedule of the property tests, named for subtests and messages.
type scheduleCase struct {
	Name  string
	sched *Schedule
}

func scheduleCases() []scheduleCase {
	rates := []float64{1, 2.5, 7, 33.3, 100, 999, 4321, 20000}
	durations := [][]time.Duration{
		{time.Second},
		{2500 * time.Millisecond, 333 * time.Millisecond, 7 * time.Second},
		{1234567 * time.Microsecond, 3 * time.Second},
	}
	var out []scheduleCase
	for i, r := range rates {
		out = append(out, scheduleCase{Name: fmt.Sprint("r", r), sched: NewSchedule(shapes(r, durations[i%len(durations)]))})
	}
	return out
}

// Each phase must receive as many first attempts as its rate integral says, within 1: the
// pacer sends attempt k at TimeOf(k), and the k that land in a phase are what it offers.
func TestTimeOfCountsPerPhase(t *testing.T) {
	for _, p := range scheduleCases() {
		t.Run(p.Name, func(t *testing.T) {
			s := p.sched
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
		s := p.sched
		tol := 2e-9 * s.Peak() // a nanosecond of rounding at the peak rate
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

// A silent phase is skipped: the earliest time for a count reached before the silence is the
// silence's start, and the next count lands after it.
func TestTimeOfAcrossSilence(t *testing.T) {
	s := NewSchedule([]Phase{
		{Name: "a", Length: time.Second, Shape: Constant{PerSecond: 10, Length: time.Second}},
		{Name: "quiet", Length: time.Second, Shape: Constant{PerSecond: 0, Length: time.Second}},
		{Name: "b", Length: time.Second, Shape: Constant{PerSecond: 10, Length: time.Second}},
	})
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

// attemptsPerPhase plays the pacer over s without real time: attempt k is sent at TimeOf(k).
// It returns how many land in each phase and how many there are in all, failing if TimeOf goes
// backwards or past the end.
func attemptsPerPhase(t *testing.T, s *Schedule) (perPhase []int, total int) {
	t.Helper()
	perPhase = make([]int, len(s.Spans))
	prev := time.Duration(-1)
	for ; ; total++ {
		at, ok := s.TimeOf(float64(total))
		if !ok {
			return perPhase, total
		}
		if at < prev || at >= s.Duration() {
			t.Fatalf("TimeOf(%d) = %v after %v, run ends %v", total, at, prev, s.Duration())
		}
		prev = at
		perPhase[s.PhaseAt(at)]++
	}
}
