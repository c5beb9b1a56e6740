package curve

import (
	"math"
	"time"
)

// Shape is the rate curve of one phase, with t measured from the phase's start.
// Implementations must be exact inverses: TimeOf(Count(t)) == t within float precision. The
// pacer calls TimeOf from its own goroutine once per first attempt, and live views call Rate
// from theirs; a Shape is immutable, so both may share it.
type Shape interface {
	// Rate is the instantaneous first-attempt rate at t, per second.
	Rate(t time.Duration) float64
	// Count is the expected number of first attempts in [0, t): the integral of Rate.
	Count(t time.Duration) float64
	// TimeOf is the earliest t at which Count(t) reaches n; ok is false when the phase ends
	// first.
	TimeOf(n float64) (t time.Duration, ok bool)
}

// Peaker is a Shape that knows its highest rate exactly. Peak uses it when a Shape has it.
type Peaker interface {
	Peak() float64
}

// RepeatLength is how long a curve played times times in a row lasts: play·times, with a
// negative play taken as 0 and fewer than one play as one, saturating at the longest
// Duration instead of overflowing.
func RepeatLength(play time.Duration, times int) time.Duration {
	d := max(play, 0)
	n := time.Duration(max(times, 1))
	if d != 0 && n > math.MaxInt64/d {
		return math.MaxInt64
	}
	return d * n
}

// Constant is a flat rate for Length.
type Constant struct {
	PerSecond float64 // first attempts per second
	Length    time.Duration
}

// Ramp goes linearly from From to To (first attempts per second) over Length.
type Ramp struct {
	From, To float64
	Length   time.Duration
}

// Rate is the rate at t, 0 outside [0, Length).
func (c Constant) Rate(t time.Duration) float64 {
	if t < 0 || t >= c.Length {
		return 0
	}
	return c.PerSecond
}

// Count is PerSecond·t, with t clamped to [0, Length].
func (c Constant) Count(t time.Duration) float64 {
	return c.PerSecond * clamp(t, c.Length).Seconds()
}

// TimeOf inverts Count: n/PerSecond.
func (c Constant) TimeOf(n float64) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	if !(n <= c.Count(c.Length)) { // also refuses NaN
		return 0, false
	}
	return min(seconds(n/c.PerSecond), c.Length), true
}

// Peak is the highest rate of the phase.
func (c Constant) Peak() float64 { return c.PerSecond }

// slope is the ramp's rate change per second per second.
func (r Ramp) slope() float64 {
	return (r.To - r.From) / r.Length.Seconds()
}

// Rate is the rate at t, 0 outside [0, Length).
func (r Ramp) Rate(t time.Duration) float64 {
	if t < 0 || t >= r.Length {
		return 0
	}
	return r.From + (r.To-r.From)*(float64(t)/float64(r.Length))
}

// Count is the integral of the line: From·s + slope·s²/2, with s = t in seconds clamped to
// [0, Length].
func (r Ramp) Count(t time.Duration) float64 {
	if r.Length <= 0 {
		return 0
	}
	s := clamp(t, r.Length).Seconds()
	return s * (r.From + r.slope()*s/2)
}

// TimeOf solves slope·s²/2 + From·s − n = 0 for its smallest non-negative root. It uses
// s = 2n / (From + √(From² + 2·slope·n)) rather than the schoolbook (−From + √…)/slope: that
// form has no division by the slope (which is 0 when From == To), and no cancellation
// between −From and the root when the slope is small. The denominator is positive whenever
// the rate in front of n is: From > 0, or From == 0 with an upward slope.
func (r Ramp) TimeOf(n float64) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	if !(n <= r.Count(r.Length)) {
		return 0, false
	}
	disc := r.From*r.From + 2*r.slope()*n
	den := r.From + math.Sqrt(max(disc, 0))
	if den <= 0 {
		return 0, false
	}
	return min(seconds(2*n/den), r.Length), true
}

// Peak is the highest rate of the phase.
func (r Ramp) Peak() float64 { return max(r.From, r.To) }

func clamp(t, length time.Duration) time.Duration {
	return min(max(t, 0), length)
}

// seconds converts to a Duration rounded to the nanosecond, saturating instead of
// overflowing.
func seconds(s float64) time.Duration {
	ns := math.Round(s * 1e9)
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
