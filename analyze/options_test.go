package analyze

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// TestOptionsValidate checks every option's bound at the limit (accepted) and one step past
// it (refused, naming the flag and the bound). --window 1ns used to run out of memory.
func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name    string
		ok, bad func(*Options)
		want    string
	}{
		{"window min", func(o *Options) { o.Window = MinWindow }, func(o *Options) { o.Window = MinWindow - 1 }, "--window 99.999999ms is too narrow (expected at least 100ms: MinWindow"},
		{"window 1ns", func(o *Options) { o.Window = MinWindow }, func(o *Options) { o.Window = 1 }, "--window 1ns"},
		{"window max", func(o *Options) { o.Window = MaxWindow }, func(o *Options) { o.Window = MaxWindow + 1 }, "MaxWindow"},
		{"tolerance", func(o *Options) { o.Tolerance = math.Nextafter(1, 0) }, func(o *Options) { o.Tolerance = 1 }, "--tolerance 1 is not in (0, 1)"},
		{"tolerance NaN", func(o *Options) { o.Tolerance = math.SmallestNonzeroFloat64 }, func(o *Options) { o.Tolerance = math.NaN() }, "--tolerance NaN"},
		{"band", func(o *Options) { o.Band = math.Nextafter(1, 0) }, func(o *Options) { o.Band = 1 }, "--band 1 is not in (0, 1)"},
		{"min count", func(o *Options) { o.MinCount = MaxMinCount }, func(o *Options) { o.MinCount = MaxMinCount + 1 }, "--min-count 1000001"},
		{"min count negative", func(o *Options) { o.MinCount = 1 }, func(o *Options) { o.MinCount = -1 }, "--min-count -1"},
		{"sustain", func(o *Options) { o.Sustain = MaxSustain }, func(o *Options) { o.Sustain = MaxSustain + 1 }, "--sustain 101 is out of range (expected 1 to 100"},
		{"grace", func(o *Options) { o.Grace = time.Duration(profiles.MaxDuration) }, func(o *Options) { o.Grace = time.Duration(profiles.MaxDuration) + 1 }, "--grace"},
		{"grace negative", func(o *Options) { o.Grace = 0 }, func(o *Options) { o.Grace = -1 }, "--grace -1ns"},
		{"lag warning", func(o *Options) { o.LagWarn = time.Duration(profiles.MaxDuration) }, func(o *Options) { o.LagWarn = -1 }, "lag warning -1ns"},
		{"capacity", func(o *Options) { o.Capacity = profiles.MaxRate }, func(o *Options) { o.Capacity = math.Nextafter(profiles.MaxRate, math.Inf(1)) }, "profiles.MaxRate"},
		{"capacity NaN", func(o *Options) { o.Capacity = 0 }, func(o *Options) { o.Capacity = math.NaN() }, "--capacity NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.ok(&o)
			if err := o.Validate(); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			o = DefaultOptions()
			tt.bad(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("past the limit: %v, want one line with %q", err, tt.want)
			}
			// Files refuses them too, before opening any file.
			if _, err := Files([]string{"/nonexistent.st"}, o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Files: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGraceFor checks the automatic grace: max(10s, 5 × the longest client timeout), and an
// explicit --grace winning over it.
func TestGraceFor(t *testing.T) {
	p := func(timeouts ...time.Duration) *profiles.Profile {
		var cs []profiles.Client
		for _, d := range timeouts {
			cs = append(cs, profiles.Client{Timeout: profiles.Duration(d)})
		}
		return &profiles.Profile{Clients: cs}
	}
	tests := []struct {
		grace time.Duration
		prof  *profiles.Profile
		want  time.Duration
	}{
		{0, p(time.Second), 10 * time.Second},
		{0, p(time.Second, 3*time.Second), 15 * time.Second},
		{-1, p(4 * time.Second), 20 * time.Second},
		{7 * time.Second, p(4 * time.Second), 7 * time.Second},
	}
	for _, tc := range tests {
		if got := (Options{Grace: tc.grace}).GraceFor(tc.prof); got != tc.want {
			t.Errorf("Grace %s, timeouts %s: %s, want %s", tc.grace, tc.prof.LongestTimeout(), got, tc.want)
		}
	}
}
