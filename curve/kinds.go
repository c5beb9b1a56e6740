package curve

import (
	"math"
	"math/bits"
	"sort"
	"time"
)

// Piecewise is a rate curve made of straight segments laid end to end: steps, a spike and
// pasted points are all this, so they share one exact Count/TimeOf instead of three. Each
// segment is a Ramp (which inverts exactly), and the count before each segment is summed
// once, when the shape is built, rather than on every TimeOf: the pacer calls TimeOf once
// per first attempt. Build it with NewSteps, NewSpike or NewPoints.
type Piecewise struct {
	segs   []segment
	length time.Duration
}

type segment struct {
	start  time.Duration
	ramp   Ramp
	before float64 // first attempts expected before start
}

func (s *segment) after() float64 { return s.before + s.ramp.Count(s.ramp.Length) }

// add appends the straight line from rate `from` at start to rate `to` at end, clipped to the
// shape's length so that a curve longer than its phase cannot count past the phase's end.
// Segments must be added in order; empty ones are dropped, so that Count never lands in a
// segment that has no time.
func (p *Piecewise) add(start, end time.Duration, from, to float64) {
	start, end = max(start, 0), min(end, p.length)
	if end <= start {
		return
	}
	before := 0.0
	if n := len(p.segs); n > 0 {
		before = p.segs[n-1].after()
	}
	p.segs = append(p.segs, segment{start: start, ramp: Ramp{From: from, To: to, Length: end - start}, before: before})
}

// NewSteps is n equal constant steps from `from` to `to` over length, both ends included:
// step i runs at from + (to-from)·i/(n-1). One step (or fewer) runs at from.
func NewSteps(from, to float64, n int, length time.Duration) *Piecewise {
	p := &Piecewise{length: length}
	n = max(n, 1)
	for i := range n {
		rate := from
		if n > 1 {
			rate = from + (to-from)*float64(i)/float64(n-1)
		}
		p.add(stepBoundary(length, i, n), stepBoundary(length, i+1, n), rate, rate)
	}
	return p
}

// stepBoundary is length·i/n rounded down, computed in 128 bits so that long phases with many
// steps cannot overflow; i <= n keeps the quotient below length.
func stepBoundary(length time.Duration, i, n int) time.Duration {
	hi, lo := bits.Mul64(uint64(length), uint64(i))
	q, _ := bits.Div64(hi, lo, uint64(n))
	return time.Duration(q)
}

// NewSpike is base everywhere in [0, length) except [at, at+dur), where it is spike.
func NewSpike(base, spike float64, at, dur, length time.Duration) *Piecewise {
	p := &Piecewise{length: length}
	end := at + dur
	if end < at { // overflow: the spike lasts to the end
		end = length
	}
	p.add(0, at, base, base)
	p.add(at, end, spike, spike)
	p.add(end, length, base, base)
	return p
}

// Point is one (offset, rate) corner of a curve pasted from metrics.
type Point struct {
	At   time.Duration
	Rate float64
}

// NewPoints joins the points, which must be at least one and in increasing order of offset,
// with straight lines, and holds the last rate to the end of the phase if the phase is longer
// (which profiles refuse, but a curve must still be a curve). Points past length are clipped.
func NewPoints(pts []Point, length time.Duration) *Piecewise {
	p := &Piecewise{length: length}
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		start, end := a.At, b.At
		if end <= start {
			continue
		}
		to := b.Rate
		if end > length { // clipped: the line's height where the phase ends
			to = a.Rate + (b.Rate-a.Rate)*float64(length-start)/float64(end-start)
		}
		p.add(start, end, a.Rate, to)
	}
	last := pts[len(pts)-1]
	p.add(last.At, length, last.Rate, last.Rate)
	return p
}

// seg is the index of the segment holding t, for t inside one.
func (p *Piecewise) seg(t time.Duration) int {
	return sort.Search(len(p.segs), func(i int) bool { return p.segs[i].start > t }) - 1
}

// Rate is the rate at t, 0 outside [0, length).
func (p *Piecewise) Rate(t time.Duration) float64 {
	if t < 0 || t >= p.length {
		return 0
	}
	i := p.seg(t)
	if i < 0 || t >= p.segs[i].start+p.segs[i].ramp.Length {
		return 0
	}
	sg := &p.segs[i]
	return sg.ramp.Rate(t - sg.start)
}

// Count sums the segments before t and the part of t's own segment up to t.
func (p *Piecewise) Count(t time.Duration) float64 {
	if len(p.segs) == 0 || t <= 0 {
		return 0
	}
	i := p.seg(min(t, p.length))
	if i < 0 {
		return 0
	}
	sg := &p.segs[i]
	return sg.before + sg.ramp.Count(t-sg.start)
}

