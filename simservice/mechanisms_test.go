package simservice

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
)

// do serves one in-process GET and returns the status code.
func do(s *Server, path string) int {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// newServer builds a Server closed with the test.
func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// closedLoop runs n in-process clients against s, each sending its next request as soon as
// the previous one is answered, until stop is closed. A client pauses after a non-200 so that
// a down instance is not spun on. It returns once every client has stopped, with the count of
// answers by status code.
func closedLoop(s *Server, n int, path string, stop <-chan struct{}) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code := do(s, path)
				mu.Lock()
				codes[code]++
				mu.Unlock()
				if code != http.StatusOK {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return codes
}

// runFor runs a closed loop of n clients for d.
func runFor(s *Server, n int, path string, d time.Duration) map[int]int {
	stop := make(chan struct{})
	time.AfterFunc(d, func() { close(stop) })
	return closedLoop(s, n, path, stop)
}

func healthConfig() Config {
	cfg := testConfig(4, 20*time.Millisecond) // pool 4: 200 req/s
	cfg.HealthInterval = 20 * time.Millisecond
	cfg.HealthThreshold = 80 * time.Millisecond
	cfg.HealthFailures = 2
	cfg.RestartDelay = 50 * time.Millisecond
	cfg.ReconnectWork = 8 // two rounds of the pool: 40 ms, well under the threshold
	return cfg
}

// TestHealthLightLoadNoRestart: probes through an unloaded pool take one query time, far
// below the threshold, so the checker runs but never restarts the instance.
func TestHealthLightLoadNoRestart(t *testing.T) {
	s := newServer(t, healthConfig())
	codes := runFor(s, 2, "/work", 600*time.Millisecond) // 2 clients on 4 connections
	st := s.Stats()
	if st.HealthChecks < 5 {
		t.Fatalf("only %d health checks in 600 ms at a 20 ms interval; the checker is not running", st.HealthChecks)
	}
	if st.Restarts != 0 || st.HealthFailed != 0 || !st.Healthy {
		t.Errorf("light load: restarts=%d health_failed=%d healthy=%v, want 0, 0, true", st.Restarts, st.HealthFailed, st.Healthy)
	}
	if codes[http.StatusOK] == 0 || len(codes) != 1 {
		t.Errorf("answers = %v, want only 200s", codes)
	}
}

// TestRestartDropsQueueThenReconnects follows one restart: a queue long enough to fail two
// probes in a row restarts the instance; the queued and running requests answer 503; the new
// instance runs its reconnect work and, with no traffic left, passes its checks again.
func TestRestartDropsQueueThenReconnects(t *testing.T) {
	cfg := testConfig(1, 30*time.Millisecond)
	cfg.HealthInterval = 10 * time.Millisecond
	cfg.HealthThreshold = 100 * time.Millisecond
	cfg.HealthFailures = 2
	cfg.RestartDelay = 30 * time.Millisecond
	cfg.ReconnectWork = 2 // 60 ms of the only connection: a probe behind it still passes
	s := newServer(t, cfg)

	var seen sync.Map // /healthz states observed
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(2 * time.Millisecond):
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
				seen.Store(rec.Code, true)
			}
		}
	}()

	const n = 12 // 360 ms of queue on one connection
	codes := make(chan int, n)
	for range n {
		go func() { codes <- do(s, "/work") }()
	}
	got := map[int]int{}
	for range n {
		select {
		case c := <-codes:
			got[c]++
		case <-time.After(5 * time.Second):
			t.Fatalf("requests still unanswered after 5 s: %v so far", got)
		}
	}
	st := waitStats(t, s, "the restarted instance to finish its reconnect work and pass a check",
		func(st Stats) bool { return st.ReconnectQueries == 2 && st.Healthy && st.InUse == 0 })
	time.Sleep(150 * time.Millisecond) // several more checks: the idle instance must stay up
	close(stopPoll)
	<-polled
	st = s.Stats()

	if st.Restarts != 1 {
		t.Errorf("restarts = %d, want exactly 1 (the queue caused one; an idle instance must not restart)", st.Restarts)
	}
	if got[http.StatusServiceUnavailable] < 3 || got[http.StatusOK]+got[http.StatusServiceUnavailable] != n {
		t.Errorf("answers = %v, want only 200 and 503, at least 3 of them 503 (the dropped queue)", got)
	}
	if st.RestartDropped != uint64(got[http.StatusServiceUnavailable]) {
		t.Errorf("restart_dropped = %d, want the %d 503s the clients saw", st.RestartDropped, got[http.StatusServiceUnavailable])
	}
	// Queries that ran for traffic: every query but the reconnect work and the probes that
	// passed (a failed probe is abandoned before its query completes). The dropped requests
	// never ran one, so fewer than n did.
	probesPassed := st.HealthChecks - st.HealthFailed
	if traffic := st.DBQueries - st.ReconnectQueries - probesPassed; traffic > n-3 {
		t.Errorf("%d traffic queries ran for %d requests, want the dropped queue (≥ 3) never to run", traffic, n)
	}
	if st.QueueDepth != 0 || st.ReconnectQueries != 2 {
		t.Errorf("queue=%d reconnect_queries=%d, want 0 and 2", st.QueueDepth, st.ReconnectQueries)
	}
	if _, ok := seen.Load(http.StatusServiceUnavailable); !ok {
		t.Error("/healthz never answered 503 while the instance failed checks and restarted")
	}
	if code := do(s, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after recovery = %d, want 200", code)
	}
}

