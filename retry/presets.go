package retry

import (
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// Preset names: the common clients of the field, chosen so that one capacity map per preset
// shows what each buys. Package capacity offers them as its --policies.
const (
	PresetNone       = "none"
	PresetImmediate  = "immediate"
	PresetExpoJitter = "expo-jitter"
	PresetBudget     = "budget"
)

// Presets lists the names Preset knows, in the order to offer them.
func Presets() []string {
	return []string{PresetNone, PresetImmediate, PresetExpoJitter, PresetBudget}
}

// Preset is the retry policy a named client behaviour stands for:
//   - none: no retries;
//   - immediate: up to 4 attempts at once (Huang et al.'s retry experiment);
//   - expo-jitter: up to 3 attempts, exponential backoff with full jitter, base 50ms, cap 1s;
//   - budget: immediate, capped by gRPC's token bucket (10 tokens, ratio 0.1).
//
// ok is false for an unknown name. The settings leave retry.on empty: Apply keeps the
// profile's.
func Preset(name string) (r profiles.Retry, ok bool) {
	switch name {
	case PresetNone:
		return profiles.Retry{Policy: profiles.PolicyNone}, true
	case PresetImmediate:
		return profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 4}, true
	case PresetExpoJitter:
		return profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 3,
			Base: profiles.Duration(50 * time.Millisecond), Cap: profiles.Duration(time.Second),
			Jitter: profiles.JitterFull}, true
	case PresetBudget:
		return profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 4,
			Budget: &profiles.Budget{Type: profiles.BudgetTokenBucket,
				MaxTokens: profiles.DefaultMaxTokens, TokenRatio: profiles.DefaultTokenRatio}}, true
	}
	return profiles.Retry{}, false
}

// Apply returns a deep copy of p whose every client group retries by r; p is not changed.
func Apply(p *profiles.Profile, r profiles.Retry) *profiles.Profile {
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
	// A mix keeps its behaviour in Clients and must leave Client unset: setting both is a
	// profile validation error ("client: set together with clients").
	if len(q.Clients) == 0 {
		set(&q.Client)
	}
	for i := range q.Clients {
		set(&q.Clients[i])
	}
	return q
}
