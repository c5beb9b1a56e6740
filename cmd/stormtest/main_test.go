package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/simservice"
)

// runCLI runs the command in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	code := run(ctx, append([]string{"stormtest"}, args...), stdout, stderr)
	stdout.Close()
	stderr.Close()
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	return code, string(out), string(errOut)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadInputGetsOneLineAndExit2 checks every kind of bad input a user can give: each gets
// exit code 2 and a single line on stderr that names the problem.
func TestBadInputGetsOneLineAndExit2(t *testing.T) {
	badProfile := writeFile(t, "bad.yaml", "phases:\n  - {name: x, duration: 1 sec, rate: 10}\n")
	notResults := writeFile(t, "notes.txt", "these are not results\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"malformed profile", []string{"profiles", "validate", badProfile}, "bad.yaml:2"},
		{"unknown profile", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "nope", "--out", "x.st"}, `unknown profile "nope"`},
		{"bad URL", []string{"attack", "--target", "127.0.0.1:8080", "--profile", "steady", "--out", filepath.Join(t.TempDir(), "x.st")}, "bad target URL"},
		{"unrelated results file", []string{"analyze", notResults}, "not a stormtest results file"},
		{"missing results file", []string{"analyze", filepath.Join(t.TempDir(), "missing.st")}, "missing.st"},
		{"no results file", []string{"analyze"}, "no results file"},
		{"unreachable target", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--out", filepath.Join(t.TempDir(), "x.st")}, "unreachable"},
		{"bad scale", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--rate-scale", "0", "--out", "x.st"}, "--rate-scale"},
		{"bad serve knob", []string{"serve", "--capacity-fraction", "1.5"}, "CapacityFraction"},
		{"missing required flag", []string{"attack", "--profile", "steady"}, "target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, context.Background(), tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.want)
			}
		})
	}
}

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

// TestAttackAnalyzeEndToEnd drives a tiny profile against the built-in target through the
// CLI and reads the verdict back as JSON.
func TestAttackAnalyzeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	running, err := simservice.Start(context.Background(), "127.0.0.1:0", simservice.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer running.Stop()
	prof := writeFile(t, "tiny.yaml", `
name: tiny
phases: [{name: only, duration: 4s, rate: 50}]
client: {timeout: 1s, retry: {policy: exponential, max_attempts: 3}}
`)
	out := filepath.Join(t.TempDir(), "run.st")
	code, _, stderr := runCLI(t, context.Background(), "attack", "--target", running.URL, "--profile", prof, "--out", out)
	if code != 0 {
		t.Fatalf("attack: exit %d: %s", code, stderr)
	}
	// The results file is not silently replaced by a second run.
	if code, _, stderr := runCLI(t, context.Background(), "attack", "--target", running.URL, "--profile", prof, "--out", out); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("second attack onto the same file: exit %d, %q", code, stderr)
	}

	code, js, stderr := runCLI(t, context.Background(), "analyze", "--json", out)
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, stderr)
	}
	var rep struct {
		Verdict  string `json:"verdict"`
		Requests uint64 `json:"requests"`
		Phases   []struct {
			Name string `json:"name"`
		} `json:"phases"`
		Windows []map[string]any `json:"windows"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("analyze --json is not JSON: %v\n%s", err, js)
	}
	// 4 s, not 2: two judged windows are fewer than the 3 (Sustain) it takes to call a run
	// stable, and the analysis rightly calls such a run inconclusive.
	if rep.Verdict != "stable" || rep.Requests != 200 || len(rep.Phases) != 1 || len(rep.Windows) < 2 {
		t.Errorf("report: %+v", rep)
	}
	hlogPath := filepath.Join(t.TempDir(), "run.hlog")
	if code, _, stderr := runCLI(t, context.Background(), "analyze", "--hlog", hlogPath, out); code != 0 {
		t.Fatalf("analyze --hlog: exit %d: %s", code, stderr)
	}
	if data, err := os.ReadFile(hlogPath); err != nil || !strings.HasPrefix(string(data), "#[Histogram log format version 1.3]") ||
		!strings.Contains(string(data), "Tag=only,") {
		t.Errorf("analyze --hlog wrote %q (%v)", data, err)
	}
	code, text, _ := runCLI(t, context.Background(), "analyze", out)
	if code != 0 || !strings.Contains(text, "STABLE") {
		t.Errorf("analyze text: exit %d\n%s", code, text)
	}
}

// TestInterruptKeepsResults sends SIGINT to a real stormtest process mid-attack: it must
// stop promptly, close the results file with a trailer that says so, and keep every attempt.
func TestInterruptKeepsResults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "stormtest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	running, err := simservice.Start(context.Background(), "127.0.0.1:0", simservice.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer running.Stop()
	out := filepath.Join(t.TempDir(), "run.st")
	cmd := exec.Command(bin, "attack", "--target", running.URL, "--profile", "steady", "--out", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		// 130 = 128+SIGINT, after writing and printing everything (signal_test.go).
		if cmd.ProcessState.ExitCode() != 130 {
			t.Fatalf("interrupted attack exited with %v, want exit status 130: %s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("attack did not stop within 5 s of SIGINT")
	}

	r, err := results.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rec results.Record
	n := 0
	for r.Next(&rec) == nil {
		n++
	}
	tr, ok := r.Trailer()
	if !ok || !tr.Interrupted || tr.Attempts != uint64(n) || n < 50 {
		t.Fatalf("trailer %+v (present %v), %d records; want an interrupted trailer counting every record", tr, ok, n)
	}
	if served := running.Server.Stats().Served; uint64(n) != served {
		t.Errorf("%d attempts recorded, target served %d: an attempt was lost", n, served)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say the run was interrupted: %s", stderr.String())
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
