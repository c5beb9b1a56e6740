package profiles

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
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

// Budget defaults, those of the systems each type copies.
const (
	// DefaultMaxTokens and DefaultTokenRatio are the values of gRFC A6's example config.
	DefaultMaxTokens  = 10
	DefaultTokenRatio = 0.1
	// DefaultPercent, DefaultMinPerSecond and DefaultTTL are Finagle's RetryBudget defaults.
	DefaultPercent      = 20
	DefaultMinPerSecond = 10
	DefaultTTL          = Duration(10 * time.Second)
)

// MaxGroups bounds a client mix: results record an attempt's group in one byte.
const MaxGroups = 255

// ApplyDefaults fills the fields a profile may leave empty:
//   - request: method GET, path "/" (neither with targets_file or requests, which give
//     their own; no path with paths); each requests entry: method GET, weight 1;
//   - client.timeout: 10s, for the single client and for every group of clients;
//   - client.retry.policy: none;
//   - exponential: max_attempts 3, base 100ms, cap 10s, jitter full;
//   - fixed: max_attempts 3, base 100ms;
//   - immediate: max_attempts 3;
//   - retry.budget: token-bucket max_tokens 10, token_ratio 0.1; ratio percent 20,
//     min_per_second 10, ttl 10s;
//   - clients[].name: "group-N", N counting from 1;
//   - slo.latency: the client timeout, the longest of the groups' with a mix (anything
//     slower has failed for every client anyway);
//   - phase names: "phase-N", N counting from 1;
//   - the duration of a points phase: its last offset.
//
// retry.on stays empty: empty means the default set (see Retry.On, read by package retry),
// and filling it in would make every written profile repeat it. ApplyDefaults never
// overwrites a field that is set, and applying it twice changes nothing.
func (p *Profile) ApplyDefaults() {
	for i := range p.Request.Requests {
		e := &p.Request.Requests[i]
		if e.Method == "" {
			e.Method = DefaultMethod
		}
		if e.Weight == 0 {
			e.Weight = 1
		}
	}
	if p.Request.TargetsFile == "" && len(p.Request.Requests) == 0 {
		if p.Request.Method == "" {
			p.Request.Method = DefaultMethod
		}
		if p.Request.Path == "" && len(p.Request.Paths) == 0 {
			p.Request.Path = DefaultPath
		}
	}
	// The single client gets its defaults even beside a mix, so that p.Client is always a
	// usable client and a default one is recognisably so (see Client.isDefault).
	p.Client.applyDefaults()
	for i := range p.Clients {
		c := &p.Clients[i]
		if c.Name == "" {
			c.Name = fmt.Sprintf("group-%d", i+1)
		}
		c.applyDefaults()
	}
	if p.SLO.Latency == 0 {
		for _, g := range p.Groups() {
			p.SLO.Latency = max(p.SLO.Latency, g.Timeout)
		}
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
	if p.Observe != nil {
		p.Observe.ApplyDefaults()
	}
}

func (c *Client) applyDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	r := &c.Retry
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
	r.Budget.ApplyDefaults()
}

// ApplyDefaults fills the fields of a budget of a known type that are left empty, with the
// defaults of the system the type copies; a nil budget stays nil. Profile.ApplyDefaults calls
// it, and so does package retry for a budget built without a whole profile (a preset's).
func (b *Budget) ApplyDefaults() {
	if b == nil {
		return
	}
	switch b.Type {
	case BudgetTokenBucket:
		if b.MaxTokens == 0 {
			b.MaxTokens = DefaultMaxTokens
		}
		if b.TokenRatio == 0 {
			b.TokenRatio = DefaultTokenRatio
		}
	case BudgetRatio:
		if b.Percent == 0 {
			b.Percent = DefaultPercent
		}
		if b.MinPerSecond == 0 {
			b.MinPerSecond = DefaultMinPerSecond
		}
		if b.TTL == 0 {
			b.TTL = DefaultTTL
		}
	}
}