// TimeOf finds the first segment whose end count reaches n and inverts that segment, as
// Schedule.TimeOf does with spans.
func (p *Piecewise) TimeOf(n float64) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	if len(p.segs) == 0 || !(n <= p.segs[len(p.segs)-1].after()) {
		return 0, false
	}
	i := sort.Search(len(p.segs), func(i int) bool { return p.segs[i].after() >= n })
	sg := &p.segs[i]
	local := min(max(n-sg.before, 0), sg.ramp.Count(sg.ramp.Length))
	t, ok := sg.ramp.TimeOf(local)
	if !ok {
		t = sg.ramp.Length
	}
	return sg.start + t, true
}

// Peak is the highest rate of the phase: a straight segment peaks at one of its ends.
func (p *Piecewise) Peak() float64 {
	peak := 0.0
	for _, sg := range p.segs {
		peak = max(peak, sg.ramp.Peak())
	}
	return peak
}

// Exponential grows (or decays) from From to To over Length by a constant factor per second:
// rate(t) = From·(To/From)^(t/Length). From and To must be positive.
type Exponential struct {
	From, To float64
	Length   time.Duration
}

// k is the growth constant per second: rate(s) = From·e^(k·s).
func (e Exponential) k() float64 {
	return math.Log(e.To/e.From) / e.Length.Seconds()
}

func (e Exponential) valid() bool { return e.From > 0 && e.To > 0 && e.Length > 0 }

// Rate is the rate at t, 0 outside [0, Length).
func (e Exponential) Rate(t time.Duration) float64 {
	if t < 0 || t >= e.Length || !e.valid() {
		return 0
	}
	return e.From * math.Exp(e.k()*t.Seconds())
}

// Count is From·(e^(k·s) − 1)/k, with expm1 so that a growth factor near 1 loses nothing
// to cancellation.
func (e Exponential) Count(t time.Duration) float64 {
	if !e.valid() {
		return 0
	}
	s := clamp(t, e.Length).Seconds()
	k := e.k()
	if k == 0 {
		return e.From * s
	}
	return e.From * math.Expm1(k*s) / k
}

// TimeOf inverts Count in closed form: s = ln(1 + n·k/From)/k, with log1p for the same
// reason Count uses expm1.
func (e Exponential) TimeOf(n float64) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	if !e.valid() || !(n <= e.Count(e.Length)) {
		return 0, false
	}
	k := e.k()
	s := n / e.From
	if k != 0 {
		s = math.Log1p(n*k/e.From) / k
	}
	return min(seconds(s), e.Length), true
}

// Peak is the highest rate of the phase.
func (e Exponential) Peak() float64 {
	if !e.valid() {
		return 0
	}
	return max(e.From, e.To)
}

// Sine is a wave around Mean: rate(t) = Mean + Amplitude·sin(2πt/Period), a day compressed
// to Period. Amplitude <= Mean keeps the rate non-negative and Count monotone, which the
// solver in TimeOf relies on.
type Sine struct {
	Mean, Amplitude float64
	Period, Length  time.Duration
}

// rate is the curve without the phase's bounds, for the solver's Newton steps.
func (w Sine) rate(s float64) float64 {
	if w.Period <= 0 {
		return w.Mean
	}
	return max(w.Mean+w.Amplitude*math.Sin(2*math.Pi*s/w.Period.Seconds()), 0)
}

// count is Mean·s + Amplitude·P/(2π)·(1 − cos(2πs/P)), with 1 − cos x written as
// 2·sin²(x/2) so that small s loses nothing to cancellation.
func (w Sine) count(s float64) float64 {
	if w.Period <= 0 {
		return w.Mean * s
	}
	p := w.Period.Seconds()
	sn := math.Sin(math.Pi * s / p)
	return w.Mean*s + w.Amplitude*p/math.Pi*sn*sn
}

// Rate is the rate at t, 0 outside [0, Length).
func (w Sine) Rate(t time.Duration) float64 {
	if t < 0 || t >= w.Length {
		return 0
	}
	return w.rate(t.Seconds())
}

// Count is the integral of the wave up to t clamped to [0, Length].
func (w Sine) Count(t time.Duration) float64 {
	return w.count(clamp(t, w.Length).Seconds())
}

