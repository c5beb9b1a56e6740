package profiles

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults, applied by ApplyDefaults (and so by Parse) to fields left empty.
const (
	// DefaultMethod and DefaultPath make a profile without a request section hit the root.
	DefaultMethod = "GET"
	DefaultPath   = "/"
	// DefaultTimeout is a typical HTTP client timeout; an attempt without one would never be
	// counted as failed and retries would never start.
	DefaultTimeout = Duration(10 * time.Second)
	// DefaultMaxAttempts is what common client libraries ship with (one try, two retries).
	DefaultMaxAttempts = 3
	// DefaultBase and DefaultCap are the backoff bounds of the exponential and fixed policies.
	DefaultBase = Duration(100 * time.Millisecond)
	DefaultCap  = Duration(10 * time.Second)
	// DefaultJitter is full jitter, the AWS blog's recommendation for spreading retries.
	DefaultJitter = JitterFull
)

// fieldError is one problem with one field. path names the field as it is spelt in a profile
// file ("phases[1].rate"); line is its line in the file when known, so that Parse can point at
// it. The message always reads "path: problem (expected ...)", on one line.
type fieldError struct {
	path     string
	line     int
	problem  string
	expected string
}

func (e *fieldError) Error() string {
	msg := e.problem
	if e.expected != "" {
		msg += " (expected " + e.expected + ")"
	}
	if e.path != "" {
		msg = e.path + ": " + msg
	}
	return msg
}

func errAt(path, problem, expected string) *fieldError {
	return &fieldError{path: path, problem: problem, expected: expected}
}

// ApplyDefaults fills the fields a profile may leave empty:
//   - request: method GET, path "/";
//   - client.timeout: 10s;
//   - client.retry.policy: none;
//   - exponential: max_attempts 3, base 100ms, cap 10s, jitter full;
//   - fixed: max_attempts 3, base 100ms;
//   - immediate: max_attempts 3;
//   - slo.latency: the client timeout (anything slower has failed for the client anyway);
//   - phase names: "phase-N", N counting from 1;
//   - the duration of a points phase: its last offset.
//
// It never overwrites a field that is set, and applying it twice changes nothing.
func (p *Profile) ApplyDefaults() {
	if p.Request.Method == "" {
		p.Request.Method = DefaultMethod
	}
	if p.Request.Path == "" {
		p.Request.Path = DefaultPath
	}
	if p.Client.Timeout == 0 {
		p.Client.Timeout = DefaultTimeout
	}
	r := &p.Client.Retry
	if r.Policy == "" {
		r.Policy = PolicyNone
	}
	switch r.Policy {
	case PolicyExponential:
		if r.Cap == 0 {
			r.Cap = DefaultCap
		}
		if r.Jitter == "" {
			r.Jitter = DefaultJitter
		}
		fallthrough
	case PolicyFixed:
		if r.Base == 0 {
			r.Base = DefaultBase
		}
		fallthrough
	case PolicyImmediate:
		if r.MaxAttempts == 0 {
			r.MaxAttempts = DefaultMaxAttempts
		}
	}
	if p.SLO.Latency == 0 {
		p.SLO.Latency = p.Client.Timeout
	}
	for i := range p.Phases {
		ph := &p.Phases[i]
		if ph.Name == "" {
			ph.Name = fmt.Sprintf("phase-%d", i+1)
		}
		// A points phase is as long as its curve; saying so again would only be a chance
		// to disagree.
		if ph.Duration == 0 && len(ph.Points) > 0 {
			ph.Duration = ph.Points[len(ph.Points)-1].At
		}
	}
}

// Validate reports the first thing wrong with p, as one line naming the field. It expects
// defaults to be applied already: an empty timeout, for instance, is an error here.
func (p *Profile) Validate() error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return nil
}

