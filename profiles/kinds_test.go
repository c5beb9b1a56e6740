package profiles

import (
	"slices"
	"strings"
	"testing"
)

// The kind table names fields of Phase and nothing else, every rate field belongs to a kind,
// and the keys the parser accepts are Phase's yaml tags in the struct's order (messages list
// them in that order).
func TestKindTable(t *testing.T) {
	known := make(map[string]bool)
	for _, f := range phaseFields {
		known[f.key] = true
	}
	names := make(map[string]bool)
	for _, k := range phaseKinds {
		if names[k.name] {
			t.Errorf("kind %q twice", k.name)
		}
		names[k.name] = true
		if k.shape == nil {
			t.Errorf("kind %q has no shape", k.name)
		}
		for _, key := range k.keys {
			if !known[key] {
				t.Errorf("kind %q takes %q, which is not a field of Phase", k.name, key)
			}
		}
		if len(k.marks) == 0 {
			t.Errorf("kind %q has no marks: no phase could be of it", k.name)
		}
		for _, m := range k.marks {
			if !slices.Contains(k.keys, m) {
				t.Errorf("kind %q is marked by %q, which it does not take", k.name, m)
			}
		}
	}
	// Every field other than these is a rate field and must belong to a kind, or a phase
	// could set it without any kind reading it.
	common := []string{"name", "duration", "repeat", "users"}
	for _, f := range phaseFields {
		if !slices.Contains(common, f.key) && !kindTakes(f.key) {
			t.Errorf("Phase field %q belongs to no kind", f.key)
		}
	}
	want := "name, duration, rate, from, to, steps, growth, amplitude, period, spike, spike_at, spike_for, points, repeat, users"
	if got := strings.Join(phaseKeys, ", "); got != want {
		t.Errorf("phase keys %q, want %q", got, want)
	}
}

// Label is what the demo printed before the kinds were a table: the rate, or from → to.
func TestPhaseLabel(t *testing.T) {
	p := mustParse(t, kindsYAML)
	want := []string{"100 → 500", "50 → 800", "300", "100", ""}
	for i, ph := range p.Phases {
		if got := ph.Label(); got != want[i] {
			t.Errorf("%s: Label %q, want %q", ph.Name, got, want[i])
		}
	}
	if got := (Phase{Max: true}).Label(); got != "" {
		t.Errorf("rate: max: Label %q, want none", got)
	}
}
