package attack

import (
	"strings"
	"testing"

	"github.com/stormtest/stormtest/profiles"
)

// TestScrubberCoversTheRunsSecrets: every message the CLI prints for a run goes through its
// Scrubber, which must know the target's userinfo and the proxy's password as well as the
// secret headers.
func TestScrubberCoversTheRunsSecrets(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "TOKEN" {
			return "tok-s3cret", true
		}
		return "", false
	}
	cfg := Config{
		Target: "http://admin:target-pw@127.0.0.1:8080/?key=q-s3cret",
		Profile: &profiles.Profile{
			Request:   profiles.Request{Headers: map[string]string{"Authorization": "Bearer ${TOKEN}"}},
			Transport: &profiles.Transport{Proxy: "http://proxyuser:proxy-pw@127.0.0.1:3128"},
		},
		RedactQuery: []string{"key"},
		Env:         env,
	}
	msg := "dial http://proxyuser:proxy-pw@127.0.0.1:3128 for http://admin:target-pw@127.0.0.1:8080/?key=q-s3cret with tok-s3cret failed; password proxy-pw"
	got := cfg.Scrubber().String(msg)
	for _, secret := range []string{"proxy-pw", "target-pw", "q-s3cret", "tok-s3cret"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survived scrubbing: %s", secret, got)
		}
	}
	if !strings.Contains(got, "127.0.0.1:3128") || !strings.Contains(got, "failed") {
		t.Errorf("scrubbing lost the message itself: %s", got)
	}
}
