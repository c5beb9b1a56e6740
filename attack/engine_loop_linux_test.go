//go:build linux

package attack

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// TestLoopEngineFraming: responses framed every way HTTP/1 frames them, sent by a server of
// the test's own to the loop engine. Each must be recorded as the status it carried, and the
// connection reused exactly when the framing allows it: 20 sequential attempts take one
// connection when it can carry them all, and one each when it cannot.
func TestLoopEngineFraming(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	cases := []struct {
		name   string
		resp   string
		close  bool // the server closes after each response
		method string
		code   uint16
		kind   results.Kind
		conns  int64 // connections for the 20 attempts
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, "", 200, results.KindOK, 1},
		{"chunked with a trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n", false, "", 200, results.KindOK, 1},
		{"empty", "HTTP/1.1 204 No Content\r\n\r\n", false, "", 204, results.KindOK, 1},
		{"interim 100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false, "", 201, results.KindOK, 1},
		{"HEAD with a length", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, "HEAD", 200, results.KindOK, 1},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false, "", 200, results.KindOK, 1},
		{"HTTP/1.0, close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", true, "", 200, results.KindOK, 20},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nthe body ends with the connection", true, "", 200, results.KindOK, 20},
		{"Connection: close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy", true, "", 503, results.Kind5xx, 20},
		{"garbage", "SSH-2.0-OpenSSH_9.6\r\n\r\n", false, "", 0, results.KindMalformed, 20},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, "", 0, results.KindMalformed, 20},
		// The server closes each connection after its response without saying so: the loop
		// sees the close while the connection is idle and dials the next attempt a new one.
		{"closed while idle", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, "", 200, results.KindOK, 20},
		{"closed mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true, "", 0, results.KindReset, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScriptServer(t, func(int, *http.Request) (string, bool) { return tc.resp, tc.close })
			method := ""
			if tc.method != "" {
				method = ", method: " + tc.method
			}
			// 20 attempts, 25 ms apart: each one's response is in before the next is due.
			p := parseOn(t, engineLoop, "phases: [{duration: 500ms, rate: 40}]\nclient: {timeout: 2s}\nrequest: {path: /x"+method+"}\n")
			rec := &memRecorder{}
			sum, err := Run(context.Background(), Config{Target: srv.url, Profile: p}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if rec.header.Engine != engineLoop || len(rec.recs) != 20 {
				t.Fatalf("engine %s, %d records; want loop, 20", rec.header.Engine, len(rec.recs))
			}
			for _, r := range rec.recs {
				if r.Code != tc.code || r.Kind != tc.kind {
					t.Fatalf("recorded %d %s %q; want %d %s", r.Code, r.Kind, r.Error, tc.code, tc.kind)
				}
			}
			if got := srv.conns.Load(); got != tc.conns || sum.Connections != uint64(tc.conns) {
				t.Errorf("%d connections (summary %d) for 20 attempts, want %d", got, sum.Connections, tc.conns)
			}
		})
	}
}

// TestLoopEngineWritesLargeBodies: a request body larger than the socket's buffers is written
// in pieces as the socket drains (EPOLLOUT), and arrives whole.
func TestLoopEngineWritesLargeBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	const size = 8 << 20
	var bad atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != size {
			bad.Add(1)
		}
	})
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
		t.Fatal(err)
	}
	p := parseOn(t, engineLoop, "phases: [{duration: 500ms, rate: 10}]\nclient: {timeout: 5s}\nrequest: {method: POST, body_file: "+body+"}\n")
	rec := &memRecorder{}
	if _, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.recs) != 5 {
		t.Fatalf("%d records, want 5", len(rec.recs))
	}
	for _, r := range rec.recs {
		if r.Kind != results.KindOK {
			t.Fatalf("recorded %s %q", r.Kind, r.Error)
		}
	}
	if bad.Load() != 0 {
		t.Errorf("%d requests arrived with a short body", bad.Load())
	}
}

