package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
)

// Bad live-metrics flags are bad input: one line, exit 2, before any load, and a password in
// the remote-write URL is never printed.
func TestAttackMetricsFlagsBadInput(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"not a URL", []string{"--prometheus-remote-write", "127.0.0.1:9090/api/v1/write"}, "not an http:// or https:// URL"},
		{"no host, with a password", []string{"--prometheus-remote-write", "http://bob:hunter2@/api/v1/write"}, "not an http:// or https:// URL"},
		{"address taken", []string{"--metrics-addr", taken.Addr().String()}, "address already in use"},
		{"malformed address", []string{"--metrics-addr", "nohostport"}, "metrics address nohostport"},
		{"bad label name", []string{"--metrics-addr", "127.0.0.1:0", "--metrics-label", "run-id=1"}, "not a Prometheus label name"},
		{"reserved label", []string{"--metrics-addr", "127.0.0.1:0", "--metrics-label", "phase=1"}, "sets itself"},
		{"label without value", []string{"--metrics-addr", "127.0.0.1:0", "--metrics-label", "run"}, "not name=value"},
		{"label alone", []string{"--metrics-label", "run=1"}, "needs --metrics-addr or --prometheus-remote-write"},
		{"negative linger", []string{"--metrics-addr", "127.0.0.1:0", "--metrics-linger", "-1s"}, "--metrics-linger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hits = 0
			args := append([]string{"attack", "--target", srv.URL, "--profile", "steady", "--quiet",
				"--out", filepath.Join(t.TempDir(), "x.st")}, c.args...)
			code, _, stderr := runCLI(t, context.Background(), args...)
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line saying %q", code, stderr, c.want)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("the password is printed: %q", stderr)
			}
			if hits > 1 { // the preflight's one request
				t.Errorf("%d requests sent for bad input", hits)
			}
		})
	}
}

// A remote-write receiver that is down neither stops nor changes the attack: every attempt is
// recorded, exit 0, and the failure is warned about once, credentials redacted.
func TestAttackGoesOnWhenRemoteWriteFails(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there now: every push is refused
	prof := writeFile(t, "p.yaml", "name: rw\nphases: [{duration: 1500ms, rate: 40}]\nclient: {timeout: 1s}\n")
	out := filepath.Join(t.TempDir(), "run.st")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	code, _, stderr := runCLI(t, ctx, "attack", "--target", srv.URL, "--profile", prof, "--out", out, "--quiet",
		"--metrics-addr", "127.0.0.1:0", "--metrics-linger", "0",
		"--prometheus-remote-write", "http://carol:pa55@"+deadAddr+"/api/v1/write")
	took := time.Since(began)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, "warning: pushing metrics"); n != 1 || strings.Contains(stderr, "pa55") || strings.Contains(stderr, "carol") {
		t.Errorf("stderr %q: want one push warning, credentials redacted", stderr)
	}
	if !strings.Contains(stderr, "live metrics on http://127.0.0.1:") || !strings.Contains(stderr, "samples pushed, 0 dropped") {
		t.Errorf("stderr %q: want the /metrics address and the push summary", stderr)
	}
	r, err := results.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	var rec results.Record
	for r.Next(&rec) == nil {
		n++
	}
	if n != 60 {
		t.Errorf("%d attempts recorded, want the profile's 60", n)
	}
	// The final push gives up on a dead receiver after three tries, not after minutes.
	if took > 20*time.Second {
		t.Errorf("attack took %s", took)
	}
}
