package attack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/profiles"
)

// connLog records what a test server's connections did: how many were accepted before its
// first request arrived, and how many are closed.
type connLog struct {
	mu             sync.Mutex
	accepted       int
	beforeFirst    int // accepted when the first request arrived; -1 before it
	closed         int
	requests       int
	firstRequestAt time.Time
}

func newConnLog() *connLog { return &connLog{beforeFirst: -1} }

func (l *connLog) state(_ net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateNew:
		l.accepted++
	case http.StateClosed, http.StateHijacked:
		l.closed++
	}
}

func (l *connLog) request() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.beforeFirst < 0 {
		l.beforeFirst = l.accepted
	}
	l.requests++
}

func (l *connLog) get() (accepted, beforeFirst, closed, requests int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepted, l.beforeFirst, l.closed, l.requests
}

// TestPreconnect: with transport.preconnect N, on either engine, the target has N
// connections before the first request, the run opens no others at a rate one connection
// carries, and the ones never used are closed when the run ends.
func TestPreconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	forEachEngine(t, func(t *testing.T, eng string) {
		log := newConnLog()
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.request()
			w.Write([]byte("ok"))
		}))
		srv.Config.ConnState = log.state
		srv.Start()
		defer srv.Close()

		const n = 6
		p := parseOn(t, eng, `
name: pre
phases: [{name: a, duration: 300ms, rate: 20}]
client: {timeout: 2s}
`)
		p, err := p.WithTransport(profiles.Transport{Preconnect: n})
		if err != nil {
			t.Fatal(err)
		}
		rec := &memRecorder{}
		sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, rec)
		if err != nil {
			t.Fatal(err)
		}
		_, before, _, requests := log.get()
		if before != n {
			t.Errorf("%d connections accepted before the first request, want %d", before, n)
		}
		if requests != len(rec.recs) || requests < 5 {
			t.Errorf("%d requests served, %d attempts recorded", requests, len(rec.recs))
		}
		// Attempts 50 ms apart need one connection: every one came from the n.
		if sum.Connections != n || rec.trailer.Connections != n {
			t.Errorf("connections opened: summary %d, trailer %d, want %d", sum.Connections, rec.trailer.Connections, n)
		}
		if got := rec.header.Profile.Transport; got == nil || got.Preconnect != n {
			t.Errorf("results header's transport %+v, want preconnect %d", got, n)
		}
		// Those never used are closed by the run, not left to the server's timeouts.
		testfix.WaitUntil(t, 2*time.Second, fmt.Sprintf("at least %d of the %d connections dialed ahead closed after the run", n-1, n), func() bool {
			_, _, closed, _ := log.get()
			return closed >= n-1
		})
	})
}

// listenCounting is a TCP listener on loopback that accepts until the test ends and keeps
// the server side of each connection.
type countingListener struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conns = append(l.conns, c)
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, c := range l.conns {
			c.Close()
		}
	})
	return l
}

func (l *countingListener) addr() string { return l.ln.Addr().String() }

func (l *countingListener) accepted() []net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]net.Conn(nil), l.conns...)
}

// held is how many connections are ready for addr.
func (s *spares) held(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.sets[addr]; set != nil {
		return len(set.ready)
	}
	return 0
}