// TestLoopHoldsNoGoroutinePerAttempt: while a target hangs, the pool engines start a goroutine
// per attempt in flight (TestPoolShrinksAfterBurst); the loop engine holds the attempts as
// connections in its one loop. 80 attempts hang for 0.4 s: the engine's goroutines stay at
// its two (the loop's caller and the wake forwarder) plus the dials in progress, every attempt
// is recorded, and the connections the burst opened carry the rest of the run.
func TestLoopHoldsNoGoroutinePerAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	var hold atomic.Bool
	release := make(chan struct{})
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start() // binds 127.0.0.1
	t.Cleanup(srv.Close)
	peak := 0
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		start := time.Now()
		held := false
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			switch at := time.Since(start); {
			case !held && at >= 300*time.Millisecond:
				held = true
				hold.Store(true)
			case held && at >= 700*time.Millisecond && hold.Load():
				hold.Store(false)
				close(release)
			}
			peak = max(peak, goroutinesIn("attack.(*loopEngine)"))
		}
	}()
	p := parseOn(t, engineLoop, "phases: [{name: load, duration: 1500ms, rate: 200}]\nclient: {timeout: 2s}\n")
	rec := &memRecorder{}
	sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, rec)
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.recs) != 300 || sum.Attempts != 300 {
		t.Fatalf("%d records, %d attempts; want 300", len(rec.recs), sum.Attempts)
	}
	t.Logf("peak %d loop goroutines, %d connections for 300 attempts", peak, conns.Load())
	if peak > 2+8 {
		t.Errorf("%d goroutines in the loop engine at the peak; want its 2 and a few dials", peak)
	}
	if c := conns.Load(); c < 60 || c > 150 {
		t.Errorf("%d connections; want one per attempt that hung (~80) and reuse after", c)
	}
}

// goroutinesIn counts the goroutines with fn in their stack.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn)) {
			count++
		}
	}
	return count
}

// TestLoopEngineTransports: the transport options loop does, in real runs against servers
// that check what they receive: connect_to (the Host header kept, the connection sent
// elsewhere), a Unix socket, a connection per attempt, and preconnect (the connections dialed
// ahead are the ones the attempts use).
func TestLoopEngineTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	loop := func(tr profiles.Transport) *profiles.Transport {
		tr.Engine = engineLoop
		return &tr
	}
	check := func(t *testing.T, rec *memRecorder, conns func(uint64) bool) {
		t.Helper()
		checkTransportRun(t, rec, engineLoop, conns)
	}
	reused := func(c uint64) bool { return c >= 1 && c <= 5 }
	t.Run("connect_to keeps Host", func(t *testing.T) {
		o := &observer{}
		srv := serve(t, o.handler())
		addr := strings.TrimPrefix(srv.URL, "http://")
		check(t, runWith(t, "http://staging.invalid", transportProfile(t, loop(profiles.Transport{
			ConnectTo: []string{"staging.invalid:80:" + addr}}), "")), reused)
		if h := o.only(o.hosts); h != "staging.invalid" {
			t.Errorf("server saw Host %v", o.hosts)
		}
	})
	t.Run("keepalive false: a connection per attempt", func(t *testing.T) {
		srv := serve(t, (&observer{}).handler())
		check(t, runWith(t, srv.URL, transportProfile(t, loop(profiles.Transport{}), ", keepalive: false")),
			func(c uint64) bool { return c == 20 })
	})
	t.Run("unix socket", func(t *testing.T) {
		sock, o := unixServer(t)
		check(t, runWith(t, "http://svc.invalid", transportProfile(t, loop(profiles.Transport{UnixSocket: sock}), "")), reused)
		if o.only(o.hosts) != "svc.invalid" {
			t.Errorf("server saw Host %v", o.hosts)
		}
	})
	t.Run("preconnect", func(t *testing.T) {
		var accepted atomic.Int64
		srv := httptest.NewUnstartedServer((&observer{}).handler())
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				accepted.Add(1)
			}
		}
		srv.Start()
		t.Cleanup(srv.Close)
		// 20 attempts 50 ms apart need one connection; 8 are dialed ahead, and kept.
		check(t, runWith(t, srv.URL, transportProfile(t, loop(profiles.Transport{Preconnect: 8}), "")),
			func(c uint64) bool { return c == 8 })
		// runWith's preflight request opens one connection of its own before the run.
		if n := accepted.Load(); n != 8+1 {
			t.Errorf("server accepted %d connections, want the 8 dialed ahead and the preflight's", n)
		}
	})
	// The loop connects to an IP address itself (connect), and leaves a name to the transport
	// (dial): both paths, for each address family.
	t.Run("IPv6 address: the loop connects", func(t *testing.T) {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		srv := httptest.NewUnstartedServer((&observer{}).handler())
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		check(t, runWith(t, srv.URL, transportProfile(t, loop(profiles.Transport{}), ", keepalive: false")),
			func(c uint64) bool { return c == 20 })
	})
	t.Run("a name: the transport dials", func(t *testing.T) {
		srv := serve(t, (&observer{}).handler())
		named := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
		check(t, runWith(t, named, transportProfile(t, loop(profiles.Transport{}), ", keepalive: false")),
			func(c uint64) bool { return c == 20 })
	})
}
