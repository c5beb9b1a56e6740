package curve

import (
	"math"
	"sort"
	"time"
)

// Span is one phase placed on the run's timeline.
type Span struct {
	Index      int
	Name       string
	Start, End time.Duration
	Shape      Shape
	// CountBefore is the number of first attempts expected before this phase starts.
	CountBefore float64
	// Users is the closed-loop users of the phase, 0 for an open-loop phase (whose Shape is
	// then the rate curve; a closed phase's Shape is rate 0, since it has no first attempts
	// on a timetable).
	Users int
	// Max marks a `rate: max` phase: first attempts are sent as fast as the workers take
	// them, off any timetable, so its Shape is rate 0 like a closed phase's.
	Max bool
}

// Schedule is a run's whole rate curve on one timeline starting at 0. Build it with
// NewSchedule. It is immutable: the pacer of each client group and the live view read it
// from their own goroutines.
type Schedule struct {
	Spans []Span
}

// Phase is one phase of a run before it is placed on the timeline: what NewSchedule needs
// of it. Length is the whole phase, repeats included (see RepeatLength).
type Phase struct {
	Name   string
	Length time.Duration
	Shape  Shape
	Users  int  // closed-loop users, 0 for an open-loop phase
	Max    bool // a `rate: max` phase
}

// NewSchedule places the phases end to end on one timeline starting at 0, in order; span i
// is phases[i]. Package profiles calls it (Profile.Schedule) with a profile's phases mapped
// to their curves.
func NewSchedule(phases []Phase) *Schedule {
	s := &Schedule{Spans: make([]Span, len(phases))}
	var start time.Duration
	var before float64
	for i, ph := range phases {
		s.Spans[i] = Span{Index: i, Name: ph.Name, Start: start, End: start + ph.Length, Shape: ph.Shape,
			CountBefore: before, Users: ph.Users, Max: ph.Max}
		start += ph.Length
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

// Peak is the highest first-attempt rate anywhere on the timeline.
func (s *Schedule) Peak() float64 {
	peak := 0.0
	for i := range s.Spans {
		peak = max(peak, s.Spans[i].Peak())
	}
	return peak
}

// Peak is the highest first-attempt rate of the span's curve.
func (sp *Span) Peak() float64 { return Peak(sp.Shape, sp.End-sp.Start) }