// TestRestartLoopUnderOverload: a sustained closed-loop load beyond the pool keeps the queue
// long, so the instance restarts again and again; each comeback adds reconnect work. Once the
// load stops the loop ends by itself.
func TestRestartLoopUnderOverload(t *testing.T) {
	s := newServer(t, healthConfig())
	stop := make(chan struct{})
	done := make(chan map[int]int, 1)
	go func() { done <- closedLoop(s, 48, "/work", stop) }() // 44 queued: 220 ms wait
	testfix.WaitUntil(t, 10*time.Second, "three restarts", func() bool { return s.Stats().Restarts >= 3 })
	close(stop)
	codes := <-done

	waitStats(t, s, "the instance to come back healthy after the load", func(st Stats) bool {
		return st.Healthy && st.InUse == 0 && st.QueueDepth == 0
	})
	before := s.Stats()
	time.Sleep(200 * time.Millisecond)
	after := s.Stats()
	if after.Restarts != before.Restarts {
		t.Errorf("restarts went on without load: %d then %d", before.Restarts, after.Restarts)
	}
	if before.RestartDropped == 0 || codes[http.StatusServiceUnavailable] == 0 {
		t.Errorf("restart_dropped=%d, 503s=%d: restarts dropped no request", before.RestartDropped, codes[http.StatusServiceUnavailable])
	}
	if maxWork := 8 * before.Restarts; after.ReconnectQueries == 0 || after.ReconnectQueries > maxWork {
		t.Errorf("reconnect_queries = %d after %d restarts, want 1..%d", after.ReconnectQueries, before.Restarts, maxWork)
	}
	if before.HealthFailed < 2*before.Restarts {
		t.Errorf("health_failed = %d for %d restarts, want ≥ 2 per restart", before.HealthFailed, before.Restarts)
	}
}

// TestCacheHitAvoidsDatabase: a cached key is answered while the only connection is busy.
func TestCacheHitAvoidsDatabase(t *testing.T) {
	cfg := testConfig(1, 200*time.Millisecond)
	cfg.CacheHitRatio = 1
	cfg.CacheKeys = 10
	s := newServer(t, cfg)

	if code := do(s, "/item?key=a"); code != http.StatusOK { // miss: reads and fills
		t.Fatalf("first GET = %d", code)
	}
	busy := make(chan int, 1)
	go func() { busy <- do(s, "/item?key=b") }() // a miss holding the only connection
	waitStats(t, s, "the miss to hold the connection", func(st Stats) bool { return st.InUse == 1 })
	start := time.Now()
	if code := do(s, "/item?key=a"); code != http.StatusOK {
		t.Fatalf("cached GET = %d", code)
	}
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
		t.Errorf("cached GET took %v with the pool busy; a hit must not wait for the database", elapsed)
	}
	<-busy
	st := s.Stats()
	want := Stats{CacheHits: 1, CacheMisses: 2, CacheFills: 2, CacheSize: 2, DBQueries: 2, Served: 3}
	got := Stats{CacheHits: st.CacheHits, CacheMisses: st.CacheMisses, CacheFills: st.CacheFills,
		CacheSize: st.CacheSize, DBQueries: st.DBQueries, Served: st.Served}
	if got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

// TestCacheFillDeadline: a read slower than the deadline is not cached, so the same key
// misses again.
func TestCacheFillDeadline(t *testing.T) {
	tests := []struct {
		name     string
		query    time.Duration
		deadline time.Duration
		wantHit  bool
	}{
		{"fast read fills", 5 * time.Millisecond, 100 * time.Millisecond, true},
		{"slow read does not fill", 60 * time.Millisecond, 20 * time.Millisecond, false},
		{"no deadline fills", 60 * time.Millisecond, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1, tt.query)
			cfg.CacheHitRatio = 1
			cfg.CacheKeys = 10
			cfg.CacheFillDeadline = tt.deadline
			s := newServer(t, cfg)
			for range 2 {
				if code := do(s, "/?key=x"); code != http.StatusOK {
					t.Fatalf("GET = %d", code)
				}
			}
			st := s.Stats()
			if hit := st.CacheHits == 1; hit != tt.wantHit {
				t.Errorf("second GET hit = %v (hits=%d misses=%d fills=%d), want %v",
					hit, st.CacheHits, st.CacheMisses, st.CacheFills, tt.wantHit)
			}
		})
	}
}