func testDialer(dials *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// TestSparesKeepWantOpen: the spares hold want connections, hand out the newest, top up
// when a handed-out one is closed (not while it is open), replace those held past the idle
// limit, and close what they hold at the end.
func TestSparesKeepWantOpen(t *testing.T) {
	l := listenCounting(t)
	var dials atomic.Int64
	s := newSpares(3, []string{l.addr()}, testDialer(&dials))
	s.idle, s.tick = 300*time.Millisecond, 10*time.Millisecond
	s.fill(context.Background())
	if got := s.held(l.addr()); got != 3 || dials.Load() != 3 {
		t.Fatalf("after fill: %d held, %d dials, want 3 and 3", got, dials.Load())
	}
	s.start()
	c, err := s.get(context.Background(), "tcp", l.addr())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.held(l.addr()); got != 2 || dials.Load() != 3 {
		t.Fatalf("after one get: %d held, %d dials, want 2 held and no new dial", got, dials.Load())
	}
	// While it is open, 2 held and 1 out make 3: nothing to dial.
	time.Sleep(5 * s.tick)
	if dials.Load() != 3 {
		t.Fatalf("%d dials while 3 were open, want 3", dials.Load())
	}
	c.Close()
	c.Close() // twice: counted once
	testfix.WaitUntil(t, 2*time.Second, "a closed connection replaced", func() bool { return s.held(l.addr()) == 3 })
	if dials.Load() != 4 {
		t.Fatalf("%d dials after one was closed, want 4", dials.Load())
	}
	// Held past the idle limit, all of them are closed and replaced.
	testfix.WaitUntil(t, 2*time.Second, "stale spares replaced", func() bool { return dials.Load() >= 7 })
	s.close()
	if got := s.held(l.addr()); got != 0 {
		t.Fatalf("%d held after close", got)
	}
	// Every connection the spares held is closed on the client side: the server reads EOF.
	// (The one handed out was closed by the test.)
	for i, sc := range l.accepted() {
		sc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := sc.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
			t.Errorf("server side of connection %d: %v, want EOF", i, err)
		}
	}
	after := dials.Load()
	time.Sleep(5 * s.tick)
	if dials.Load() != after {
		t.Errorf("dials went on after close: %d, then %d", after, dials.Load())
	}
}

// TestSparesSkipClosedByServer: a connection the server closed, or wrote to unasked, while
// it was held, or one held past the idle limit, is not handed out; a fresh one is dialed
// instead.
func TestSparesSkipClosedByServer(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(net.Conn)
		idle  time.Duration // the spares' idle limit, when not the default
	}{
		{"closed", func(c net.Conn) { c.Close() }, 0},
		{"unsolicited bytes", func(c net.Conn) { c.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n")) }, 0},
		{"held past the idle limit", func(net.Conn) {}, 10 * time.Millisecond}, // and 20 ms waited
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := listenCounting(t)
			var dials atomic.Int64
			s := newSpares(2, []string{l.addr()}, testDialer(&dials))
			if tt.idle > 0 {
				s.idle = tt.idle // no refill runs: only get sees the age
			}
			s.fill(context.Background())
			defer s.close()
			testfix.WaitUntil(t, 2*time.Second, "2 accepted", func() bool { return len(l.accepted()) == 2 })
			for _, sc := range l.accepted() {
				tt.spoil(sc)
			}
			// The peer's FIN or bytes reach the client side within a moment on loopback.
			time.Sleep(20 * time.Millisecond)
			c, err := s.get(context.Background(), "tcp", l.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if dials.Load() != 3 || s.held(l.addr()) != 0 {
				t.Fatalf("%d dials, %d held: want both spoiled spares skipped and a third dialed", dials.Load(), s.held(l.addr()))
			}
			if !connAlive(c.(*spareConn).Conn) {
				t.Fatal("the connection handed out is not open")
			}
		})
	}
}

// TestSparesBackOffARefusingTarget: a target that refuses connections is dialed once per
// backoff, not want times a tick, and a fill against it ends at once.
func TestSparesBackOffARefusingTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var dials atomic.Int64
	s := newSpares(50, []string{addr}, testDialer(&dials))
	s.tick = 10 * time.Millisecond
	start := time.Now()
	s.fill(context.Background())
	if d := time.Since(start); d > time.Second {
		t.Errorf("fill against a refusing target took %v", d)
	}
	// The fill's dialers each try once at most before they see the backoff.
	if n := dials.Load(); n < 1 || n > spareDialers {
		t.Errorf("fill made %d dials, want 1 to %d", n, spareDialers)
	}
	after := dials.Load()
	s.start()
	time.Sleep(30 * s.tick) // 300 ms, within spareBackoff
	s.close()
	if n := dials.Load() - after; n != 0 {
		t.Errorf("%d dials during the backoff, want 0", n)
	}
	// An attempt still dials on its own, and gets the target's refusal.
	if _, err := s.get(context.Background(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("get from a refusing target: %v, want connection refused", err)
	}
}