// isDefault reports whether c is the single client left out of the file: empty, or with
// only its defaults applied. Beside a mix, any other single client is an error, because
// whoever wrote it expected it to do something.
func (c Client) isDefault() bool {
	r := c.Retry
	return c.Name == "" && c.Share == 0 && (c.Timeout == 0 || c.Timeout == DefaultTimeout) &&
		c.Deadline == 0 && c.Think == 0 && c.FollowRedirects == 0 && c.KeepAlive == nil && (r.Policy == "" || r.Policy == PolicyNone) &&
		r.MaxAttempts == 0 && r.Base == 0 && r.Cap == 0 && r.Jitter == "" && len(r.On) == 0 &&
		!r.RetryAfter && r.Budget == nil
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
	if err := p.checkBounds(); err != nil {
		return err
	}
	seen := make(map[string]int, len(p.Phases))
	var total time.Duration
	var traffic bool
	closed := p.Phases[0].Users != nil
	for i, ph := range p.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		if err := ph.validate(path); err != nil {
			return err
		}
		if (ph.Users != nil) != closed {
			what, other := "closed-loop (users)", "open-loop (a rate)"
			if closed {
				what, other = other, what
			}
			return errAt(path, fmt.Sprintf("%s while phases[0] is %s", what, other),
				"every phase open-loop (rates) or every phase closed-loop (users), not a mix")
		}
		if j, dup := seen[ph.Name]; dup {
			return errAt(path+".name", fmt.Sprintf("%q is also the name of phases[%d]", ph.Name, j),
				"unique phase names, since reports are broken down by phase")
		}
		seen[ph.Name] = i
		// checkBounds has kept the total within MaxDuration.
		length := ph.Length()
		total += length
		traffic = traffic || ph.Max || ph.Shape().Count(length) > 0
	}
	if !traffic && !closed {
		return errAt("phases", "every phase has rate 0", "at least one phase that sends requests")
	}
	if err := p.validateClients(closed); err != nil {
		return err
	}
	if err := p.validateTriggers(total); err != nil {
		return err
	}
	if p.SLO.Latency <= 0 {
		return errAt("slo.latency", notPositive(p.SLO.Latency), "a duration > 0")
	}
	if p.Observe != nil {
		if err := p.Observe.validate(); err != nil {
			return err
		}
	}
	if err := p.Request.validate(); err != nil {
		return err
	}
	return p.Transport.validate()
}

// validateClients checks the single client or the mix, whichever is in force.
func (p *Profile) validateClients(closed bool) *fieldError {
	if len(p.Clients) == 0 {
		c := p.Client
		switch {
		case c.Name != "":
			return errAt("client.name", "set on the single client", "name and share only on the groups of clients")
		case c.Share != 0:
			return errAt("client.share", "set on the single client", "name and share only on the groups of clients")
		}
		return c.validate("client", closed)
	}
	if !p.Client.isDefault() {
		return errAt("client", "set together with clients", "either client (one behaviour) or clients (a mix), not both")
	}
	if len(p.Clients) > MaxGroups {
		return errAt("clients", fmt.Sprintf("%d groups", len(p.Clients)), fmt.Sprintf("at most %d groups", MaxGroups))
	}
	names := make(map[string]int, len(p.Clients))
	sum := 0.0
	for i, c := range p.Clients {
		path := fmt.Sprintf("clients[%d]", i)
		if c.Name == "" {
			return errAt(path+".name", "empty", "a group name")
		}
		if j, dup := names[c.Name]; dup {
			return errAt(path+".name", fmt.Sprintf("%q is also the name of clients[%d]", c.Name, j),
				"unique group names, since reports are broken down by group")
		}
		names[c.Name] = i
		if !(c.Share > 0 && c.Share <= 1) {
			return errAt(path+".share", fmt.Sprintf("%v is not in (0, 1]", c.Share), "the group's fraction of first attempts, in (0, 1]")
		}
		sum += c.Share
		if err := c.validate(path, closed); err != nil {
			return err
		}
	}
	if math.Abs(sum-1) > 1e-6 {
		return errAt("clients", fmt.Sprintf("the shares add up to %.7g", sum), "shares that add up to 1")
	}
	return nil
}

