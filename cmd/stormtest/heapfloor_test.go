package main

import (
	"context"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
)

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestHeapFloorFlag: the floor is the command's only while it runs (GOGC as it was after an
// attack that failed its preflight), and GOGC or GOMEMLIMIT in the environment win over it, said
// once when the flag asked for a floor.
func TestHeapFloorFlag(t *testing.T) {
	old := debug.SetGCPercent(137)
	defer debug.SetGCPercent(old)
	tests := []struct {
		name     string
		env      string
		flag     []string
		wantNote string
	}{
		{"default floor", "", nil, ""},
		{"explicit floor", "", []string{"--heap-floor-mib", "64"}, ""},
		{"GOGC set, default floor: nothing said", "GOGC", nil, ""},
		{"GOGC set, explicit floor", "GOGC", []string{"--heap-floor-mib", "64"}, "--heap-floor-mib 64 not applied: GOGC is set in the environment"},
		{"GOMEMLIMIT set, explicit floor", "GOMEMLIMIT", []string{"--heap-floor-mib", "64"}, "--heap-floor-mib 64 not applied: GOMEMLIMIT is set in the environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv(tt.env, "100") // the runtime read it at start: only the command sees it
			}
			args := append([]string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--out", filepath.Join(t.TempDir(), "x.st")}, tt.flag...)
			code, _, stderr := runCLI(t, context.Background(), args...)
			if code != exitUsage || !strings.Contains(stderr, "unreachable") {
				t.Fatalf("exit %d, want %d for the unreachable target:\n%s", code, exitUsage, stderr)
			}
			if got := strings.Contains(stderr, "not applied"); got != (tt.wantNote != "") || tt.wantNote != "" && !strings.Contains(stderr, tt.wantNote) {
				t.Errorf("stderr %q, want the note %q", stderr, tt.wantNote)
			}
			if got := gogc(); got != 137 {
				t.Errorf("GOGC after the command = %d, want 137 as before it", got)
			}
		})
	}
}
