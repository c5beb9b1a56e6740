package profiles

import (
	"maps"
	"slices"
	"time"

	"github.com/stormtest/stormtest/internal/secret"
)

// DefaultGroup is the name of the one group that a profile without clients has.
const DefaultGroup = "default"

// Groups returns the client groups in force: Clients when the profile has a mix, else one
// group made of Client, named DefaultGroup, with share 1. The slice is new; the groups'
// Retry.On and Retry.Budget are shared with p.
func (p *Profile) Groups() []Client {
	if len(p.Clients) > 0 {
		return slices.Clone(p.Clients)
	}
	c := p.Client
	c.Name, c.Share = DefaultGroup, 1
	return []Client{c}
}

// LongestTimeout is the longest attempt timeout of the profile's client groups: how long an
// attempt in flight may still take when the load stops. The automatic grace of the analysis
// (analyze.Options.GraceFor), the capacity search's surges and the wait at Ctrl-C all derive
// from it, so they are computed here once.
func (p *Profile) LongestTimeout() time.Duration {
	var d time.Duration
	for _, g := range p.Groups() {
		d = max(d, time.Duration(g.Timeout))
	}
	return d
}

// ClosedLoop reports whether the profile's phases are closed-loop (users) rather than
// open-loop (rates). Validate refuses a profile that mixes the two, so the first phase says.
func (p *Profile) ClosedLoop() bool {
	return len(p.Phases) > 0 && p.Phases[0].Users != nil
}

// PeakUsers is the most closed-loop users of any phase: 0 for an open-loop profile.
func (p *Profile) PeakUsers() int {
	peak := 0
	for _, ph := range p.Phases {
		if ph.Users != nil {
			peak = max(peak, *ph.Users)
		}
	}
	return peak
}

// RedactedValue is the text that replaces a secret header's value in Redacted.
const RedactedValue = secret.Header

// Redacted is RedactedBy with the default rules: the values of the Authorization,
// Proxy-Authorization and Cookie headers (in any case), and of every header whose value
// references an environment variable, read "[redacted]".
func (p *Profile) Redacted() Profile { return p.RedactedBy(secret.Rules{}) }

// RedactedBy returns a deep copy of p in which every request header that rules says is
// secret (package internal/secret decides) reads "[redacted]", in request.headers and in
// every request.requests entry, and the user:password of transport.proxy reads xxxxx.
// Results files record the profile they ran, and credentials
// must not travel with them. p is not modified, and the copy shares no memory with it.
func (p *Profile) RedactedBy(rules secret.Rules) Profile {
	q := p.clone()
	redact := func(h map[string]string) {
		for name, value := range h {
			h[name] = rules.HeaderValue(name, value)
		}
	}
	redact(q.Request.Headers)
	for i := range q.Request.Requests {
		redact(q.Request.Requests[i].Headers)
	}
	if q.Transport != nil && q.Transport.Proxy != "" {
		q.Transport.Proxy = redactUserinfo(q.Transport.Proxy)
	}
	for i := range q.Triggers {
		t := &q.Triggers[i]
		t.Start = t.Start.redacted(rules)
		if t.Stop != nil {
			s := t.Stop.redacted(rules)
			t.Stop = &s
		}
	}
	return q
}

// clone is a deep copy of p: every slice, map and pointer is new, so that the copy can be
// changed without changing p. nil stays nil, so that the copy is reflect.DeepEqual to p.
func (p *Profile) clone() Profile {
	q := *p
	q.Phases = slices.Clone(p.Phases)
	for i := range q.Phases {
		ph := &q.Phases[i]
		ph.Rate, ph.From, ph.To = clonePtr(ph.Rate), clonePtr(ph.From), clonePtr(ph.To)
		ph.Amplitude, ph.Spike, ph.SpikeAt = clonePtr(ph.Amplitude), clonePtr(ph.Spike), clonePtr(ph.SpikeAt)
		ph.Users = clonePtr(ph.Users)
		ph.Points = slices.Clone(ph.Points)
	}
	q.Client = p.Client.clone()
	q.Clients = slices.Clone(p.Clients)
	for i := range q.Clients {
		q.Clients[i] = q.Clients[i].clone()
	}
	q.Request.Paths = slices.Clone(p.Request.Paths)
	q.Request.Headers = maps.Clone(p.Request.Headers)
	q.Transport = p.Transport.clone()
	q.Request.Requests = slices.Clone(p.Request.Requests)
	for i := range q.Request.Requests {
		e := &q.Request.Requests[i]
		e.Headers = maps.Clone(e.Headers)
		e.JSON = slices.Clone(e.JSON)
	}
	q.Observe = p.Observe.clone()
	q.Triggers = slices.Clone(p.Triggers)
	for i := range q.Triggers {
		q.Triggers[i] = q.Triggers[i].clone()
	}
	return q
}

func (c Client) clone() Client {
	c.Retry.On = slices.Clone(c.Retry.On)
	c.Retry.Budget = clonePtr(c.Retry.Budget)
	c.KeepAlive = clonePtr(c.KeepAlive)
	return c
}

func clonePtr[T any](v *T) *T {
	if v == nil {
		return nil
	}
	x := *v
	return &x
}