// followRedirectsExpected is what follow_redirects takes, for its errors.
const followRedirectsExpected = "0 to record a 3xx as the attempt's outcome, or the number of redirect hops to follow, at most 20"

func (c Client) validate(path string, closed bool) *fieldError {
	if c.Timeout <= 0 {
		return errAt(path+".timeout", notPositive(c.Timeout), "a duration > 0 bounding one attempt")
	}
	switch {
	case c.Deadline < 0:
		return errAt(path+".deadline", notPositive(c.Deadline), "a duration >= timeout bounding a request's attempts, or no deadline")
	case c.Deadline > 0 && c.Deadline < c.Timeout:
		return errAt(path+".deadline", fmt.Sprintf("%s is below timeout %s", c.Deadline, c.Timeout),
			"deadline >= timeout: the request's first attempt alone may take the timeout")
	case c.Think < 0:
		return errAt(path+".think", fmt.Sprintf("%s is negative", c.Think), "a pause >= 0 between a user's requests")
	case c.Think > 0 && !closed:
		return errAt(path+".think", "set in an open-loop profile", "think only with closed-loop phases (users): open-loop clients do not wait for each other")
	case c.FollowRedirects < 0 || c.FollowRedirects > MaxFollowRedirects:
		return errAt(path+".follow_redirects", fmt.Sprintf("%d is not in [0, %d]", c.FollowRedirects, MaxFollowRedirects), followRedirectsExpected)
	}
	return c.Retry.validate(path + ".retry")
}

