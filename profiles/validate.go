package profiles

import (
	"fmt"
	"math"
	"net/url"
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
//   - phase names: "phase-N", N counting from 1.
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
		if p.Phases[i].Name == "" {
			p.Phases[i].Name = fmt.Sprintf("phase-%d", i+1)
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
		if time.Duration(ph.Duration) > math.MaxInt64-total {
			return errAt(path+".duration", "the run's total length overflows", "a total under 290 years")
		}
		total += time.Duration(ph.Duration)
		traffic = traffic || ph.Shape().Count(time.Duration(ph.Duration)) > 0
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

func (ph Phase) validate(path string) *fieldError {
	if ph.Name == "" {
		return errAt(path+".name", "empty", "a phase name")
	}
	if ph.Duration <= 0 {
		return errAt(path+".duration", notPositive(ph.Duration), "a duration > 0 such as 30s")
	}
	ramp := ph.From != nil || ph.To != nil
	switch {
	case ph.Rate != nil && ramp:
		return errAt(path+".rate", "both rate and from/to are set", "rate for a constant phase, or from and to for a ramp, not both")
	case ph.Rate == nil && !ramp:
		return errAt(path, "no rate", "rate for a constant phase, or from and to for a ramp")
	case ramp && ph.From == nil:
		return errAt(path+".to", "to without from", "from and to together for a ramp")
	case ramp && ph.To == nil:
		return errAt(path+".from", "from without to", "from and to together for a ramp")
	}
	for _, f := range []struct {
		key string
		v   *float64
	}{{"rate", ph.Rate}, {"from", ph.From}, {"to", ph.To}} {
		if f.v == nil {
			continue
		}
		switch v := *f.v; {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return errAt(path+"."+f.key, fmt.Sprintf("%v is not finite", v), rateExpected)
		case v < 0:
			return errAt(path+"."+f.key, fmt.Sprintf("%v is negative", v), rateExpected)
		}
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