// TestConnAlive: open and quiet is alive; closed by the peer, or with bytes nobody asked
// for, is not.
func TestConnAlive(t *testing.T) {
	l := listenCounting(t)
	c, err := net.Dial("tcp", l.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testfix.WaitUntil(t, 2*time.Second, "accepted", func() bool { return len(l.accepted()) == 1 })
	if !connAlive(c) {
		t.Fatal("an open, quiet connection is not alive")
	}
	l.accepted()[0].Write([]byte("x"))
	testfix.WaitUntil(t, 2*time.Second, "bytes seen", func() bool { return !connAlive(c) })
	// The peek took nothing: the byte is still there.
	c.SetReadDeadline(time.Now().Add(time.Second))
	if b := make([]byte, 1); func() bool { n, _ := c.Read(b); return n != 1 || b[0] != 'x' }() {
		t.Error("connAlive consumed the byte it peeked at")
	}
	c2, err := net.Dial("tcp", l.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	testfix.WaitUntil(t, 2*time.Second, "accepted", func() bool { return len(l.accepted()) == 2 })
	l.accepted()[1].Close()
	testfix.WaitUntil(t, 2*time.Second, "close seen", func() bool { return !connAlive(c2) })
}

// TestPreconnectRefused: a run whose connections preconnect cannot hold is refused before
// anything is sent, naming why and what to do.
func TestPreconnectRefused(t *testing.T) {
	no := false
	base := `
name: pre
phases: [{name: a, duration: 1s, rate: 10}]
client: {timeout: 1s}
`
	tests := []struct {
		name   string
		target string
		yaml   string
		tr     profiles.Transport
		want   []string
	}{
		{"keep-alive off", "http://127.0.0.1:1", strings.Replace(base, "{timeout: 1s}", "{timeout: 1s, keepalive: false}", 1),
			profiles.Transport{}, []string{"--preconnect 4", "keepalive: false", "drop --preconnect"}},
		{"h2c", "http://127.0.0.1:1", base, profiles.Transport{H2C: true}, []string{"h2c", "one HTTP/2 connection"}},
		{"https with HTTP/2 allowed", "https://127.0.0.1:1/x?token=s3cret", base, profiles.Transport{},
			[]string{"https://127.0.0.1:1 may negotiate HTTP/2", "--http1"}},
		{"through a proxy", "http://api.staging.example:8080", base, profiles.Transport{Proxy: "http://proxy.example:3128"},
			[]string{"through a proxy", "--proxy none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tr.Preconnect = 4
			p, err := parseOn(t, engineStd, tt.yaml).WithTransport(tt.tr)
			if err != nil {
				t.Fatal(err)
			}
			err = Config{Target: tt.target, Profile: p}.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q leaks the query or spans lines", err)
			}
		})
	}
	// With HTTP/2 off, an https target is fine.
	p, err := parseOn(t, engineStd, base).WithTransport(profiles.Transport{Preconnect: 4, HTTP2: &no})
	if err != nil {
		t.Fatal(err)
	}
	if err := (Config{Target: "https://127.0.0.1:1", Profile: p}).Validate(); err != nil {
		t.Errorf("https with --http1: %v", err)
	}
}

// TestPreconnectKeepsWorkers: with preconnect N the pool starts N workers and keeps them
// through a run that needs one, where it would otherwise keep poolSpare.
func TestPreconnectKeepsWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	const n = 40
	forEachEngine(t, func(t *testing.T, eng string) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer srv.Close()
		p, err := parseOn(t, eng, "name: keep\nphases: [{name: a, duration: 600ms, rate: 100}]\nclient: {timeout: 2s}\n").
			WithTransport(profiles.Transport{Preconnect: n})
		if err != nil {
			t.Fatal(err)
		}
		least, samples := -1, 0
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			time.Sleep(150 * time.Millisecond)
			for {
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if w := poolWorkers(); least < 0 || w < least {
					least = w
				}
				samples++
				if samples == 15 {
					return
				}
			}
		}()
		sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, &memRecorder{})
		close(done)
		<-sampled
		if err != nil {
			t.Fatal(err)
		}
		// The loop engine has no workers: its connections are what preconnect keeps.
		if eng != engineLoop && (samples < 5 || least < n) {
			t.Errorf("fewest workers %d in %d samples during the run, want at least %d", least, samples, n)
		}
		if sum.Connections != n {
			t.Errorf("%d connections opened, want %d", sum.Connections, n)
		}
	})
}
