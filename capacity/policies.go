package capacity

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// Policy names for the tipping map. PolicyProfile keeps the profile's own clients.
const (
	PolicyProfile    = "profile"
	PolicyNone       = "none"
	PolicyImmediate  = "immediate"
	PolicyExpoJitter = "expo-jitter"
	PolicyBudget     = "budget"
)

// PolicyNames lists the policies ParsePolicies accepts.
func PolicyNames() []string {
	return []string{PolicyProfile, PolicyNone, PolicyImmediate, PolicyExpoJitter, PolicyBudget}
}

// PolicyRetry is the retry policy a named client behaviour stands for. They are the common
// clients of the field, chosen so that one map per policy shows what each buys:
//   - none: no retries;
//   - immediate: up to 4 attempts at once (Huang et al.'s retry experiment);
//   - expo-jitter: up to 3 attempts, exponential backoff with full jitter, base 50ms, cap 1s;
//   - budget: immediate, capped by gRPC's token bucket (10 tokens, ratio 0.1).
//
// ok is false for PolicyProfile and unknown names.
func PolicyRetry(name string) (profiles.Retry, bool) {
	switch name {
	case PolicyNone:
		return profiles.Retry{Policy: profiles.PolicyNone}, true
	case PolicyImmediate:
		return profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 4}, true
	case PolicyExpoJitter:
		return profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 3,
			Base: profiles.Duration(50 * time.Millisecond), Cap: profiles.Duration(time.Second),
			Jitter: profiles.JitterFull}, true
	case PolicyBudget:
		return profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 4,
			Budget: &profiles.Budget{Type: profiles.BudgetTokenBucket,
				MaxTokens: profiles.DefaultMaxTokens, TokenRatio: profiles.DefaultTokenRatio}}, true
	}
	return profiles.Retry{}, false
}

// ParsePolicies reads a comma-separated list of policy names.
func ParsePolicies(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(PolicyNames(), f) {
			return nil, fmt.Errorf("unknown policy %q (expected one of %s)", f, strings.Join(PolicyNames(), ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no policy given (expected one or more of %s)", strings.Join(PolicyNames(), ", "))
	}
	return out, nil
}

// withRetry returns a copy of p whose every client group retries by r.
func withRetry(p *profiles.Profile, r profiles.Retry) *profiles.Profile {
	q := p.Scaled(1, 1) // a deep copy
	set := func(c *profiles.Client) {
		rr := r
		if r.Budget != nil {
			b := *r.Budget
			rr.Budget = &b
		}
		// The profile's retry.on stays: which failures its clients treat as retryable is
		// about the service's answers, not about the policy being compared.
		if rr.Policy != profiles.PolicyNone {
			rr.On = c.Retry.On
		}
		c.Retry = rr
	}
	set(&q.Client)
	for i := range q.Clients {
		set(&q.Clients[i])
	}
	return q
}

// retryFor is the profile's client behaviour under the named policy.
func retryFor(p *profiles.Profile, policy string) *profiles.Profile {
	if r, ok := PolicyRetry(policy); ok {
		return withRetry(p, r)
	}
	return p.Scaled(1, 1)
}