func notPositive(d Duration) string {
	if d == 0 {
		return "missing or 0"
	}
	return fmt.Sprintf("%s is negative", d)
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
	if r.Policy == PolicyNone {
		// None of these does anything without retries; whoever wrote one expected it to.
		switch {
		case len(r.On) > 0:
			return errAt(path+".on", "set with policy none", "no on, or a policy that retries")
		case r.RetryAfter:
			return errAt(path+".retry_after", "set with policy none", "no retry_after, or a policy that retries")
		case r.Budget != nil:
			return errAt(path+".budget", "set with policy none", "no budget, or a policy that retries")
		}
	}
	seen := make(map[string]int, len(r.On))
	for i, on := range r.On {
		p := fmt.Sprintf("%s.on[%d]", path, i)
		if !isRetryOn(on) {
			return errAt(p, fmt.Sprintf("%q is not a failure class or status code", on), retryOnExpected)
		}
		if j, dup := seen[on]; dup {
			return errAt(p, fmt.Sprintf("%q is also on[%d]", on, j), "each class or code once")
		}
		seen[on] = i
	}
	if r.Budget != nil {
		if err := r.Budget.validate(path + ".budget"); err != nil {
			return err
		}
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

// retryClasses are the failure classes retry.on accepts besides status codes.
var retryClasses = []string{RetryOnTimeout, RetryOnConnection, RetryOn5xx, RetryOn429, RetryOn4xx}

// isRetryOn reports whether s is a failure class or a status code from 100 to 599 written
// plainly ("503", not "0503" or "503.0"), so that package retry can match it as text.
func isRetryOn(s string) bool {
	if slices.Contains(retryClasses, s) {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 100 && n <= 599 && strconv.Itoa(n) == s
}

func (b *Budget) validate(path string) *fieldError {
	// keys says which fields each type reads; a field of the other type is an error.
	var keys []string
	switch b.Type {
	case BudgetTokenBucket:
		keys = []string{"max_tokens", "token_ratio"}
	case BudgetRatio:
		keys = []string{"percent", "min_per_second", "ttl"}
	default:
		return errAt(path+".type", fmt.Sprintf("unknown budget type %q", b.Type), "one of "+BudgetTokenBucket+", "+BudgetRatio)
	}
	for _, f := range []struct {
		key string
		on  bool
	}{{"max_tokens", b.MaxTokens != 0}, {"token_ratio", b.TokenRatio != 0}, {"percent", b.Percent != 0},
		{"min_per_second", b.MinPerSecond != 0}, {"ttl", b.TTL != 0}} {
		if f.on && !slices.Contains(keys, f.key) {
			return errAt(path+"."+f.key, "set in a "+b.Type+" budget", "a "+b.Type+" budget takes "+strings.Join(keys, ", "))
		}
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch b.Type {
	case BudgetTokenBucket:
		switch {
		case !(b.MaxTokens > 0 && b.MaxTokens <= 1000):
			return errAt(path+".max_tokens", fmt.Sprintf("%v is not in (0, 1000]", b.MaxTokens), "a token count in (0, 1000], as gRPC allows")
		case !(b.TokenRatio >= 0.001) || !finite(b.TokenRatio):
			// gRPC keeps three decimal places; a smaller ratio would be 0 and never refill.
			return errAt(path+".token_ratio", fmt.Sprintf("%v is below 0.001", b.TokenRatio), "tokens returned per success, at least 0.001 (gRPC keeps 3 decimal places)")
		}
	case BudgetRatio:
		switch {
		case !(b.Percent >= 0 && b.Percent <= 1000):
			return errAt(path+".percent", fmt.Sprintf("%v is not in [0, 1000]", b.Percent), "retries as a percentage of requests, 0 to 1000")
		case !(b.MinPerSecond >= 0) || !finite(b.MinPerSecond):
			return errAt(path+".min_per_second", fmt.Sprintf("%v is negative or not finite", b.MinPerSecond), "retries per second always allowed, >= 0")
		case b.TTL < Duration(time.Second) || b.TTL > Duration(time.Minute):
			return errAt(path+".ttl", fmt.Sprintf("%s is not from 1s to 60s", b.TTL), "the budget's window, 1s to 60s, as Finagle allows")
		}
	}
	return nil
}

const pathExpected = "a path starting with /, such as /api/orders?limit=10"

func checkPath(path, p string) *fieldError {
	if u, err := url.ParseRequestURI(p); err != nil || !strings.HasPrefix(p, "/") || u.Host != "" {
		return errAt(path, fmt.Sprintf("%q is not a path", p), pathExpected)
	}
	return nil
}

func (r Request) validate() *fieldError {
	if err := r.checkEnvSyntax(); err != nil {
		return err
	}
	if r.TargetsFile != "" {
		for _, f := range []struct {
			key string
			on  bool
		}{{"method", r.Method != ""}, {"path", r.Path != ""}, {"paths", len(r.Paths) > 0}, {"requests", len(r.Requests) > 0},
			{"headers", len(r.Headers) > 0}, {"body_file", r.BodyFile != ""}} {
			if f.on {
				return errAt("request."+f.key, "set with targets_file",
					"targets_file alone: each of its targets gives its own method, URL, headers and body")
			}
		}
		return nil
	}
	if len(r.Requests) > 0 {
		if err := r.validateEntries(); err != nil {
			return err
		}
		return checkHeaders("request.headers", r.Headers)
	}
	if !isToken(r.Method) {
		return errAt("request.method", fmt.Sprintf("%q is not an HTTP method", r.Method), "a method such as GET or POST")
	}
	if len(r.Paths) == 0 {
		if err := checkPath("request.path", r.Path); err != nil {
			return err
		}
	} else if r.Path != "" {
		return errAt("request.paths", "set together with path", "path (one path) or paths (weighted), not both")
	}
	for i, wp := range r.Paths {
		p := fmt.Sprintf("request.paths[%d]", i)
		if err := checkPath(p+".path", wp.Path); err != nil {
			return err
		}
		if !(wp.Weight > 0) || math.IsInf(wp.Weight, 0) {
			return errAt(p+".weight", fmt.Sprintf("%v is not a finite weight > 0", wp.Weight), "a weight > 0; requests go to each path in proportion to its weight")
		}
	}
	return checkHeaders("request.headers", r.Headers)
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
