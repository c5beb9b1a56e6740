package capacity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/retry"
)

// Policy names for the tipping map. PolicyProfile keeps the profile's own clients; the
// others are package retry's presets, whose settings retry.Preset gives.
const (
	PolicyProfile    = "profile"
	PolicyNone       = retry.PresetNone
	PolicyImmediate  = retry.PresetImmediate
	PolicyExpoJitter = retry.PresetExpoJitter
	PolicyBudget     = retry.PresetBudget
)

// PolicyNames lists the policies ParsePolicies accepts: PolicyProfile, then retry's presets.
func PolicyNames() []string {
	return append([]string{PolicyProfile}, retry.Presets()...)
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

// retryFor is the profile's client behaviour under the named policy: a copy of the profile
// whose clients retry by the policy's preset, or a plain copy for PolicyProfile.
func retryFor(p *profiles.Profile, policy string) *profiles.Profile {
	if r, ok := retry.Preset(policy); ok {
		return retry.Apply(p, r)
	}
	return p.Scaled(1, 1)
}