// TestCacheHitRatioEmerges: keys drawn uniformly over the keyspace and a cache holding a
// fraction of it give that fraction as the hit ratio once warm, without any per-request dice.
func TestCacheHitRatioEmerges(t *testing.T) {
	for _, ratio := range []float64{0.3, 0.8} {
		cfg := testConfig(4, 0)
		cfg.CacheHitRatio = ratio
		cfg.CacheKeys = 200
		cfg.CacheWarm = true
		s := newServer(t, cfg)
		if st := s.Stats(); st.CacheSize != cfg.CacheCapacity() {
			t.Fatalf("ratio %g: warm cache holds %d, want %d", ratio, st.CacheSize, cfg.CacheCapacity())
		}
		const n = 3000
		for range n {
			if code := do(s, "/work"); code != http.StatusOK {
				t.Fatalf("GET = %d", code)
			}
		}
		st := s.Stats()
		if got := float64(st.CacheHits) / n; got < ratio-0.05 || got > ratio+0.05 {
			t.Errorf("hit ratio %.3f over %d requests, want %g ± 0.05", got, n, ratio)
		}
	}
}

// TestCacheGoesColdUnderOverload is the sustaining effect: with entries expiring, a light load
// keeps refilling them, but an overload makes every read slower than the fill deadline, so
// expired entries are never replaced and the hit ratio collapses, sending yet more reads to
// the database.
func TestCacheGoesColdUnderOverload(t *testing.T) {
	tests := []struct {
		name    string
		clients int
		wantLo  float64 // bounds on the hit ratio after the warm entries have all expired
		wantHi  float64
	}{
		{"light load keeps it warm", 2, 0.6, 1},
		{"overload lets it go cold", 64, 0, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(2, 10*time.Millisecond)
			cfg.CacheHitRatio = 0.9
			cfg.CacheKeys = 10 // few keys, so that a light load revisits each well within the TTL
			cfg.CacheWarm = true
			cfg.CacheTTL = 150 * time.Millisecond
			cfg.CacheFillDeadline = 30 * time.Millisecond
			s := newServer(t, cfg)

			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); closedLoop(s, tt.clients, "/work", stop) }()
			time.Sleep(250 * time.Millisecond) // every warm entry has expired by now
			before := s.Stats()
			time.Sleep(250 * time.Millisecond)
			after := s.Stats()
			close(stop)
			<-done

			hits, misses := after.CacheHits-before.CacheHits, after.CacheMisses-before.CacheMisses
			if hits+misses == 0 {
				t.Fatal("no lookups in the measured window")
			}
			if ratio := float64(hits) / float64(hits+misses); ratio < tt.wantLo || ratio > tt.wantHi {
				t.Errorf("hit ratio %.2f (%d hits, %d misses), want in [%g, %g]", ratio, hits, misses, tt.wantLo, tt.wantHi)
			}
		})
	}
}

// TestCacheColdAfterRestart: a restart empties the cache, and reads in flight across it do not
// refill it; a light load afterwards warms it again.
func TestCacheColdAfterRestart(t *testing.T) {
	cfg := testConfig(1, 30*time.Millisecond)
	cfg.HealthInterval = 10 * time.Millisecond
	cfg.HealthThreshold = 60 * time.Millisecond
	cfg.HealthFailures = 2
	cfg.RestartDelay = 20 * time.Millisecond
	cfg.CacheHitRatio = 0.5
	cfg.CacheKeys = 20 // holds 10: keys "0".."9" when warm
	cfg.CacheWarm = true
	s := newServer(t, cfg)

	keys := []string{"/?key=0", "/?key=1", "/?key=2", "/?key=3", "/?key=4"}
	pass := func() (hits, misses uint64) {
		t.Helper()
		before := s.Stats()
		for _, k := range keys {
			if code := do(s, k); code != http.StatusOK {
				t.Fatalf("GET %s = %d", k, code)
			}
		}
		after := s.Stats()
		return after.CacheHits - before.CacheHits, after.CacheMisses - before.CacheMisses
	}
	if h, m := pass(); h != 5 || m != 0 {
		t.Fatalf("warm cache: %d hits, %d misses, want 5 and 0", h, m)
	}

	// Unique keys miss, so 12 of them queue 360 ms on the one connection: two failed probes.
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() { defer wg.Done(); do(s, "/?key=burst-"+string(rune('a'+i))) }()
	}
	wg.Wait()
	waitStats(t, s, "the restart to end", func(st Stats) bool { return st.Restarts == 1 && st.Healthy && st.InUse == 0 })
	if st := s.Stats(); st.CacheSize != 0 {
		t.Fatalf("cache holds %d entries after the restart, want 0 (cold)", st.CacheSize)
	}
	if h, m := pass(); h != 0 || m != 5 {
		t.Errorf("first pass after restart: %d hits, %d misses, want 0 and 5", h, m)
	}
	if h, m := pass(); h != 5 || m != 0 {
		t.Errorf("second pass after restart: %d hits, %d misses, want 5 and 0 (refilled)", h, m)
	}
	if st := s.Stats(); st.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", st.Restarts)
	}
}

