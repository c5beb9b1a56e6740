package attack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolShrinksAfterBurst: a target that hangs for 0.4 s of a 200/s run makes the pool
// grow by the attempts that pile up, and once it answers again the pool falls back to its
// spare workers rather than keeping the burst's goroutines for the rest of the run (what
// vegeta's Attacker did, and what the one-hour soak showed as goroutines stepping up).
func TestPoolShrinksAfterBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	forEachEngine(t, func(t *testing.T, eng string) {
		var held atomic.Bool
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if held.Load() {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}))
		defer srv.Close()

		var (
			mu      sync.Mutex
			samples []int // workers every 20 ms
			done    = make(chan struct{})
		)
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				switch i {
				case 15: // 0.3 s
					held.Store(true)
				case 35: // 0.7 s
					held.Store(false)
					close(release)
				}
				n := poolWorkers()
				mu.Lock()
				samples = append(samples, n)
				mu.Unlock()
			}
		}()
		sum, recs := runAttackOn(t, eng, context.Background(), srv.URL,
			"phases: [{name: load, duration: 2500ms, rate: 200}]\nclient: {timeout: 2s}\n")
		close(done)
		if len(recs) != int(sum.Attempts) || sum.Attempts < 450 {
			t.Fatalf("%d records, %d attempts; want about 500", len(recs), sum.Attempts)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(samples) < 110 {
			t.Fatalf("only %d samples in 2.5 s", len(samples))
		}
		peak := 0
		for _, n := range samples[:60] {
			peak = max(peak, n)
		}
		// After the hang: 1.8 s into the run onwards, well past the release at 0.7 s.
		after := 0
		for _, n := range samples[90 : len(samples)-5] {
			after = max(after, n)
		}
		t.Logf("workers: peak %d during the hang, at most %d from 1.8 s on", peak, after)
		if peak < 50 {
			t.Errorf("peak %d workers while 80 attempts hung; want the pool to grow past 50", peak)
		}
		if after > poolSpare+4 {
			t.Errorf("%d workers after the hang; want the pool back near its %d spare ones", after, poolSpare)
		}
	})
}

// poolWorkers counts the goroutines running a pool's worker loop.
func poolWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "attack.(*pool).work(")
		}
		buf = make([]byte, 2*len(buf))
	}
}
