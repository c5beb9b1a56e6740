package retry

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// singleProfile is capacity's test profile: one client.
const singleProfile = `
name: capacity-test
phases: [{duration: 1s, rate: 1}]
client:
  timeout: 250ms
  retry: {policy: immediate, max_attempts: 4}
slo: {latency: 250ms}
request: {path: /}
seed: 7
`

// presetProfile has a client mix with its own retry.on, so that Apply has groups to set and
// a retry.on to keep.
const presetProfile = `
name: presets
phases: [{duration: 1s, rate: 1}]
clients:
  - {name: a, share: 0.5, timeout: 250ms, retry: {policy: immediate, max_attempts: 4, on: ["503", timeout]}}
  - {name: b, share: 0.5, timeout: 250ms, retry: {policy: fixed, base: 10ms}}
slo: {latency: 250ms}
request: {path: /}
seed: 7
`

// TestPresets: every preset applied to a one-client profile gives a valid profile; applied
// to a mix, the profile stays valid, every group retries by the preset and keeps its retry.on (unless the preset does
// not retry), and the original is left alone.
func TestPresets(t *testing.T) {
	single, err := profiles.Parse([]byte(singleProfile), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Parse([]byte(presetProfile), "presets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := p.Redacted() // a deep copy
	for _, name := range Presets() {
		r, ok := Preset(name)
		if !ok {
			t.Fatalf("%s has no retry", name)
		}
		if err := Apply(single, r).Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		q := Apply(p, r)
		if err := q.Validate(); err != nil {
			t.Errorf("%s applied to a mix: %v", name, err)
		}
		for i, c := range q.Clients {
			want := r
			if r.Policy != profiles.PolicyNone {
				want.On = p.Clients[i].Retry.On
			}
			if !reflect.DeepEqual(c.Retry, want) {
				t.Errorf("%s: group %s retries by %+v, want %+v", name, c.Name, c.Retry, want)
			}
			if r.Budget != nil && c.Retry.Budget == r.Budget {
				t.Errorf("%s: group %s shares the preset's budget", name, c.Name)
			}
		}
	}
	if !reflect.DeepEqual(*p, before) {
		t.Error("Apply changed the original profile")
	}
	for _, name := range []string{"profile", "", "hammer"} {
		if _, ok := Preset(name); ok {
			t.Errorf("Preset(%q) is known", name)
		}
	}
	if !slices.Equal(Presets(), []string{PresetNone, PresetImmediate, PresetExpoJitter, PresetBudget}) {
		t.Errorf("Presets() = %v", Presets())
	}
}

// TestPresetSettings pins the settings the Preset doc promises.
func TestPresetSettings(t *testing.T) {
	for _, tt := range []struct {
		name     string
		attempts int
		jitter   string
		base     time.Duration
		budget   bool
	}{
		{PresetNone, 1, "", 0, false},
		{PresetImmediate, 4, "", 0, false},
		{PresetExpoJitter, 3, profiles.JitterFull, 50 * time.Millisecond, false},
		{PresetBudget, 4, "", 0, true},
	} {
		r, _ := Preset(tt.name)
		if Attempts(r) != tt.attempts || r.Jitter != tt.jitter || time.Duration(r.Base) != tt.base || (r.Budget != nil) != tt.budget {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}
