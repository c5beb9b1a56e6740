package retry

import (
	"testing"

	"github.com/stormtest/stormtest/profiles"
)

func TestRetriesOn(t *testing.T) {
	def := profiles.Retry{Policy: profiles.PolicyImmediate}
	codes := profiles.Retry{Policy: profiles.PolicyImmediate, On: []string{"503", profiles.RetryOnConnection}}
	four := profiles.Retry{Policy: profiles.PolicyImmediate, On: []string{profiles.RetryOn4xx, profiles.RetryOn5xx}}
	tests := []struct {
		r     profiles.Retry
		class string
		code  int
		want  bool
	}{
		{def, profiles.RetryOnTimeout, 0, true},
		{def, profiles.RetryOnConnection, 0, true},
		{def, profiles.RetryOn5xx, 500, true},
		{def, profiles.RetryOn429, 429, true},
		{def, profiles.RetryOn4xx, 404, false},
		{def, "", 200, false},
		{def, "", 0, false},
		{codes, profiles.RetryOn5xx, 503, true},
		{codes, profiles.RetryOn5xx, 500, false},
		{codes, profiles.RetryOnTimeout, 0, false},
		{codes, profiles.RetryOnConnection, 0, true},
		{codes, profiles.RetryOn429, 429, false},
		{codes, "", 503, true},
		{four, profiles.RetryOn4xx, 404, true},
		{four, profiles.RetryOn429, 429, false}, // 429 is its own class
		{four, profiles.RetryOn5xx, 502, true},
		{four, profiles.RetryOnTimeout, 0, false},
	}
	for _, tt := range tests {
		if got := retriesOn(tt.r, tt.class, tt.code); got != tt.want {
			t.Errorf("on %v: retriesOn(%q, %d) = %v, want %v", tt.r.On, tt.class, tt.code, got, tt.want)
		}
	}
}