// validate returns a *fieldError so that Parse can place it on a line.
func (p *Profile) validate() *fieldError {
	if len(p.Phases) == 0 {
		return errAt("phases", "no phases", "at least one phase with a duration and a rate")
	}
	seen := make(map[string]int, len(p.Phases))
	var total time.Duration
	var traffic bool
	for i, ph := range p.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		if err := ph.validate(path); err != nil {
			return err
		}
		if j, dup := seen[ph.Name]; dup {
			return errAt(path+".name", fmt.Sprintf("%q is also the name of phases[%d]", ph.Name, j),
				"unique phase names, since reports are broken down by phase")
		}
		seen[ph.Name] = i
		length := ph.Length()
		if length > math.MaxInt64-total {
			return errAt(path+".duration", "the run's total length overflows", "a total under 290 years")
		}
		total += length
		traffic = traffic || ph.Shape().Count(length) > 0
	}
	if !traffic {
		return errAt("phases", "every phase has rate 0", "at least one phase that sends requests")
	}
	if p.Client.Timeout <= 0 {
		return errAt("client.timeout", notPositive(p.Client.Timeout), "a duration > 0 bounding one attempt")
	}
	if err := p.Client.Retry.validate("client.retry"); err != nil {
		return err
	}
	if p.SLO.Latency <= 0 {
		return errAt("slo.latency", notPositive(p.SLO.Latency), "a duration > 0")
	}
	if !isToken(p.Request.Method) {
		return errAt("request.method", fmt.Sprintf("%q is not an HTTP method", p.Request.Method), "a method such as GET or POST")
	}
	if u, err := url.ParseRequestURI(p.Request.Path); err != nil || !strings.HasPrefix(p.Request.Path, "/") || u.Host != "" {
		return errAt("request.path", fmt.Sprintf("%q is not a path", p.Request.Path), "a path starting with /, such as /api/orders?limit=10")
	}
	return nil
}

func notPositive(d Duration) string {
	if d == 0 {
		return "missing or 0"
	}
	return fmt.Sprintf("%s is negative", d)
}

const rateExpected = "a finite rate >= 0, in first attempts per second"

// MaxSteps bounds steps: more would be a ramp drawn in pixels, and the bound keeps every
// step at least a microsecond long in any phase of a second or more.
const MaxSteps = 1_000_000

// Phase kinds, as named in messages.
const (
	kindConstant = "constant"
	kindRamp     = "from/to"
	kindSine     = "sine"
	kindSpike    = "spike"
	kindPoints   = "points"
)

// kindKeys are the rate fields each kind of phase reads (name, duration and repeat go with
// every kind). A field of another kind is an error rather than ignored, because whoever
// wrote it expected it to do something.
var kindKeys = map[string][]string{
	kindConstant: {"rate"},
	kindRamp:     {"from", "to", "steps", "growth"},
	kindSine:     {"rate", "amplitude", "period"},
	kindSpike:    {"rate", "spike", "spike_at", "spike_for"},
	kindPoints:   {"points"},
}

// kindExpected is the hint for a phase with the wrong set of rate fields.
const kindExpected = "rate for a constant phase, or from and to for a ramp"

func (ph Phase) validate(path string) *fieldError {
	if ph.Name == "" {
		return errAt(path+".name", "empty", "a phase name")
	}
	set := []struct {
		key string
		on  bool
	}{
		{"rate", ph.Rate != nil}, {"from", ph.From != nil}, {"to", ph.To != nil},
		{"steps", ph.Steps != 0}, {"growth", ph.Growth != ""},
		{"amplitude", ph.Amplitude != nil}, {"period", ph.Period != 0},
		{"spike", ph.Spike != nil}, {"spike_at", ph.SpikeAt != nil}, {"spike_for", ph.SpikeFor != 0},
		{"points", ph.Points != nil},
	}
	isSet := func(keys ...string) bool {
		for _, s := range set {
			if s.on && slices.Contains(keys, s.key) {
				return true
			}
		}
		return false
	}
	var kind string
	switch {
	case isSet("points"):
		kind = kindPoints
	case isSet("amplitude", "period"):
		kind = kindSine
	case isSet("spike", "spike_at", "spike_for"):
		kind = kindSpike
	case isSet("from", "to", "steps", "growth"):
		if ph.Rate != nil {
			return errAt(path+".rate", "both rate and from/to are set", "rate for a constant phase, or from and to for a ramp, not both")
		}
		kind = kindRamp
	case ph.Rate != nil:
		kind = kindConstant
	default:
		return errAt(path, "no rate", kindExpected+"; or see docs/profiles.md for steps, sine, spike and points")
	}
	for _, s := range set {
		if s.on && !slices.Contains(kindKeys[kind], s.key) {
			return errAt(path+"."+s.key, fmt.Sprintf("set in a %s phase", kind),
				"one kind of curve per phase; a "+kind+" phase takes "+strings.Join(kindKeys[kind], ", "))
		}
	}
	if kind == kindPoints {
		// Before the duration: a points phase takes its duration from its last point.
		if err := validatePoints(path, ph.Points, ph.Duration); err != nil {
			return err
		}
	}
	if ph.Duration <= 0 {
		return errAt(path+".duration", notPositive(ph.Duration), "a duration > 0 such as 30s")
	}
	if ph.Repeat < 0 {
		return errAt(path+".repeat", fmt.Sprintf("%d is negative", ph.Repeat), "how many times to play the phase, at least 1")
	}
	if ph.Repeat > 1 && time.Duration(ph.Duration) > math.MaxInt64/time.Duration(ph.Repeat) {
		return errAt(path+".repeat", "the phase's length overflows", "a total under 290 years")
	}
	for _, f := range []struct {
		key string
		v   *float64
	}{{"rate", ph.Rate}, {"from", ph.From}, {"to", ph.To}, {"amplitude", ph.Amplitude}, {"spike", ph.Spike}} {
		if err := checkRate(path+"."+f.key, f.v); err != nil {
			return err
		}
	}
	switch kind {
	case kindRamp:
		return ph.validateRamp(path)
	case kindSine:
		return ph.validateSine(path)
	case kindSpike:
		return ph.validateSpike(path)
	}
	return nil
}

