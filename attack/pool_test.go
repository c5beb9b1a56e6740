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
		if eng == engineLoop {
			t.Skip("the loop engine has no pool: TestLoopHoldsNoGoroutinePerAttempt")
		}
		var hold atomic.Bool
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hold.Load() {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}))
		defer srv.Close()

		type sample struct {
			at time.Duration
			n  int
		}
		var (
			mu      sync.Mutex
			samples []sample // workers about every 20 ms
			done    = make(chan struct{})
		)
		start := time.Now()
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			held, released := false, false
			for {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				// By the clock, not by ticks counted: a loaded machine (the race detector in
				// CI) drops ticks.
				at := time.Since(start)
				switch {
				case !held && at >= 300*time.Millisecond:
					held = true
					hold.Store(true)
				case held && !released && at >= 700*time.Millisecond:
					released = true
					hold.Store(false)
					close(release)
				}
				n := poolWorkers()
				mu.Lock()
				samples = append(samples, sample{at, n})
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
		// The peak while the target hangs, and the most from 1.8 s (well past the release at
		// 0.7 s) until shortly before the schedule ends at 2.5 s.
		peak, after, inAfter := 0, 0, 0
		for _, s := range samples {
			switch {
			case s.at < 750*time.Millisecond:
				peak = max(peak, s.n)
			case s.at >= 1800*time.Millisecond && s.at < 2400*time.Millisecond:
				after = max(after, s.n)
				inAfter++
			}
		}
		if inAfter < 3 {
			t.Fatalf("only %d samples between 1.8 s and 2.4 s", inAfter)
		}
		t.Logf("workers: peak %d during the hang, at most %d from 1.8 s on (%d samples)", peak, after, inAfter)
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

// TestConsumerYieldsBeforeParking: next, finding no outcome, lets runnable workers go first
// and takes what they deliver without parking. With one P the order is fixed: the worker
// started just before next is called runs only when next yields. Parking instead (what next
// did before) costs the worker that delivers a wake-up per outcome; at max rate against
// nginx the consumer parked for 75 % of outcomes, and without it the fast engine did 14 %
// more requests at 16 % less CPU per request (docs/performance.md).
func TestConsumerYieldsBeforeParking(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := &pool{out: make(chan outcome, 4)} // no workers: this test plays them
	const rounds = 20
	for i := range rounds {
		go func() { p.out <- outcome{slot: uint32(i)} }() // runnable, behind this goroutine
		if o, ok := p.next(); !ok || o.slot != uint32(i) {
			t.Fatalf("round %d: got %+v, %v", i, o, ok)
		}
	}
	if n := p.parks.Load(); n > 2 {
		t.Fatalf("next parked %d times in %d rounds where an outcome came while it yielded", n, rounds)
	}
}
