package simservice

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
)

// startTarget serves cfg on a loopback port for the duration of the test.
func startTarget(t *testing.T, cfg Config) *Running {
	t.Helper()
	r, err := Start(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return r
}

// newClient is an HTTP client with its own connection pool, closed with the test.
func newClient(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// get returns the status code of GET url, or the error.
func get(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func waitStats(t *testing.T, s *Server, what string, cond func(Stats) bool) Stats {
	t.Helper()
	var st Stats
	testfix.WaitUntil(t, 5*time.Second, what, func() bool { st = s.Stats(); return cond(st) })
	return st
}

func testConfig(conns int, query time.Duration) Config {
	cfg := DefaultConfig()
	cfg.DBConns = conns
	cfg.QueryTime = query
	return cfg
}

func TestHandlerOutcomes(t *testing.T) {
	canceledCtx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name            string
		cancelAbandoned bool
		ctx             context.Context
		wantCode        int
		want            Stats // only the counters are compared
	}{
		{"client present", false, context.Background(), http.StatusOK, Stats{Served: 1}},
		{"client gone, work still done", false, canceledCtx, 0, Stats{Abandoned: 1}},
		{"client gone, work canceled", true, canceledCtx, 0, Stats{Canceled: 1}},
		{"client present, cancel enabled", true, context.Background(), http.StatusOK, Stats{Served: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1, 5*time.Millisecond)
			cfg.CancelAbandoned = tt.cancelAbandoned
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/work", nil).WithContext(tt.ctx))
			if tt.wantCode != 0 && rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantCode == http.StatusOK && rec.Body.String() != "ok\n" {
				t.Errorf("body = %q, want %q", rec.Body.String(), "ok\n")
			}
			st := s.Stats()
			got := Stats{Served: st.Served, Abandoned: st.Abandoned, Canceled: st.Canceled, Shed: st.Shed}
			if got != tt.want {
				t.Errorf("counters = %+v, want %+v", got, tt.want)
			}
			if st.InUse != 0 || st.QueueDepth != 0 {
				t.Errorf("in_use=%d queue=%d after the request, want 0", st.InUse, st.QueueDepth)
			}
		})
	}
}

func TestHealthzAndStatsJSON(t *testing.T) {
	cfg := testConfig(4, time.Millisecond)
	cfg.CapacityFraction = 0.5
	r := startTarget(t, cfg)
	c := newClient(t, 5*time.Second)

	resp, err := c.Get(r.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		t.Fatalf("decode /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || health["status"] != "ok" {
		t.Errorf("/healthz = %d %v, want 200 {status: ok}", resp.StatusCode, health)
	}

	for _, path := range []string{"/", "/work", "/api/items?id=7"} {
		if code, err := get(c, r.URL+path); err != nil || code != http.StatusOK {
			t.Fatalf("GET %s = %d, %v; want 200", path, code, err)
		}
	}

	resp, err = c.Get(r.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/stats Content-Type = %q, want application/json", ct)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("decode /stats %s: %v", body, err)
	}
	for _, key := range []string{"pool_size", "in_use", "queue_depth", "served", "abandoned", "canceled",
		"shed", "oldest_wait_ms", "last_wait_ms", "wait_p50_ms", "wait_p99_ms",
		"db_queries", "healthy", "health_checks", "health_failed", "restarts", "restart_dropped",
		"reconnect_queries", "cache_hits", "cache_misses", "cache_fills", "cache_size",
		"client_conns", "refused", "capacity_fraction", "db_refusing", "added_latency_ms",
		"control_changes", "last_control", "controls"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("/stats lacks %q: %s", key, body)
		}
	}
	// A single instance has no "fleet" object.
	if len(raw) != 30 {
		t.Errorf("/stats has %d fields, want 30: %s", len(raw), body)
	}
	var st Stats
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	// One keep-alive connection (this client's) is open; the knobs of the other mechanisms
	// are off, so their counters stay at zero and the instance is healthy.
	want := Stats{PoolSize: 2, Served: 3, DBQueries: 3, Healthy: true, ClientConns: 1, CapacityFraction: 0.5}
	if st != want {
		t.Errorf("/stats = %+v, want %+v", st, want)
	}
}

func TestQueueLimitSheds(t *testing.T) {
	cfg := testConfig(1, time.Minute) // nothing finishes; Stop releases everyone
	cfg.QueueLimit = 2
	r := startTarget(t, cfg)
	c := newClient(t, 10*time.Second)

	var wg sync.WaitGroup
	defer wg.Wait() // runs second: the requests return once Stop has released them
	defer r.Stop()  // runs first, even when the test fails early
	for range 3 {   // one running, two queued
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = get(c, r.URL+"/work")
		}()
	}
	waitStats(t, r.Server, "1 running and 2 queued", func(s Stats) bool { return s.InUse == 1 && s.QueueDepth == 2 })

	for i := range 3 {
		code, err := get(c, r.URL+"/work")
		if err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("request %d past the queue limit = %d, %v; want 503", i, code, err)
		}
	}
	st := r.Server.Stats()
	if st.Shed != 3 || st.QueueDepth != 2 || st.Served != 0 {
		t.Errorf("stats = %+v, want shed 3, queue 2, served 0", st)
	}
}