func TestContendedServiceTime(t *testing.T) {
	const base = 10 * time.Millisecond
	tests := []struct {
		factor float64
		active int
		want   time.Duration
	}{
		{0.5, 1, base},                // alone: no contention
		{0.5, 2, 2 * base},            // 1 + 0.5·2·1
		{0.5, 3, 4 * base},            // 1 + 0.5·3·2
		{1.0 / 16, 4, base * 7 / 4},   // 1 + 12/16: near the throughput peak
		{1.0 / 16, 32, base * 63},     // 1 + 992/16: far past it
		{0, 1000, base},               // off
		{1e300, 1000, maxServiceTime}, // capped, not overflowed
	}
	for _, tt := range tests {
		s := contendedService{base: fixedService(base), factor: tt.factor}
		if got := s.ServiceTime(tt.active); got != tt.want {
			t.Errorf("factor %g, %d active: ServiceTime = %v, want %v", tt.factor, tt.active, got, tt.want)
		}
	}
}

// TestContentionThroughputFalls: with contention, a pool saturated by many concurrent queries
// completes less work than one running a few; without it, more concurrency means more work.
func TestContentionThroughputFalls(t *testing.T) {
	tests := []struct {
		name       string
		contention float64
		wantFalls  bool
	}{
		{"no contention", 0, false},
		{"contention peaking near 4", 1.0 / 16, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(32, 5*time.Millisecond)
			cfg.Contention = tt.contention
			served := map[int]int{}
			for _, clients := range []int{4, 32} {
				s := newServer(t, cfg)
				served[clients] = runFor(s, clients, "/work", 400*time.Millisecond)[http.StatusOK]
			}
			moderate, high := served[4], served[32]
			if tt.wantFalls && !(float64(high) < 0.7*float64(moderate)) {
				t.Errorf("served %d with 32 clients vs %d with 4, want throughput to fall well below", high, moderate)
			}
			if !tt.wantFalls && high <= moderate {
				t.Errorf("served %d with 32 clients vs %d with 4, want more without contention", high, moderate)
			}
		})
	}
}

// TestMaxClientConnsRefuses: with two connections open, a third is closed before it is read,
// the open ones keep working, and a slot freed by a close is usable again.
func TestMaxClientConnsRefuses(t *testing.T) {
	cfg := testConfig(2, time.Millisecond)
	cfg.MaxClientConns = 2
	r := startTarget(t, cfg)
	addr := r.URL[len("http://"):]

	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// request sends one keep-alive GET on c and returns the status code.
	request := func(c net.Conn) (int, error) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /work HTTP/1.1\r\nHost: target\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	a, b := dial(), dial()
	waitStats(t, r.Server, "two connections open", func(st Stats) bool { return st.ClientConns == 2 })
	third := dial()
	waitStats(t, r.Server, "the third connection refused", func(st Stats) bool { return st.Refused == 1 })
	if code, err := request(third); err == nil {
		t.Errorf("third connection answered %d, want it closed", code)
	}
	for i, c := range []net.Conn{a, b} {
		if code, err := request(c); err != nil || code != http.StatusOK {
			t.Errorf("open connection %d: %d, %v; want 200", i, code, err)
		}
	}
	a.Close()
	waitStats(t, r.Server, "a slot to free", func(st Stats) bool { return st.ClientConns == 1 })
	if code, err := request(dial()); err != nil || code != http.StatusOK {
		t.Errorf("connection after a close: %d, %v; want 200", code, err)
	}
	if st := r.Server.Stats(); st.Refused != 1 || st.ClientConns != 2 {
		t.Errorf("refused=%d client_conns=%d, want 1 and 2", st.Refused, st.ClientConns)
	}
}
