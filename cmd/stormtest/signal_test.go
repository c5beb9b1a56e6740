package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// hangingTarget never answers: each request waits until its client gives up (or the test
// ends). It counts the requests it received and when, so that a test can tell what a killed
// attack must have recorded.
type hangingTarget struct {
	URL      string
	mu       sync.Mutex
	received []time.Time
}

func newHangingTarget(t *testing.T) *hangingTarget {
	t.Helper()
	h := &hangingTarget{}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.received = append(h.received, time.Now())
		h.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	h.URL = srv.URL
	return h
}

// receivedBefore counts the requests received before t.
func (h *hangingTarget) receivedBefore(t time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, at := range h.received {
		if at.Before(t) {
			n++
		}
	}
	return n
}

// TestSignalsStopAttackWithConventionalCode sends each stopping signal to a real attack
// against a target that never answers: it must stop within the client timeout (the attempts
// in flight are waited for, up to it), keep and analyse what it recorded, and exit
// 128+signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP), so a script can tell an interrupted run
// from a complete one.
func TestSignalsStopAttackWithConventionalCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	target := newHangingTarget(t)
	const timeout = 2 * time.Second
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
			cmd := exec.Command(bin, "attack", "--target", target.URL, "--profile", prof, "--out", out, "--quiet")
			var stdout, stderr testfix.SyncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			time.Sleep(3 * time.Second) // some attempts timed out, more are in flight
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			// The attempts in flight end within their timeout; the rest is writing and
			// analysing a few hundred records. Generous for a loaded machine, but a run that
			// waited for the profile's 20 s would fail it.
			code := waitExit(t, cmd, done, timeout+8*time.Second, tc.sig.String())
			took := time.Since(sent)
			t.Logf("%s to exit: %s", tc.sig, took.Round(time.Millisecond))
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			r, err := results.Open(out)
			if err != nil {
				t.Fatalf("results: %v", err)
			}
			defer r.Close()
			// Every request sent was waited for: recorded (as a timeout or cut off).
			if tr, ok := r.Trailer(); !ok || !tr.Interrupted || tr.Attempts < 100 {
				t.Errorf("trailer %+v (%v): want an interrupted run with its attempts", tr, ok)
			}
			// Everything is printed before the exit: the analysis of the part that ran.
			if !strings.Contains(stdout.String(), "interrupted") || !strings.Contains(stderr.String(), "stopping:") {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant the analysis and the stopping line", stdout.String(), stderr.String())
			}
		})
	}
}

// TestKill9KeepsAllButTheLastSecond kills a real attack with SIGKILL (nothing runs, nothing
// is flushed) against a target that never answers, with a 200 ms client timeout so that
// attempts complete steadily. The partial file must analyse, and hold every attempt that
// completed more than about a second before the kill: at least the requests the target
// received up to 1.5 s + the timeout before it, at most all it received.
func TestKill9KeepsAllButTheLastSecond(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	target := newHangingTarget(t)
	const timeout = 200 * time.Millisecond
	prof := writeFile(t, "p.yaml", "name: kill\nphases: [{name: only, duration: 30s, rate: 100}]\nclient: {timeout: 200ms}\n")
	out := filepath.Join(t.TempDir(), "run.st")
	cmd := exec.Command(bin, "attack", "--target", target.URL, "--profile", prof, "--out", out, "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(4 * time.Second)
	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, done, 2*time.Second, "SIGKILL")
	t.Logf("SIGKILL to exit: %s (code %d)", time.Since(killed).Round(time.Millisecond), code)
	partial := out + attack.PartialSuffix
	r, err := results.Open(partial)
	if err != nil {
		t.Fatalf("the partial file: %v", err)
	}
	var rec results.Record
	held := 0
	for r.Next(&rec) == nil {
		held++
	}
	r.Close()
	mustHave := target.receivedBefore(killed.Add(-1500*time.Millisecond - timeout))
	all := target.receivedBefore(killed.Add(time.Second))
	t.Logf("the file holds %d attempts; the target received %d, %d of them up to 1.7 s before the kill", held, all, mustHave)
	if held < mustHave || held > all || mustHave < 100 {
		t.Errorf("the file holds %d attempts; want between %d and %d", held, mustHave, all)
	}
	// And it analyses like any results file.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code, stdout, stderr := runCLI(t, ctx, "analyze", partial); code != 0 || !strings.Contains(stdout, "timeout") {
		t.Errorf("analyze %s: exit %d\n%s\n%s", partial, code, stdout, stderr)
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
