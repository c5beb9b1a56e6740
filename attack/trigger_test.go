package attack

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

// TestRunMakesTriggerCalls: the profile's trigger calls reach the target on the run's clock
// (within 50 ms), are recorded in the trailer with their answers, and a failing one (a URL
// nobody serves) is reported while the run goes on and sends every first attempt.
func TestRunMakesTriggerCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1.6 s real-time run")
	}
	var start atomic.Int64 // the run's time zero, once known
	var mu sync.Mutex
	arrivals := map[string]time.Duration{}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/control/") {
			mu.Lock()
			arrivals[r.URL.Path] = time.Since(time.Unix(0, start.Load()))
			mu.Unlock()
		}
		w.Write([]byte("ok"))
	})
	prof := testfix.MustParse(t, `
phases: [{duration: 1500ms, rate: 40}]
client: {timeout: 1s}
slo: {latency: 500ms}
triggers:
  - {name: cut, at: 300ms, for: 600ms, start: {url: /control/capacity, body: '{"fraction": 0.5}'}, stop: {url: /control/restore}}
  - {name: chaos-down, at: 500ms, start: {url: "http://127.0.0.1:1/experiments"}}
`)
	var reported []results.TriggerCall
	var repMu sync.Mutex
	rec := &memRecorder{}
	runStart := time.Now().Add(100 * time.Millisecond)
	start.Store(runStart.UnixNano())
	sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: prof, Start: runStart,
		OnTrigger: func(c results.TriggerCall) {
			repMu.Lock()
			reported = append(reported, c)
			repMu.Unlock()
		}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Interrupted || sum.Requests != 60 {
		t.Errorf("the run sent %d of 60 first attempts (interrupted %v): a failing trigger must not stop it", sum.Requests, sum.Interrupted)
	}
	calls := rec.trailer.Triggers
	if len(calls) != 3 || len(reported) != 3 {
		t.Fatalf("trailer holds %d trigger calls, %d reported; want 3: %+v", len(calls), len(reported), calls)
	}
	for _, c := range calls {
		if off := c.FiredSeconds - c.AtSeconds; off < 0 || off > 0.050 {
			t.Errorf("%s %s fired %.0f ms after its time", c.Name, c.Action, off*1000)
		}
		if c.Name == "chaos-down" {
			if c.OK || !strings.Contains(c.Error, "refused") {
				t.Errorf("the failing call was recorded as %+v", c)
			}
		} else if !c.OK || c.Status != 200 {
			t.Errorf("%s %s recorded as %+v", c.Name, c.Action, c)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for path, at := range map[string]time.Duration{"/control/capacity": 300 * time.Millisecond, "/control/restore": 900 * time.Millisecond} {
		if off := arrivals[path] - at; off < 0 || off > 50*time.Millisecond {
			t.Errorf("%s arrived %v after its time on the run's clock, want within 50 ms", path, off)
		}
	}
	if h := rec.header.Profile.Triggers; len(h) != 2 {
		t.Errorf("the header's profile has %d triggers, want 2", len(h))
	}
}
