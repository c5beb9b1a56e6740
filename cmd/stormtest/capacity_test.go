package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/capacity"
	"github.com/stormtest/stormtest/simservice"
)

// runCapacityCLI runs the command in-process, as run does.
func runCapacityCLI(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	code, _, stderr = runCLI(t, context.Background(), args...)
	return code, stderr
}

func TestCapacityRefusesStateOfAnotherTarget(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := simservice.Start(ctx, "127.0.0.1:0", simservice.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-run.Done() }()
	state := filepath.Join(t.TempDir(), "state.json")
	if err := capacity.NewState("http://127.0.0.1:1", "x").Save(state); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCapacityCLI(t, "capacity", "--target", run.URL, "--state", state, "--quiet")
	if code != exitUsage || !strings.Contains(stderr, "it measured target http://127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestCapacityBadFlags(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--policies immediate,hammer", `unknown policy "hammer"`},
		{"--durations 2s,fast", `"fast" is not a positive duration`},
		{"--min-size 3 --max-size 2", "1 < min < max"},
		{"--trigger cpu-drop", `unknown trigger "cpu-drop"`},
		{"--trigger-start http://chaos/cut", "need --trigger capacity-drop"},
		{"--trigger capacity-drop --trigger-start http://chaos/cut", "go together"},
		{"--trigger capacity-drop --min-cut 0.9 --max-cut 0.5", "0 < min < max < 1"},
		{"--trigger capacity-drop --baseline-fractions 0.5,2", `"2" is not a fraction`},
		{"--trigger capacity-drop --trigger-start chaos/cut --trigger-stop chaos/up", "neither an http(s) URL nor a path"},
	} {
		args := append([]string{"capacity", "--target", "http://127.0.0.1:1"}, strings.Fields(tc.args)...)
		code, stderr := runCapacityCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// TestCapacityReportBadPath: a report path that cannot be written is refused before the
// target is dialled (the target here is unreachable, and the error must not be about it).
func TestCapacityReportBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing", "capacity.html"), "capacity: --report: cannot write " + filepath.Join(dir, "missing", "capacity.html") + ": no such file or directory"},
		{dir, "capacity: --report: " + dir + " is a directory"},
	} {
		code, stderr := runCapacityCLI(t, "capacity", "--target", "http://127.0.0.1:1", "--report", tc.path, "--state", filepath.Join(dir, "state.json"))
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitUsage || len(lines) != 1 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "unreachable") {
			t.Errorf("--report %s: exit %d, stderr %q; want exit %d and one line %q", tc.path, code, stderr, exitUsage, tc.want)
		}
	}
	// Refused before anything was written: no temporary file, no state file.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refused runs left %d files in %s", len(entries), dir)
	}
}

// TestCapacityReportWritten runs a search with nothing to probe (a given knee, no map) so the
// whole path from flags to the page is exercised without load: the page is written in place,
// readable by others, with no temporary file left beside it.
func TestCapacityReportWritten(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := simservice.Start(ctx, "127.0.0.1:0", simservice.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-run.Done() }()
	dir := t.TempDir()
	page := filepath.Join(dir, "capacity.html")
	if err := os.WriteFile(page, []byte("an older report"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCapacityCLI(t, "capacity", "--target", run.URL, "--knee", "100", "--policies", "",
		"--state", filepath.Join(dir, "state.json"), "--out", filepath.Join(dir, "capacity.txt"), "--report", page)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "knee 100 req/s") || !strings.HasSuffix(string(data), "</html>\n") {
		t.Errorf("report is not the capacity page: %.200q", data)
	}
	if fi, err := os.Stat(page); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("report mode %v (%v), want 0644", fi.Mode(), err)
	}
	if !strings.Contains(stderr, "report written to "+page) {
		t.Errorf("stderr %q does not say where the report went", stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
