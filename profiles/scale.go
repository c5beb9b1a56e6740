package profiles

import "math"

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
	for i := range q.Phases {
		ph := &q.Phases[i]
		// By the fields' Go types (see Phase): every rate and every time of the curve, so
		// that a new kind's fields are scaled without a line here.
		for _, f := range phaseFields {
			switch v := ph.field(f).Addr().Interface().(type) {
			case **float64:
				*v = scale(*v)
			case *Duration:
				*v = stretch(*v)
			case **Duration:
				if *v != nil {
					at := stretch(**v)
					*v = &at
				}
			case *[]Point:
				if *v != nil {
					// Offsets and the duration are rounded the same way, so a last offset
					// equal to the duration stays equal to it.
					pts := make([]Point, len(*v))
					for j, pt := range *v {
						pts[j] = Point{At: stretch(pt.At), Rate: pt.Rate * rate}
					}
					*v = pts
				}
			}
		}
		if ph.Users != nil {
			u := math.Round(float64(*ph.Users) * rate)
			if !(u >= 1) { // also NaN
				u = 1
			}
			n := int(min(u, math.MaxInt32))
			ph.Users = &n
		}
	}
	// Triggers happen at times of the traffic shape, so they move with it.
	for i := range q.Triggers {
		q.Triggers[i].At = stretch(q.Triggers[i].At)
		q.Triggers[i].For = stretch(q.Triggers[i].For)
	}
	q.Client.Think = stretch(q.Client.Think)
	for i := range q.Clients {
		q.Clients[i].Think = stretch(q.Clients[i].Think)
	}
	return &q
}
