package profiles

import (
	"math"
	"reflect"
	"testing"
	"time"
)

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
