package curve

import (
	"math"
	"testing"
	"time"
)

// The sine solver must converge to the nanosecond even where the wave touches 0 and Newton
// steps are useless, and over long phases where float spacing is coarse.
func TestSineSolver(t *testing.T) {
	tests := []Sine{
		{Mean: 300, Amplitude: 200, Period: 10 * time.Second, Length: 30 * time.Second},
		{Mean: 1, Amplitude: 1, Period: time.Second, Length: 5 * time.Second},
		{Mean: 20000, Amplitude: 20000, Period: 3 * time.Millisecond, Length: time.Second},
		{Mean: 0.5, Amplitude: 0.5, Period: 24 * time.Hour, Length: 7 * 24 * time.Hour},
		{Mean: 10, Amplitude: 0, Period: time.Second, Length: time.Second},
	}
	for _, w := range tests {
		for i := 0; i <= 1000; i++ {
			at := w.Length * time.Duration(i) / 1000
			n := w.Count(at)
			got, ok := w.TimeOf(n)
			if !ok {
				t.Fatalf("%+v: TimeOf(Count(%v)) not ok", w, at)
			}
			// Where the wave is at 0 a range of times has the same count; the count is what
			// must come back.
			if c := w.Count(got); math.Abs(c-n) > 1e-9*max(n, 1)+2e-9*w.Peak() {
				t.Errorf("%+v: Count(TimeOf(%v)) = %v at %v (from %v)", w, n, c, got, at)
			}
		}
	}
}

// A curve whose play ends in silence: the count reached at the end of one play belongs to
// that play's last attempt, not to the next play's start.
func TestRepeatSkipsSilence(t *testing.T) {
	// A 2s play at rate 0 with a spike to 10/s in its first second, played twice.
	r := Repeated{Play: NewSpike(0, 10, 0, time.Second, 2*time.Second), Length: 2 * time.Second, Times: 2}
	tests := []struct {
		n    float64
		want time.Duration
	}{{5, 500 * time.Millisecond}, {10, time.Second}, {10.5, 2050 * time.Millisecond}, {20, 3 * time.Second}}
	for _, tt := range tests {
		if got, ok := r.TimeOf(tt.n); !ok || got != tt.want {
			t.Errorf("TimeOf(%v) = %v, %v; want %v", tt.n, got, ok, tt.want)
		}
	}
	if _, ok := r.TimeOf(20.001); ok {
		t.Error("TimeOf past the end is ok")
	}
}

// TestShapesInvert checks the package's contract on every kind of Shape built directly (the
// profiles tests reach the same shapes through phases): Count is the integral of Rate,
// TimeOf(Count(t)) comes back to t wherever the rate is positive, Count is monotone, and the
// exact Peak matches the sampled one. A new Shape adds its cases here.
func TestShapesInvert(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		shape  Shape
		length time.Duration
	}{
		{"constant", Constant{PerSecond: 120, Length: 3 * s}, 3 * s},
		{"ramp up", Ramp{From: 10, To: 900, Length: 4 * s}, 4 * s},
		{"ramp down to 0", Ramp{From: 500, To: 0, Length: 2 * s}, 2 * s},
		{"steps", NewSteps(50, 800, 8, 40*s), 40 * s},
		{"one step", NewSteps(70, 700, 1, 3*s), 3 * s},
		{"exponential growth", Exponential{From: 50, To: 800, Length: 4 * s}, 4 * s},
		{"exponential decay", Exponential{From: 800, To: 5, Length: 3 * s}, 3 * s},
		{"sine", Sine{Mean: 300, Amplitude: 200, Period: 7 * s, Length: 20 * s}, 20 * s},
		{"sine touching 0", Sine{Mean: 40, Amplitude: 40, Period: 1300 * time.Millisecond, Length: 5 * s}, 5 * s},
		{"spike", NewSpike(100, 1000, 2*s, 1500*time.Millisecond, 6*s), 6 * s},
		{"points", NewPoints([]Point{{0, 100}, {2 * s, 400}, {5 * s, 0}, {7 * s, 150}}, 7*s), 7 * s},
		{"repeated ramp", Repeated{Play: Ramp{From: 0, To: 100, Length: 2 * s}, Length: 2 * s, Times: 3}, 6 * s},
	}
	for _, tt := range tests {
		sh, length := tt.shape, tt.length
		const steps = 100_000
		dt := float64(length) / steps
		sum, prev := 0.0, 0.0
		for j := range steps {
			sum += sh.Rate(time.Duration((float64(j) + 0.5) * dt))
			if c := sh.Count(time.Duration(float64(j) * dt)); c < prev-1e-9 {
				t.Errorf("%s: Count goes down at %v: %v < %v", tt.name, time.Duration(float64(j)*dt), c, prev)
			} else {
				prev = c
			}
		}
		sum *= dt / 1e9
		if want := sh.Count(length); math.Abs(sum-want) > 1e-3*max(want, 1) {
			t.Errorf("%s: integral of Rate %v, Count %v", tt.name, sum, want)
		}
		for j := 1; j < 200; j++ {
			at := length * time.Duration(j) / 200
			if sh.Rate(at) <= 0 || sh.Rate(at-time.Microsecond) <= 0 {
				continue // in silence the earliest time is the silence's start
			}
			if got, ok := sh.TimeOf(sh.Count(at)); !ok || absDur(got-at) > time.Microsecond {
				t.Errorf("%s: TimeOf(Count(%v)) = %v, %v", tt.name, at, got, ok)
			}
		}
		if _, ok := sh.TimeOf(sh.Count(length)*(1+1e-9) + 1e-9); ok {
			t.Errorf("%s: TimeOf past the total count is ok", tt.name)
		}
		if p, ok := sh.(Peaker); !ok {
			t.Errorf("%s: %T has no exact Peak", tt.name, sh)
		} else {
			sampled := 0.0
			for j := range 10_000 {
				sampled = max(sampled, sh.Rate(length*time.Duration(j)/10_000))
			}
			if got := p.Peak(); got < sampled-1e-9 || got > sampled*(1+1e-3)+1e-9 {
				t.Errorf("%s: Peak %v, sampled %v", tt.name, got, sampled)
			}
		}
	}
	if got := RepeatLength(time.Hour, math.MaxInt); got != math.MaxInt64 {
		t.Errorf("RepeatLength saturates at %v, want the longest Duration", got)
	}
	if got := RepeatLength(-time.Second, 3); got != 0 {
		t.Errorf("RepeatLength of a negative play = %v, want 0", got)
	}
}