// TimeOf has no closed form, so it solves count(s) = n numerically. Count is monotone and
// lies between Mean·s and Mean·s + Amplitude·P/π, which brackets the root within
// Amplitude·P/(π·Mean) seconds; Newton steps then converge in a few iterations, and any
// step that would leave the bracket (where the rate is near 0, at Amplitude == Mean) is
// replaced by bisection, which always converges. The bracket keeps count(lo) < n <=
// count(hi), and hi is returned, so the answer never comes before the count is reached.
func (w Sine) TimeOf(n float64) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	total := w.Count(w.Length)
	if !(n <= total) {
		return 0, false
	}
	ls := w.Length.Seconds()
	lo, hi := 0.0, ls
	if w.Mean > 0 {
		if h := n / w.Mean; h < hi && w.count(h) >= n {
			hi = h
		}
		if w.Period > 0 {
			if l := (n - w.Amplitude*w.Period.Seconds()/math.Pi) / w.Mean; l > lo && l < hi && w.count(l) < n {
				lo = l
			}
		}
	}
	// 1e-10 s is a tenth of the nanosecond the result is rounded to; far from 0 the float
	// spacing of s is coarser, and asking for less would never terminate.
	tol := max(1e-10, 4*math.Abs(ls)*0x1p-52)
	x := (lo + hi) / 2
	for range 200 {
		if hi-lo <= tol {
			break
		}
		f := w.count(x) - n
		if f < 0 {
			lo = x
		} else {
			hi = x
		}
		next := (lo + hi) / 2
		if r := w.rate(x); r > 0 {
			if nx := x - f/r; nx > lo && nx < hi {
				next = nx
			}
		}
		if math.Abs(next-x) <= tol {
			// Newton has converged: pin the bracket on either side of it.
			if w.count(next+tol) >= n {
				hi = min(hi, next+tol)
			}
			if w.count(next-tol) < n {
				lo = max(lo, next-tol)
			}
		}
		x = next
	}
	return min(seconds(hi), w.Length), true
}

// Peak is the crest of the wave.
func (w Sine) Peak() float64 { return w.Mean + math.Abs(w.Amplitude) }

// Repeated plays one curve Times times in a row; Length is one play. It is one span on the
// timeline, not Times spans, so that the index that Schedule.PhaseAt returns is still the
// index of the phase as the caller listed it (results files and reports are keyed by it).
type Repeated struct {
	Play   Shape
	Length time.Duration
	Times  int
}

func (r Repeated) end() time.Duration {
	return RepeatLength(r.Length, r.Times)
}

// perPlay is the first attempts in one play.
func (r Repeated) perPlay() float64 { return r.Play.Count(r.Length) }

// Rate is the rate of the current play at t, 0 outside the phase.
func (r Repeated) Rate(t time.Duration) float64 {
	if t < 0 || t >= r.end() || r.Length <= 0 {
		return 0
	}
	return r.Play.Rate(t % r.Length)
}

// Count is whole plays before t plus the current play up to t.
func (r Repeated) Count(t time.Duration) float64 {
	if r.Length <= 0 || t <= 0 {
		return 0
	}
	q := t / r.Length
	if q >= time.Duration(r.Times) {
		return r.perPlay() * float64(r.Times)
	}
	return r.perPlay()*float64(q) + r.Play.Count(t-q*r.Length)
}

// TimeOf finds the play in which the count reaches n and inverts within it. A count that
// a play ends on exactly belongs to that play, not to the next one's start, so that silence
// at the end of a play is skipped as Schedule.TimeOf skips silent phases.
func (r Repeated) TimeOf(n float64) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	c := r.perPlay()
	if c <= 0 || r.Length <= 0 || !(n <= c*float64(r.Times)) {
		return 0, false
	}
	q := min(max(math.Ceil(n/c)-1, 0), float64(r.Times-1))
	local := min(max(n-c*q, 0), c)
	t, ok := r.Play.TimeOf(local)
	if !ok {
		t = r.Length
	}
	return time.Duration(q)*r.Length + t, true
}

// Peak is the peak of one play.
func (r Repeated) Peak() float64 { return Peak(r.Play, r.Length) }

// Peak is the highest rate of s over [0, length): the shape's own Peak when it is a Peaker,
// otherwise its rate sampled at 1000 points, so that a new kind of shape works before it
// gets an exact Peak.
func Peak(s Shape, length time.Duration) float64 {
	if p, ok := s.(Peaker); ok {
		return p.Peak()
	}
	const samples = 1000
	peak := 0.0
	for i := range samples {
		peak = max(peak, s.Rate(time.Duration(float64(length)*float64(i)/samples)))
	}
	return peak
}
