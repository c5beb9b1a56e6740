package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/results"
)

// buildBinary builds stormtest once for the tests that send it real signals.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stormtest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// waitExit waits at most limit for cmd to end and returns its exit code, killing it and
// failing the test when it does not end in time.
func waitExit(t *testing.T, cmd *exec.Cmd, done <-chan error, limit time.Duration, what string) int {
	t.Helper()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err == nil {
			return 0
		}
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		t.Fatalf("%s: %v", what, err)
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s: still running %s later", what, limit)
	}
	return -1
}

// TestSignalsStopAttackWithConventionalCode sends each stopping signal to a real attack: it
// must stop, keep and analyse what it recorded, and exit 128+signal (130 SIGINT, 143 SIGTERM,
// 129 SIGHUP), so a script can tell an interrupted run from a complete one.
func TestSignalsStopAttackWithConventionalCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	prof := writeFile(t, "p.yaml", "name: sig\nphases: [{name: only, duration: 20s, rate: 50}]\nclient: {timeout: 2s}\n")
	cases := []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
		{syscall.SIGHUP, 129},
	}
	for _, tc := range cases {
		t.Run(tc.sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run.st")
			cmd := exec.Command(bin, "attack", "--target", srv.URL, "--profile", prof, "--out", out, "--quiet")
			var stdout, stderr testfix.SyncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			time.Sleep(1500 * time.Millisecond)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd, done, 10*time.Second, tc.sig.String()); code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			r, err := results.Open(out)
			if err != nil {
				t.Fatalf("results: %v", err)
			}
			defer r.Close()
			if tr, ok := r.Trailer(); !ok || !tr.Interrupted || tr.Attempts < 40 {
				t.Errorf("trailer %+v (%v): want an interrupted run with its attempts", tr, ok)
			}
			// Everything is printed before the exit: the analysis of the part that ran.
			if !strings.Contains(stdout.String(), "interrupted") || !strings.Contains(stderr.String(), "stopping:") {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant the analysis and the stopping line", stdout.String(), stderr.String())
			}
		})
	}
}

// TestSecondInterruptQuitsAtOnce: against a target that never answers, the first Ctrl-C
// waits for the attempts in flight (up to the client timeout) and says so; the second
// quits at once, with 130, leaving what was flushed in OUT.partial.
func TestSecondInterruptQuitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	prof := writeFile(t, "p.yaml", "name: hang\nphases: [{name: only, duration: 20s, rate: 20}]\nclient: {timeout: 30s}\n")
	out := filepath.Join(t.TempDir(), "run.st")
	cmd := exec.Command(bin, "attack", "--target", srv.URL, "--profile", prof, "--out", out, "--quiet")
	var stderr testfix.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// The first Ctrl-C says what it waits for, and the attack keeps waiting.
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(stderr.String(), "Ctrl-C again to quit now") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "stopping: waiting up to 30s for ") || !strings.Contains(msg, " attempts in flight; Ctrl-C again to quit now") {
		t.Errorf("stderr after the first Ctrl-C:\n%s", msg)
	}
	select {
	case err := <-done:
		t.Fatalf("exited (%v) after the first Ctrl-C with attempts still in flight", err)
	case <-time.After(500 * time.Millisecond):
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, done, 3*time.Second, "second SIGINT"); code != 130 {
		t.Errorf("exit code %d after the second Ctrl-C, want 130; stderr:\n%s", code, stderr.String())
	}
	t.Logf("second Ctrl-C to exit: %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(out + attack.PartialSuffix); err != nil {
		t.Errorf("the partial results file: %v", err)
	}
}
