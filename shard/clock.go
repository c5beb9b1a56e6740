package shard

import (
	"net/http"
	"time"
)

// ClockWindow is how long after t=0 a generator keeps estimating its clock offset: the first
// minute of records pins it to within the round-trip time, and a short window keeps drift out.
const ClockWindow = time.Minute

// Clock estimates how far the target's clock is ahead of this generator's from the Date
// header of responses (RFC 9110: the second at which the origin made the response). A
// response sent at s and received at e (own clock) with Date D means the target's clock read
// between D and D+1s at some instant in [s, e], so the offset θ = target − own lies in
// [D − e, D + 1s − s]. Intersecting these intervals over many responses narrows θ to about
// one round trip wherever the Date ticks over between two responses. Shards of one run
// talking to one target all measure against the same clock, so the differences of their
// offsets are the skew between the generators, with no clock service needed.
//
// A Clock is used by one goroutine: the attack's consumer, once per completed attempt.
type Clock struct {
	lo, hi   time.Duration
	n        uint64
	lastDate string
	lastD    time.Time
}

// Observe takes one response: sent and received on the generator's clock, and its header.
// Responses without a parsable Date are ignored; parsing happens only when Date changes.
func (c *Clock) Observe(sent, received time.Time, h http.Header) {
	if h == nil {
		return
	}
	c.ObserveDate(sent, received, h.Get("Date"))
}

// ObserveDate is Observe given the Date header's value ("" when there was none), for an
// engine that reads headers without building an http.Header.
func (c *Clock) ObserveDate(sent, received time.Time, v string) {
	if v == "" {
		return
	}
	if v != c.lastDate {
		d, err := http.ParseTime(v)
		if err != nil {
			return
		}
		c.lastDate, c.lastD = v, d
	}
	lo := c.lastD.Sub(received)
	hi := c.lastD.Add(time.Second).Sub(sent)
	if c.n == 0 || lo > c.lo {
		c.lo = lo
	}
	if c.n == 0 || hi < c.hi {
		c.hi = hi
	}
	c.n++
}

// Estimate is the offset (target − generator clock) and its half-width; ok is false without
// responses, or when the responses disagree (targets behind one URL whose clocks differ by
// more than the round trip), in which case nothing can be said.
func (c *Clock) Estimate() (offset, uncertainty time.Duration, samples uint64, ok bool) {
	if c.n == 0 || c.lo > c.hi {
		return 0, 0, c.n, false
	}
	return c.lo + (c.hi-c.lo)/2, (c.hi - c.lo) / 2, c.n, true
}
