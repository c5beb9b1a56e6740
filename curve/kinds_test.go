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