// TestDepartedClients checks the sustaining mechanism: a client that times out leaves its work
// behind, queued and then run for nobody, unless CancelAbandoned drops it.
func TestDepartedClients(t *testing.T) {
	tests := []struct {
		name            string
		cancelAbandoned bool
		queueAfterLeave int // queue depth once both clients have given up
		want            Stats
	}{
		{"work kept", false, 1, Stats{Abandoned: 2}},
		{"work canceled", true, 0, Stats{Canceled: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1, 600*time.Millisecond)
			cfg.CancelAbandoned = tt.cancelAbandoned
			r := startTarget(t, cfg)

			// First client holds the only connection, the second queues behind it; both
			// give up long before the 600 ms query is done.
			first, second := newClient(t, 150*time.Millisecond), newClient(t, 50*time.Millisecond)
			errs := make(chan error, 2)
			go func() { _, err := get(first, r.URL+"/a"); errs <- err }()
			waitStats(t, r.Server, "the first query to run", func(s Stats) bool { return s.InUse == 1 })
			go func() { _, err := get(second, r.URL+"/b"); errs <- err }()
			for range 2 {
				if err := <-errs; err == nil {
					t.Fatal("a client got an answer; want it to time out")
				}
			}
			if tt.cancelAbandoned {
				waitStats(t, r.Server, "the canceled work to drain", func(s Stats) bool {
					return s.QueueDepth == 0 && s.InUse == 0 && s.Canceled == 2
				})
			} else if st := r.Server.Stats(); st.QueueDepth != tt.queueAfterLeave || st.InUse != 1 {
				t.Fatalf("after both clients left: queue=%d in_use=%d, want queue %d in_use 1",
					st.QueueDepth, st.InUse, tt.queueAfterLeave)
			}

			st := waitStats(t, r.Server, "all work to finish", func(s Stats) bool {
				return s.Abandoned+s.Canceled == 2 && s.InUse == 0 && s.QueueDepth == 0
			})
			got := Stats{Served: st.Served, Abandoned: st.Abandoned, Canceled: st.Canceled, Shed: st.Shed}
			if got != tt.want {
				t.Errorf("counters = %+v, want %+v", got, tt.want)
			}
			if !tt.cancelAbandoned && st.LastWaitMS < 100 {
				t.Errorf("last_wait_ms = %g, want the queued request to have waited for the first query (≥ 100)", st.LastWaitMS)
			}
		})
	}
}

// TestThroughputBound: 10 concurrent requests on 2 connections with 50 ms queries need at least
// 5 rounds. Only a lower bound is asserted, which a slow machine cannot break.
func TestThroughputBound(t *testing.T) {
	cfg := testConfig(4, 50*time.Millisecond)
	cfg.CapacityFraction = 0.5 // pool of 2
	r := startTarget(t, cfg)
	c := newClient(t, 30*time.Second)

	const n = 10
	codes := make(chan int, n)
	var peak int
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
				peak = max(peak, r.Server.Stats().InUse)
			}
		}
	}()

	start := time.Now()
	for range n {
		go func() {
			code, err := get(c, r.URL+"/work")
			if err != nil {
				t.Errorf("GET: %v", err)
			}
			codes <- code
		}()
	}
	for range n {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("status %d, want 200", code)
		}
	}
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled

	if least := 5 * cfg.QueryTime; elapsed < least {
		t.Errorf("%d requests on a pool of 2 took %v, want ≥ %v", n, elapsed, least)
	}
	st := r.Server.Stats()
	if st.Served != n || st.PoolSize != 2 {
		t.Errorf("served=%d pool=%d, want %d and 2", st.Served, st.PoolSize, n)
	}
	if peak > 2 {
		t.Errorf("saw %d connections in use, pool is 2", peak)
	}
	if st.WaitP99MS < float64(cfg.QueryTime/time.Millisecond) {
		t.Errorf("wait_p99_ms = %g, want ≥ one query time since 8 of 10 requests queued", st.WaitP99MS)
	}
}

func TestStopBoundedWithManyQueued(t *testing.T) {
	tests := []struct {
		name string
		stop func(r *Running, cancel context.CancelFunc) error
	}{
		{"Stop", func(r *Running, _ context.CancelFunc) error { return r.Stop() }},
		{"context", func(r *Running, cancel context.CancelFunc) error { cancel(); <-r.Done(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r, err := Start(ctx, "127.0.0.1:0", testConfig(1, time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 30 * time.Second}

			const n = 400
			results := make(chan error, n)
			for range n {
				go func() {
					code, err := get(c, r.URL+"/work")
					if err == nil && code != http.StatusServiceUnavailable {
						err = errors.New("unexpected status " + http.StatusText(code))
					}
					results <- err
				}()
			}
			waitStats(t, r.Server, "400 requests in the system", func(s Stats) bool {
				return s.InUse == 1 && s.QueueDepth == n-1
			})

			start := time.Now()
			if err := tt.stop(r, cancel); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("stopping with %d queued took %v, want a few seconds at most", n, elapsed)
			}
			deadline := time.After(10 * time.Second)
			unanswered := 0
			for i := range n {
				select {
				case err := <-results:
					if err != nil {
						unanswered++ // cut off by the grace period: allowed, but should be rare
					}
				case <-deadline:
					t.Fatalf("%d of %d clients still waiting after stop", n-i, n)
				}
			}
			if unanswered > n/2 {
				t.Errorf("%d of %d queued clients got no 503 on shutdown", unanswered, n)
			}
			if _, err := get(c, r.URL+"/healthz"); err == nil {
				t.Error("the server still answers after stopping")
			}
		})
	}
}
