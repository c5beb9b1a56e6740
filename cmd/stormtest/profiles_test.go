package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfilesListShowValidateRoundTrip(t *testing.T) {
	code, list, _ := runCLI(t, context.Background(), "profiles")
	if code != 0 {
		t.Fatalf("profiles: exit %d", code)
	}
	for _, name := range []string{"monday-morning", "retry-storm", "steady"} {
		if !strings.Contains(list, name) {
			t.Errorf("profiles list lacks %s:\n%s", name, list)
		}
		code, yaml, stderr := runCLI(t, context.Background(), "profiles", "show", name)
		if code != 0 {
			t.Fatalf("profiles show %s: exit %d: %s", name, code, stderr)
		}
		path := writeFile(t, name+".yaml", yaml)
		code, out, stderr := runCLI(t, context.Background(), "profiles", "validate", path)
		if code != 0 || !strings.Contains(out, "ok") {
			t.Errorf("validate of the shown %s: exit %d, %q %q", name, code, out, stderr)
		}
	}
}

func TestProfilesShowScaled(t *testing.T) {
	code, yaml, stderr := runCLI(t, context.Background(), "profiles", "show", "--rate-scale", "2", "--time-scale", "0.5", "steady")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// steady is 100/s for 20s: scaled, 200/s for 10s.
	if !strings.Contains(yaml, "rate: 200") || !strings.Contains(yaml, "duration: 10s") {
		t.Fatalf("scaled profile:\n%s", yaml)
	}
}

// TestExamplesValidate keeps the README's example profiles working.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, f := range files {
		if code, out, stderr := runCLI(t, context.Background(), "profiles", "validate", f); code != 0 || !strings.Contains(out, ": ok") {
			t.Errorf("%s: exit %d %s%s", f, code, out, stderr)
		}
	}
}
