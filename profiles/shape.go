package profiles

import (
	"math"
	"time"
)

// Shape returns the rate curve of the phase. It is the one place that maps a phase's fields
// to a curve: a new kind of phase adds its fields to Phase, a Shape type, a case in
// baseShape and a case in Phase.validate; the Schedule works on any Shape and does not
// change.
//
// A phase with none of the rate fields (which Validate refuses) is treated as rate 0.
func (ph Phase) Shape() Shape {
	length := max(time.Duration(ph.Duration), 0)
	base := ph.baseShape(length)
	if ph.Repeat > 1 {
		return Repeated{Play: base, Length: length, Times: ph.Repeat}
	}
	return base
}

// Length is how long the phase lasts on the timeline: Duration times Repeat.
func (ph Phase) Length() time.Duration {
	d := max(time.Duration(ph.Duration), 0)
	n := time.Duration(max(ph.Repeat, 1))
	if d != 0 && n > math.MaxInt64/d {
		return math.MaxInt64
	}
	return d * n
}

// baseShape is one play of the phase's curve. The order of the cases is the order of
// precedence when several kinds' fields are set, which only matters for a phase Validate
// refuses.
func (ph Phase) baseShape(length time.Duration) Shape {
	switch {
	case len(ph.Points) > 0:
		return newPointsShape(ph.Points, length)
	case ph.Rate != nil && ph.Amplitude != nil:
		return Sine{Mean: *ph.Rate, Amplitude: *ph.Amplitude, Period: time.Duration(ph.Period), Length: length}
	case ph.Rate != nil && ph.Spike != nil:
		at := time.Duration(0)
		if ph.SpikeAt != nil {
			at = time.Duration(*ph.SpikeAt)
		}
		return newSpikeShape(*ph.Rate, *ph.Spike, at, time.Duration(ph.SpikeFor), length)
	case ph.From != nil && ph.To != nil && ph.Steps > 0:
		return newStepsShape(*ph.From, *ph.To, ph.Steps, length)
	case ph.From != nil && ph.To != nil && ph.Growth == GrowthExponential:
		return Exponential{From: *ph.From, To: *ph.To, Length: length}
	case ph.From != nil && ph.To != nil:
		return Ramp{From: *ph.From, To: *ph.To, Length: length}
	case ph.Rate != nil:
		return Constant{PerSecond: *ph.Rate, Length: length}
	default:
		return Constant{Length: length}
	}
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