func checkRate(path string, v *float64) *fieldError {
	if v == nil {
		return nil
	}
	switch x := *v; {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return errAt(path, fmt.Sprintf("%v is not finite", x), rateExpected)
	case x < 0:
		return errAt(path, fmt.Sprintf("%v is negative", x), rateExpected)
	}
	return nil
}

func (ph Phase) validateRamp(path string) *fieldError {
	switch {
	case ph.From == nil && ph.To == nil:
		key := "steps"
		if ph.Steps == 0 {
			key = "growth"
		}
		return errAt(path+"."+key, key+" without from and to", "from and to with "+key)
	case ph.From == nil:
		return errAt(path+".to", "to without from", "from and to together for a ramp")
	case ph.To == nil:
		return errAt(path+".from", "from without to", "from and to together for a ramp")
	}
	switch ph.Growth {
	case "", GrowthLinear:
	case GrowthExponential:
		if ph.Steps != 0 {
			return errAt(path+".growth", "exponential with steps", "steps (stairs) or growth: exponential, not both")
		}
		if *ph.From <= 0 || *ph.To <= 0 {
			return errAt(path+".growth", fmt.Sprintf("exponential from %v to %v", *ph.From, *ph.To), "from > 0 and to > 0: an exponential never reaches or leaves 0")
		}
	default:
		return errAt(path+".growth", fmt.Sprintf("unknown growth %q", ph.Growth), "one of "+GrowthLinear+", "+GrowthExponential)
	}
	const stepsExpected = "the number of equal steps from from to to, 1 to 1000000"
	switch {
	case ph.Steps < 0:
		return errAt(path+".steps", fmt.Sprintf("%d is less than 1", ph.Steps), stepsExpected)
	case ph.Steps > MaxSteps:
		return errAt(path+".steps", fmt.Sprintf("%d is too many", ph.Steps), stepsExpected)
	case ph.Steps > 0 && time.Duration(ph.Duration) < time.Duration(ph.Steps):
		return errAt(path+".steps", fmt.Sprintf("%d steps in %s are shorter than a nanosecond", ph.Steps, ph.Duration), "fewer steps or a longer duration")
	}
	return nil
}

func (ph Phase) validateSine(path string) *fieldError {
	switch {
	case ph.Rate == nil:
		return errAt(path+".amplitude", "a wave without rate", "rate (the wave's midline), amplitude and period together")
	case ph.Amplitude == nil:
		return errAt(path+".period", "period without amplitude", "rate, amplitude and period together")
	case ph.Period == 0:
		return errAt(path+".amplitude", "amplitude without period", "rate, amplitude and period together")
	case ph.Period < 0:
		return errAt(path+".period", notPositive(ph.Period), "a duration > 0 such as 10s")
	case *ph.Amplitude > *ph.Rate:
		return errAt(path+".amplitude", fmt.Sprintf("%v is above rate %v", *ph.Amplitude, *ph.Rate), "amplitude <= rate, so that the rate never goes below 0")
	}
	return nil
}

