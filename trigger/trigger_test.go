package trigger

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// chaos is a stand-in chaos tool on loopback: it notes when each call arrived and with what.
type chaos struct {
	mu       sync.Mutex
	arrivals map[string]time.Time
	bodies   map[string]string
	auth     map[string]string
}

func newChaos(t *testing.T) (*chaos, string) {
	c := &chaos{arrivals: map[string]time.Time{}, bodies: map[string]string{}, auth: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.arrivals[r.Method+" "+r.URL.Path] = time.Now()
		c.bodies[r.URL.Path] = string(b)
		c.auth[r.URL.Path] = r.Header.Get("Authorization") + "|" + r.Header.Get("Content-Type")
		c.mu.Unlock()
		if r.URL.Path == "/broken" {
			http.Error(w, "experiment not found", http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func d(s string) profiles.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return profiles.Duration(v)
}

// TestCallsOnTheRunsClock: each call arrives within 50 ms of its time on the run's clock, is
// recorded with its answer, and a failing call is reported as it happens while the others
// go on.
func TestCallsOnTheRunsClock(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time calls on loopback")
	}
	c, base := newChaos(t)
	triggers := []profiles.Trigger{
		{Name: "cut", At: d("200ms"), For: d("300ms"),
			Start: profiles.Call{URL: "/control/capacity", Body: `{"fraction": 0.2}`, Headers: map[string]string{"Authorization": "Bearer t"}},
			Stop:  &profiles.Call{URL: "/control/restore", Body: "{}"}},
		{Name: "broken", At: d("100ms"), Start: profiles.Call{Method: "PUT", URL: base + "/broken"}},
		{Name: "nobody", At: d("150ms"), Start: profiles.Call{URL: "http://127.0.0.1:1/x"}},
	}
	start := time.Now().Add(50 * time.Millisecond)
	var mu sync.Mutex
	var reported []results.TriggerCall
	r := Start(Config{Start: start, Target: base, Triggers: triggers, Timeout: 2 * time.Second,
		OnCall: func(c results.TriggerCall) {
			mu.Lock()
			defer mu.Unlock()
			if !c.OK && time.Since(start) > time.Duration(c.AtSeconds*float64(time.Second))+time.Second {
				t.Errorf("failure of %s reported %v after its time", c.Name, time.Since(start))
			}
			reported = append(reported, c)
		}})
	time.Sleep(700 * time.Millisecond) // past every call, before Stop
	mu.Lock()
	if len(reported) != 4 {
		t.Errorf("%d calls reported before Stop, want all 4 as they completed", len(reported))
	}
	mu.Unlock()
	calls := r.Stop()
	if len(calls) != 4 {
		t.Fatalf("recorded %d calls, want 4: %+v", len(calls), calls)
	}
	byName := map[string]results.TriggerCall{}
	for _, cl := range calls {
		byName[cl.Name+" "+cl.Action] = cl
		if late := cl.FiredSeconds - cl.AtSeconds; late < 0 || late > 0.050 {
			t.Errorf("%s %s fired at %.3f s for %.3f s: %.0f ms off, want within 50 ms", cl.Name, cl.Action, cl.FiredSeconds, cl.AtSeconds, late*1000)
		}
	}
	c.mu.Lock()
	for path, at := range map[string]float64{"POST /control/capacity": 0.2, "POST /control/restore": 0.5, "PUT /broken": 0.1} {
		arrived, ok := c.arrivals[path]
		if off := arrived.Sub(start).Seconds() - at; !ok || off < 0 || off > 0.050 {
			t.Errorf("%s arrived %.0f ms after its time (seen %v), want within 50 ms", path, off*1000, ok)
		}
	}
	if c.bodies["/control/capacity"] != `{"fraction": 0.2}` || c.auth["/control/capacity"] != "Bearer t|application/json" {
		t.Errorf("start call sent body %q, headers %q", c.bodies["/control/capacity"], c.auth["/control/capacity"])
	}
	c.mu.Unlock()
	if cl := byName["cut start"]; !cl.OK || cl.Status != 200 || cl.Response != `{"ok":true}` || cl.URL != base+"/control/capacity" {
		t.Errorf("cut start recorded as %+v", cl)
	}
	if cl := byName["broken start"]; cl.OK || cl.Status != 404 || !strings.Contains(cl.Error, "404") || cl.Method != "PUT" {
		t.Errorf("broken start recorded as %+v", cl)
	}
	if cl := byName["nobody start"]; cl.OK || cl.Status != 0 || !strings.Contains(cl.Error, "refused") {
		t.Errorf("a call nobody answers recorded as %+v", cl)
	}
	if !strings.Contains(Describe(byName["broken start"]), "failed: HTTP 404") {
		t.Errorf("Describe = %q", Describe(byName["broken start"]))
	}
}

// TestStopMakesOwedStopCalls: a run that ends inside a trigger's window still makes the
// trigger's stop call, at once, and skips calls not yet due.
func TestStopMakesOwedStopCalls(t *testing.T) {
	c, base := newChaos(t)
	triggers := []profiles.Trigger{
		{Name: "outage", At: d("0s"), For: d("10s"), Start: profiles.Call{URL: "/down"}, Stop: &profiles.Call{URL: "/up"}},
		{Name: "later", At: d("5s"), Start: profiles.Call{URL: "/later"}},
	}
	r := Start(Config{Start: time.Now(), Target: base, Triggers: triggers})
	time.Sleep(100 * time.Millisecond)
	calls := r.Stop()
	if len(calls) != 2 || calls[0].Action != "start" || calls[1].Action != "stop" || !calls[1].Early || !calls[1].OK {
		t.Fatalf("calls %+v, want the start then an early stop", calls)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.arrivals["POST /up"]; !ok {
		t.Errorf("the stop call never arrived")
	}
	if _, ok := c.arrivals["POST /later"]; ok {
		t.Errorf("a call due after the run was made")
	}
}

func TestValidate(t *testing.T) {
	tr := []profiles.Trigger{{At: d("1s"), Start: profiles.Call{URL: "/control/db"}}}
	if err := Validate("", tr); err == nil || !strings.Contains(err.Error(), "no target") {
		t.Errorf("a path without a target: %v", err)
	}
	if err := Validate("http://127.0.0.1:8080", tr); err != nil {
		t.Errorf("a path with a target: %v", err)
	}
}
