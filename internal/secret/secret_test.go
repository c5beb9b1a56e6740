package secret

import (
	"strings"
	"testing"

	"github.com/stormtest/stormtest/internal/envvar"
)

func TestIsHeader(t *testing.T) {
	rules := Rules{Headers: []string{"X-Tenant-Key"}}
	cases := []struct {
		name, value string
		want        bool
	}{
		{"Authorization", "Bearer x", true},
		{"PROXY-AUTHORIZATION", "Basic x", true},
		{"cookie", "s=1", true},
		{"x-tenant-key", "abc", true}, // --redact, any case
		{"X-Api-Key", "${KEY}", true}, // from the environment
		{"X-Api-Key", "Key ${KEY}", true},
		{"Accept", "application/json", false},
		{"X-Price", "$5", false},
	}
	for _, tc := range cases {
		if got := rules.IsHeader(tc.name, tc.value); got != tc.want {
			t.Errorf("IsHeader(%q, %q) = %v", tc.name, tc.value, got)
		}
		want := tc.value
		if tc.want {
			want = Header
		}
		if got := rules.HeaderValue(tc.name, tc.value); got != want {
			t.Errorf("HeaderValue(%q, %q) = %q, want %q", tc.name, tc.value, got, want)
		}
	}
}

func TestScrubber(t *testing.T) {
	env := envvar.Map(map[string]string{"TOKEN": "tok-abcdef", "HOST": "staging.internal", "PORT": "8443"})
	rules := Rules{Query: []string{"sig"}}
	var sc Scrubber
	sc.AddURL("https://alice:pa%21ss@staging.internal:8443/?sig=s1g-value&page=2", rules)
	sc.AddHeader("Authorization", "Bearer ${TOKEN}", rules, env)
	sc.AddHeader("Cookie", "session=c00kie-value", rules, env)
	sc.AddHeader("Accept", "text/plain", rules, env)
	sc.AddEnv("https://${HOST}:${PORT}/", env)
	msg := sc.String(`Get "https://alice:pa%21ss@staging.internal:8443/?sig=s1g-value&page=2": token tok-abcdef, cookie session=c00kie-value, password pa!ss, sig s1g-value, 8443 text/plain`)
	for _, leak := range []string{"tok-abcdef", "c00kie-value", "pa!ss", "pa%21ss", "s1g-value", "alice", "staging.internal"} {
		if strings.Contains(msg, leak) {
			t.Errorf("scrubbed message still holds %q: %s", leak, msg)
		}
	}
	for _, keep := range []string{"${TOKEN}", "${HOST}", "8443", "text/plain", "page=2"} {
		if !strings.Contains(msg, keep) {
			t.Errorf("scrubbed message lost %q: %s", keep, msg)
		}
	}
	var nilScrubber *Scrubber
	if nilScrubber.String("x") != "x" {
		t.Error("a nil Scrubber changed a message")
	}
}
