package profiles

import (
	"math"
	"sort"
	"time"
)

// Schedule places the profile's phases end to end on one timeline starting at 0. It is
// meaningful for a profile that passes Validate.
func (p *Profile) Schedule() *Schedule {
	s := &Schedule{Spans: make([]Span, len(p.Phases))}
	var start time.Duration
	var before float64
	for i, ph := range p.Phases {
		shape := ph.Shape()
		length := ph.Length()
		s.Spans[i] = Span{Index: i, Name: ph.Name, Start: start, End: start + length, Shape: shape, CountBefore: before}
		if ph.Users != nil {
			s.Spans[i].Users = *ph.Users
		}
		s.Spans[i].Max = ph.Max
		start += length
		// The next span's CountBefore is computed exactly as countAfter computes it, so that
		// TimeOf's search and its subtraction agree to the last bit.
		before = s.Spans[i].countAfter()
	}
	return s
}

// countAfter is the number of first attempts expected by the end of the span.
func (sp *Span) countAfter() float64 {
	return sp.CountBefore + sp.Shape.Count(sp.End-sp.Start)
}

// Duration is the length of the run: the end of the last phase.
func (s *Schedule) Duration() time.Duration {
	if len(s.Spans) == 0 {
		return 0
	}
	return s.Spans[len(s.Spans)-1].End
}

// Total is the number of first attempts expected over the whole run.
func (s *Schedule) Total() float64 {
	if len(s.Spans) == 0 {
		return 0
	}
	return s.Spans[len(s.Spans)-1].countAfter()
}

// span returns the index of the span holding t, for 0 <= t < Duration().
func (s *Schedule) span(t time.Duration) int {
	return sort.Search(len(s.Spans), func(i int) bool { return s.Spans[i].End > t })
}

// PhaseAt is the index of the phase running at t: 0 before the start, the last phase from
// the end on, so that late events are still attributed to a phase.
func (s *Schedule) PhaseAt(t time.Duration) int {
	switch {
	case len(s.Spans) == 0 || t < 0:
		return 0
	case t >= s.Duration():
		return len(s.Spans) - 1
	}
	return s.span(t)
}

// RateAt is the intended first-attempt rate at t; 0 outside [0, Duration()).
func (s *Schedule) RateAt(t time.Duration) float64 {
	if t < 0 || t >= s.Duration() {
		return 0
	}
	sp := &s.Spans[s.span(t)]
	return sp.Shape.Rate(t - sp.Start)
}

// UsersAt is the number of closed-loop users of the phase running at t: 0 for an open-loop
// phase and outside [0, Duration()).
func (s *Schedule) UsersAt(t time.Duration) int {
	if t < 0 || t >= s.Duration() {
		return 0
	}
	return s.Spans[s.span(t)].Users
}

// HasMax says whether any phase is `rate: max`, so that a pacer can skip MaxAt otherwise.
func (s *Schedule) HasMax() bool {
	for _, sp := range s.Spans {
		if sp.Max {
			return true
		}
	}
	return false
}

// CountAt is the number of first attempts expected in [0, t).
func (s *Schedule) CountAt(t time.Duration) float64 {
	switch {
	case t <= 0:
		return 0
	case t >= s.Duration():
		return s.Total()
	}
	sp := &s.Spans[s.span(t)]
	return sp.CountBefore + sp.Shape.Count(t-sp.Start)
}

// TimeOf is the earliest t at which CountAt(t) >= n, to the nanosecond. The run is the
// half-open [0, Duration()), so ok is false when that t is not before the end (or n is
// NaN). The pacer sends the k-th first attempt (k = 0, 1, 2, …) at TimeOf(k): at a constant
// 100/s that is 0, 10ms, 20ms, …, and exactly rate·duration attempts fit in a phase.
func (s *Schedule) TimeOf(n float64) (time.Duration, bool) {
	// A schedule without first attempts (closed-loop) has none, not one at 0: the search
	// below would otherwise find n = 0 in the first span.
	if len(s.Spans) == 0 || math.IsNaN(n) || n > s.Total() || s.Total() <= 0 {
		return 0, false
	}
	n = max(n, 0)
	// The first span whose end count reaches n holds the earliest such t: spans without
	// traffic before it are skipped, and at a boundary the earlier span's end wins.
	i := sort.Search(len(s.Spans), func(i int) bool { return s.Spans[i].countAfter() >= n })
	if i == len(s.Spans) {
		return 0, false
	}
	sp := &s.Spans[i]
	length := sp.End - sp.Start
	// Rounding can leave the local count a hair outside the span's own [0, Count(length)].
	local := min(max(n-sp.CountBefore, 0), sp.Shape.Count(length))
	t, ok := sp.Shape.TimeOf(local)
	if !ok {
		t = length
	}
	if at := sp.Start + t; at < s.Duration() {
		return at, true
	}
	return 0, false
}

// PeakRate is the highest first-attempt rate anywhere in the profile.
func (p *Profile) PeakRate() float64 {
	peak := 0.0
	for _, sp := range p.Schedule().Spans {
		peak = max(peak, sp.peak())
	}
	return peak
}

func (sp *Span) peak() float64 { return peakOf(sp.Shape, sp.End-sp.Start) }

// Scaled returns a copy of p with every rate multiplied by rate and every time within the
// traffic shape by length: phase durations, sine periods, spike offsets and lengths, and
// point offsets, so that the curve keeps its form. Steps, growth and repeat counts are
// shape, not scale, and stay. Client timeouts, retry delays and the SLO are left alone: they
// describe the clients and the target, not the traffic shape. Closed-loop users are load,
// so they scale with rate (rounded, at least 1); think times are the users' pace, so they
// scale with length. Factors should be positive; a result with negative rates or zero
// durations fails Validate. p is not modified, and the copy shares no memory with it.
func (p *Profile) Scaled(rate, length float64) *Profile {
	q := p.clone()
	// scale allocates, so the copy shares no rate pointers with p.
	scale := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x := *v * rate
		return &x
	}
	stretch := func(d Duration) Duration {
		x := math.Round(float64(d) * length)
		switch {
		case math.IsNaN(x):
			return 0
		case x >= math.MaxInt64:
			return math.MaxInt64
		case x <= math.MinInt64:
			return math.MinInt64
		}
		return Duration(x)
	}
	for i, ph := range q.Phases {
		ph.Rate, ph.From, ph.To = scale(ph.Rate), scale(ph.From), scale(ph.To)
		if ph.Users != nil {
			u := math.Round(float64(*ph.Users) * rate)
			if !(u >= 1) { // also NaN
				u = 1
			}
			n := int(min(u, math.MaxInt32))
			ph.Users = &n
		}
		ph.Amplitude, ph.Spike = scale(ph.Amplitude), scale(ph.Spike)
		ph.Duration, ph.Period, ph.SpikeFor = stretch(ph.Duration), stretch(ph.Period), stretch(ph.SpikeFor)
		if ph.SpikeAt != nil {
			at := stretch(*ph.SpikeAt)
			ph.SpikeAt = &at
		}
		if ph.Points != nil {
			// Offsets and the duration are rounded the same way, so a last offset equal to
			// the duration stays equal to it.
			pts := make([]Point, len(ph.Points))
			for j, pt := range ph.Points {
				pts[j] = Point{At: stretch(pt.At), Rate: pt.Rate * rate}
			}
			ph.Points = pts
		}
		q.Phases[i] = ph
	}
	q.Client.Think = stretch(q.Client.Think)
	for i := range q.Clients {
		q.Clients[i].Think = stretch(q.Clients[i].Think)
	}
	return &q
}
