package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// TestAttackRefusesNonRegularOut: `attack --overwrite --out` on a FIFO or a device node is bad
// input: one line, exit 2, nothing sent, and the node is still there.
func TestAttackRefusesNonRegularOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	cases := []struct {
		name string
		make func(string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"device", func(p string) error {
			if os.Geteuid() != 0 {
				t.Skip("making a device node needs root")
			}
			return syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|7) // a private /dev/full
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.st")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, _, stderr := runCLI(t, ctx, "attack", "--target", srv.URL, "--profile", "steady",
				"--time-scale", "0.01", "--overwrite", "--out", path, "--quiet")
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "not a regular file") {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line saying it is not a regular file", code, stderr)
			}
			if _, err := os.Lstat(path); err != nil {
				t.Errorf("the node is gone: %v", err)
			}
		})
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
	code, _, stderr := runCLI(t, context.Background(), "attack", "--target", running.URL, "--profile", prof, "--out", out,
		"--scrape", "/metrics", "--scrape-match", "simservice_served_total", "--scrape-interval", "500ms")
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
		Windows       []map[string]any `json:"windows"`
		TargetMetrics []struct {
			Series string       `json:"series"`
			Points [][2]float64 `json:"points"`
		} `json:"target_metrics"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("analyze --json is not JSON: %v\n%s", err, js)
	}
	// 4 s, not 2: two judged windows are fewer than the 3 (Sustain) it takes to call a run
	// stable, and the analysis rightly calls such a run inconclusive.
	if rep.Verdict != "stable" || rep.Requests != 200 || len(rep.Phases) != 1 || len(rep.Windows) < 2 {
		t.Errorf("report: %+v", rep)
	}
	// --scrape: the target's served rate, every 500 ms, near the 50/s sent.
	if len(rep.TargetMetrics) != 1 || rep.TargetMetrics[0].Series != "simservice_served_total" || len(rep.TargetMetrics[0].Points) < 6 {
		t.Fatalf("target metrics: %+v", rep.TargetMetrics)
	}
	if mid := rep.TargetMetrics[0].Points[4][1]; mid < 30 || mid > 70 {
		t.Errorf("the target served %g/s mid-run by its own count, while 50/s were sent", mid)
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