func (ph Phase) validateSpike(path string) *fieldError {
	const together = "rate, spike, spike_at and spike_for together"
	switch {
	case ph.Rate == nil:
		return errAt(path+".spike", "a spike without rate", together)
	case ph.Spike == nil:
		return errAt(path, "no spike", "spike: the burst's rate, with "+together)
	case ph.SpikeAt == nil:
		return errAt(path, "no spike_at", "spike_at: when the burst starts, from 0s, with "+together)
	case ph.SpikeFor == 0:
		return errAt(path, "no spike_for", "spike_for: how long the burst lasts, with "+together)
	case *ph.SpikeAt < 0:
		return errAt(path+".spike_at", fmt.Sprintf("%s is negative", *ph.SpikeAt), "an offset into the phase, from 0s")
	case ph.SpikeFor < 0:
		return errAt(path+".spike_for", notPositive(ph.SpikeFor), "a duration > 0")
	case *ph.SpikeAt >= ph.Duration:
		return errAt(path+".spike_at", fmt.Sprintf("%s is not before the phase's end %s", *ph.SpikeAt, ph.Duration), "a spike that starts within the phase")
	case ph.SpikeFor > ph.Duration-*ph.SpikeAt:
		return errAt(path+".spike_for", fmt.Sprintf("the spike ends at %s, after the phase's end %s", time.Duration(*ph.SpikeAt)+time.Duration(ph.SpikeFor), ph.Duration),
			"spike_at + spike_for <= duration")
	}
	return nil
}

func validatePoints(path string, pts []Point, d Duration) *fieldError {
	const expected = "at least two [offset, rate] points, the first at 0s, offsets increasing"
	if len(pts) < 2 {
		return errAt(path+".points", fmt.Sprintf("%d points", len(pts)), expected)
	}
	for i, pt := range pts {
		p := fmt.Sprintf("%s.points[%d]", path, i)
		switch {
		case i == 0 && pt.At != 0:
			return errAt(p, fmt.Sprintf("the first offset is %s", pt.At), expected)
		case i > 0 && pt.At <= pts[i-1].At:
			return errAt(p, fmt.Sprintf("offset %s is not after %s", pt.At, pts[i-1].At), expected)
		}
		if err := checkRate(p, &pt.Rate); err != nil {
			return err
		}
	}
	if last := pts[len(pts)-1].At; d != last {
		return errAt(path+".duration", fmt.Sprintf("%s differs from the last point's offset %s", d, last), "no duration, or the last offset: a points phase ends at its last point")
	}
	return nil
}

func (r Retry) validate(path string) *fieldError {
	// uses* say which optional fields each policy reads; a field that the policy
	// ignores is an error, because whoever wrote it expected it to do something.
	var usesBase, usesCap, usesAttempts bool
	switch r.Policy {
	case PolicyNone:
	case PolicyImmediate:
		usesAttempts = true
	case PolicyFixed:
		usesAttempts, usesBase = true, true
	case PolicyExponential:
		usesAttempts, usesBase, usesCap = true, true, true
	default:
		return errAt(path+".policy", fmt.Sprintf("unknown policy %q", r.Policy), "one of "+
			strings.Join([]string{PolicyNone, PolicyImmediate, PolicyFixed, PolicyExponential}, ", "))
	}
	switch {
	case usesAttempts && r.MaxAttempts < 1:
		return errAt(path+".max_attempts", fmt.Sprintf("%d is less than 1", r.MaxAttempts), "the number of tries including the first, at least 1")
	case !usesAttempts && r.MaxAttempts > 1:
		return errAt(path+".max_attempts", fmt.Sprintf("%d with policy %s", r.MaxAttempts, r.Policy), "no max_attempts, or a policy that retries")
	case !usesAttempts && r.MaxAttempts < 0:
		return errAt(path+".max_attempts", fmt.Sprintf("%d is negative", r.MaxAttempts), "no max_attempts with policy none")
	case usesBase && r.Base <= 0:
		return errAt(path+".base", notPositive(r.Base), "a delay > 0")
	case !usesBase && r.Base != 0:
		return errAt(path+".base", "set with policy "+r.Policy, "no base: only fixed and exponential wait")
	case usesCap && r.Cap <= 0:
		return errAt(path+".cap", notPositive(r.Cap), "a delay > 0")
	case usesCap && r.Cap < r.Base:
		return errAt(path+".cap", fmt.Sprintf("%s is below base %s", r.Cap, r.Base), "cap >= base")
	case !usesCap && r.Cap != 0:
		return errAt(path+".cap", "set with policy "+r.Policy, "no cap: only exponential has one")
	}
	switch {
	case r.Policy != PolicyExponential && r.Jitter != "":
		return errAt(path+".jitter", "set with policy "+r.Policy, "no jitter: only exponential has one")
	case r.Policy == PolicyExponential:
		switch r.Jitter {
		case JitterNone, JitterFull, JitterEqual, JitterDecorrelated:
		default:
			return errAt(path+".jitter", fmt.Sprintf("unknown jitter %q", r.Jitter), "one of "+
				strings.Join([]string{JitterNone, JitterFull, JitterEqual, JitterDecorrelated}, ", "))
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), the syntax of a method.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
