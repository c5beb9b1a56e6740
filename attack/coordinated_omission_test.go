package attack

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/results"
)

// TestStallShowsInIntendedLatencyNotServiceTime is the coordinated-omission check: the target
// stalls for 2 s while the generator has only 2 workers, so the attempts due during the stall
// cannot even be sent. Once it ends they go out at once and are served in a fraction of a
// millisecond. Service time (what a closed-loop tool measures) hides the stall; latency from
// the intended start, stormtest's headline, shows it.
func TestStallShowsInIntendedLatencyNotServiceTime(t *testing.T) {
	forEachEngine(t, testStallShowsInIntendedLatencyNotServiceTime)
}

func testStallShowsInIntendedLatencyNotServiceTime(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	var mu sync.Mutex
	var stallUntil time.Time
	begin := time.Now()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if stallUntil.IsZero() && time.Since(begin) > 500*time.Millisecond {
			stallUntil = time.Now().Add(2 * time.Second) // one stall, triggered by traffic
		}
		wait := time.Until(stallUntil)
		mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
		}
	})
	p := parseOn(t, eng, "name: stall\nphases: [{duration: 3s, rate: 200}]\nclient: {timeout: 5s}")
	rec := &memRecorder{}
	start := time.Now()
	if _, err := Run(context.Background(), Config{Target: srv.URL, Profile: p, Start: start, MaxWorkers: 2}, rec); err != nil {
		t.Fatal(err)
	}
	a := analyze.New(results.Header{Start: start, Profile: *p, Target: srv.URL, Groups: []string{"default"}}, analyze.DefaultOptions())
	for i := range rec.recs {
		a.Add(&rec.recs[i])
	}
	rep := a.Finish(nil, nil)
	lat, svc, lag := rep.Latency.P99, rep.Latency.ServiceTime.P99, rep.Latency.Lag.P99
	t.Logf("p99 from intended start %.0f ms, service time p99 %.1f ms, generator lag p99 %.0f ms", lat, svc, lag)
	if lat < 1500 {
		t.Errorf("p99 from the intended start is %.0f ms: the 2 s stall does not show", lat)
	}
	if svc > 100 {
		t.Errorf("service time p99 is %.0f ms: this test no longer shows what service time hides", svc)
	}
	if lag < 1000 {
		t.Errorf("generator lag p99 %.0f ms: the stalled generator's lag was not recorded", lag)
	}
	warned := false
	for _, w := range rep.Warnings {
		warned = warned || strings.Contains(w, "generator lag")
	}
	if !warned {
		t.Errorf("no warning that the generator lagged: %q", rep.Warnings)
	}
}
