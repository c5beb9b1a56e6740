package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stormtest/stormtest/capacity"
	"github.com/stormtest/stormtest/internal/testpki"
	"github.com/stormtest/stormtest/results"
)

// stagingServer is an HTTPS server on 127.0.0.1 with a certificate from a CA the test makes
// (for 127.0.0.1 and staging.invalid), offering HTTP/2 and HTTP/1.1; it returns the server,
// the CA's PEM file and a function giving the Host headers it saw.
func stagingServer(t *testing.T) (*httptest.Server, string, func() map[string]int) {
	t.Helper()
	ca, err := testpki.NewCA("staging internal CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("staging", []string{"127.0.0.1", "staging.invalid"}, false)
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := testpki.Write(t.TempDir(), "internal-ca.pem", ca.PEM)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	hosts := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts[r.Host]++
		mu.Unlock()
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"h2", "http/1.1"}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, caFile, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range hosts {
			out[k] = v
		}
		return out
	}
}

// TestAttackTransportFlags: against an HTTPS service with an internal CA, attack fails in one
// line naming --ca without it (exit 2, nothing recorded), succeeds with --ca (HTTP/2 as
// negotiated, recorded and shown by analyze), with --insecure (warned on stderr, recorded
// in the header, shown by analyze), with --http1 (HTTP/1.1 recorded), and reaches the
// service under a name DNS does not know with --connect-to, Host header intact.
func TestAttackTransportFlags(t *testing.T) {
	srv, caFile, hosts := stagingServer(t)
	addr := strings.TrimPrefix(srv.URL, "https://")
	prof := writeFile(t, "staging.yaml", "name: staging\nphases: [{name: only, duration: 1s, rate: 10}]\nclient: {timeout: 2s}\n")
	dir := t.TempDir()

	out := filepath.Join(dir, "refused.st")
	code, _, stderr := runCLI(t, context.Background(), "attack", "--target", srv.URL, "--profile", prof, "--out", out, "--quiet")
	if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 ||
		!strings.Contains(stderr, "unknown authority") || !strings.Contains(stderr, "--ca FILE") {
		t.Errorf("without --ca: exit %d, stderr %q; want exit 2 and one line naming --ca", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run left a results file")
	}
	if testing.Short() {
		t.Skip("real-time runs")
	}

	cases := []struct {
		name      string
		target    string
		args      []string
		protocol  string
		insecure  bool
		wantHosts string
	}{
		{"--ca", srv.URL, []string{"--ca", caFile}, "HTTP/2.0", false, addr},
		{"--insecure", srv.URL, []string{"--insecure"}, "HTTP/2.0", true, addr},
		{"--http1", srv.URL, []string{"--ca", caFile, "--http1"}, "HTTP/1.1", false, addr},
		{"--connect-to", "https://staging.invalid", []string{"--ca", caFile, "--connect-to", "staging.invalid:443:" + addr}, "HTTP/2.0", false, "staging.invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := hosts()[tc.wantHosts]
			out := filepath.Join(dir, strings.TrimPrefix(tc.name, "--")+".st")
			args := append([]string{"attack", "--target", tc.target, "--profile", prof, "--out", out, "--quiet"}, tc.args...)
			code, stdout, stderr := runCLI(t, context.Background(), args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if warned := strings.Contains(stderr, "TLS certificates are NOT verified"); warned != tc.insecure {
				t.Errorf("insecure %v, stderr %q", tc.insecure, stderr)
			}
			if got := hosts()[tc.wantHosts] - before; got != 10 {
				t.Errorf("server saw %d requests with Host %s, want 10 (all: %v)", got, tc.wantHosts, hosts())
			}
			r, err := results.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			h := r.Header()
			r.Close()
			if h.Profile.Transport.Insecure() != tc.insecure {
				t.Errorf("header records insecure %v, want %v", h.Profile.Transport.Insecure(), tc.insecure)
			}
			// The summary attack prints, and analyze in JSON, show the protocol.
			if !strings.Contains(stdout, "transport: "+tc.protocol+" 100% of 10 responses") {
				t.Errorf("attack's summary lacks the protocol:\n%s", stdout)
			}
			code, js, stderr := runCLI(t, context.Background(), "analyze", "--format", "json", out)
			if code != 0 {
				t.Fatalf("analyze: exit %d: %s", code, stderr)
			}
			var rep struct {
				Protocols map[string]uint64 `json:"protocols"`
				Insecure  bool              `json:"tls_insecure"`
			}
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Protocols[tc.protocol] != 10 || rep.Insecure != tc.insecure {
				t.Errorf("analyze: protocols %v, tls_insecure %v", rep.Protocols, rep.Insecure)
			}
		})
	}
}

// TestCapacityTransportFlags: capacity takes the same flags: without --ca it stops in one
// line naming it; with --ca the TLS check passes (the run then stops on the state file of
// another target, after the preflight); contradictory flags are bad input.
func TestCapacityTransportFlags(t *testing.T) {
	srv, caFile, _ := stagingServer(t)
	state := filepath.Join(t.TempDir(), "state.json")
	if err := capacity.NewState("http://127.0.0.1:1", "x").Save(state); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no CA", nil, []string{"capacity: target " + srv.URL + ": TLS: the server's certificate is signed by an unknown authority", "--ca FILE"}},
		{"the CA", []string{"--ca", caFile}, []string{"it measured target http://127.0.0.1:1"}},
		{"h2c and http1", []string{"--h2c", "--http1"}, []string{"transport.h2c: set with http2: false"}},
		{"bad connect-to", []string{"--connect-to", "staging.invalid:443"}, []string{"transport.connect_to[0]", "HOST:PORT:ADDR:PORT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"capacity", "--target", srv.URL, "--state", state, "--quiet"}, tc.args...)
			code, stderr := runCapacityCLI(t, args...)
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
}

// TestAttackEngineFlag: --engine fast with a profile it cannot run, or an engine that does
// not exist, is one line and exit 2 before anything is sent; --engine auto against the
// HTTPS service with --http1 runs fast and says so at the start, in the header and in the
// analysis, and without --http1 runs std because HTTP/2 may be negotiated.
func TestAttackEngineFlag(t *testing.T) {
	srv, caFile, hosts := stagingServer(t)
	addr := strings.TrimPrefix(srv.URL, "https://")
	prof := writeFile(t, "staging.yaml", "name: staging\nphases: [{name: only, duration: 1s, rate: 10}]\nclient: {timeout: 2s}\n")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"fast where HTTP/2 may be negotiated", []string{"--engine", "fast", "--ca", caFile}, "--engine fast (transport.engine) cannot run this profile: HTTP/2 may be negotiated"},
		{"no such engine", []string{"--engine", "turbo", "--ca", caFile}, `transport.engine: is "turbo" (expected std, fast, loop or auto)`},
		{"preconnect where HTTP/2 may be negotiated", []string{"--preconnect", "8", "--ca", caFile}, "--preconnect 8 (transport.preconnect) keeps HTTP/1.1 connections ready, but " + srv.URL + " may negotiate HTTP/2"},
		{"preconnect negative", []string{"--preconnect", "-1", "--ca", caFile}, "transport.preconnect: -1 is out of range (expected the connections to keep open to each origin, 0 to 60000)"},
	} {
		out := filepath.Join(dir, "refused.st")
		code, _, stderr := runCLI(t, context.Background(), append([]string{"attack", "--target", srv.URL, "--profile", prof, "--out", out, "--quiet"}, tc.args...)...)
		if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line saying %q", tc.name, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil || hosts()[addr] != 0 {
			t.Errorf("%s: a refused run left a results file or sent requests (%v)", tc.name, hosts())
		}
	}
	if testing.Short() {
		t.Skip("real-time runs")
	}
	for _, tc := range []struct {
		name, engine, why string
		args              []string
	}{
		{"auto with --http1", "fast", "auto: the profile needs only HTTP/1.1", []string{"--http1"}},
		{"auto, HTTP/2 allowed", "std", "auto: HTTP/2 may be negotiated", nil},
	} {
		out := filepath.Join(dir, tc.engine+".st")
		code, stdout, stderr := runCLI(t, context.Background(), append([]string{"attack", "--target", srv.URL, "--profile", prof,
			"--out", out, "--quiet", "--ca", caFile, "--engine", "auto"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		line := "engine " + tc.engine + " (" + tc.why
		if !strings.Contains(stderr, "engine: "+tc.engine+" ("+tc.why) || !strings.Contains(stdout, line) {
			t.Errorf("%s: want %q at the start and %q in the summary:\n%s\n%s", tc.name, "engine: "+tc.engine, line, stderr, stdout)
		}
		r, err := results.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		h := r.Header()
		r.Close()
		if h.Engine != tc.engine || !strings.HasPrefix(h.EngineReason, tc.why) {
			t.Errorf("%s: header engine %q (%q)", tc.name, h.Engine, h.EngineReason)
		}
	}
}

// TestAttackPreconnectFlag: --preconnect over TLS (HTTP/1.1) dials its connections before
// the run, which the trailer counts and the header's profile records; --preconnect 0 turns a
// profile's preconnect off.
func TestAttackPreconnectFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	srv, caFile, _ := stagingServer(t)
	prof := writeFile(t, "pre.yaml", "name: pre\nphases: [{name: only, duration: 500ms, rate: 10}]\nclient: {timeout: 2s}\ntransport: {preconnect: 3}\n")
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		args  []string
		want  int    // transport.preconnect in the header
		conns uint64 // at least this many connections opened
	}{
		{"the profile's", nil, 3, 3},
		{"the flag's", []string{"--preconnect", "5"}, 5, 5},
		{"turned off", []string{"--preconnect", "0"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".st")
			code, _, stderr := runCLI(t, context.Background(), append([]string{"attack", "--target", srv.URL, "--profile", prof,
				"--out", out, "--quiet", "--ca", caFile, "--http1", "--engine", "auto"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, err := results.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := 0
			if tr := r.Header().Profile.Transport; tr != nil {
				got = tr.Preconnect
			}
			n := 0
			var rec results.Record
			for r.Next(&rec) == nil {
				n++
			}
			tl, ok := r.Trailer()
			if !ok {
				t.Fatal("no trailer")
			}
			if got != tc.want || tl.Connections < tc.conns || n < 4 {
				t.Errorf("header preconnect %d, %d connections opened, %d attempts; want %d, at least %d, at least 4", got, tl.Connections, n, tc.want, tc.conns)
			}
			if tc.want == 0 && tl.Connections >= 3 {
				t.Errorf("%d connections opened with preconnect off, for attempts 100 ms apart", tl.Connections)
			}
		})
	}
}
