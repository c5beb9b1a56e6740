package simservice

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics fetches /metrics in the text format and parses it with Prometheus' parser.
func scrapeMetrics(t *testing.T, c *http.Client, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf, ok := fams[name]
	if !ok || len(mf.GetMetric()) != 1 {
		t.Fatalf("/metrics has no single %s", name)
	}
	m := mf.GetMetric()[0]
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s is a %s", name, mf.GetType())
	return 0
}

// TestMetricsAgreeWithStats drives a small target into shedding, waits for it to go quiet, and
// checks every figure of /metrics against /stats, with the type a dashboard expects, and the
// wait histogram against the number of connections granted.
func TestMetricsAgreeWithStats(t *testing.T) {
	cfg := testConfig(2, 30*time.Millisecond)
	cfg.QueueLimit = 3
	r := startTarget(t, cfg)
	c := newClient(t, 5*time.Second)

	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = get(c, r.URL+"/work")
		}()
	}
	wg.Wait()
	fams := scrapeMetrics(t, c, r.URL)
	resp, err := c.Get(r.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Shed == 0 || st.Served == 0 {
		t.Fatalf("the load neither shed nor served: %+v", st)
	}
	for _, tc := range []struct {
		name string
		typ  dto.MetricType
		want float64
	}{
		{"simservice_queue_depth", dto.MetricType_GAUGE, float64(st.QueueDepth)},
		{"simservice_pool_in_use", dto.MetricType_GAUGE, float64(st.InUse)},
		{"simservice_pool_size", dto.MetricType_GAUGE, 2},
		{"simservice_served_total", dto.MetricType_COUNTER, float64(st.Served)},
		{"simservice_abandoned_total", dto.MetricType_COUNTER, float64(st.Abandoned)},
		{"simservice_canceled_total", dto.MetricType_COUNTER, float64(st.Canceled)},
		{"simservice_shed_total", dto.MetricType_COUNTER, float64(st.Shed)},
		{"simservice_db_queries_total", dto.MetricType_COUNTER, float64(st.DBQueries)},
		{"simservice_restarts_total", dto.MetricType_COUNTER, 0},
		{"simservice_cache_hits_total", dto.MetricType_COUNTER, 0},
		{"simservice_cache_misses_total", dto.MetricType_COUNTER, 0},
		{"simservice_healthy", dto.MetricType_GAUGE, 1},
	} {
		if got := fams[tc.name].GetType(); got != tc.typ {
			t.Errorf("%s is a %s, want %s", tc.name, got, tc.typ)
			continue
		}
		if got := value(t, fams, tc.name); got != tc.want {
			t.Errorf("%s = %g, /stats says %g", tc.name, got, tc.want)
		}
	}
	h := fams["simservice_wait_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != st.DBQueries {
		t.Errorf("wait histogram counted %d grants, the database ran %d queries", h.GetSampleCount(), st.DBQueries)
	}
	if h.GetSampleSum() <= 0 {
		t.Errorf("a queue formed (%d shed) but the waits sum to %g s", st.Shed, h.GetSampleSum())
	}
	states := map[string]float64{}
	for _, m := range fams["simservice_health_state"].GetMetric() {
		states[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	if states["ok"] != 1 || states["failing"] != 0 || states["restarting"] != 0 {
		t.Errorf("health state %v, want ok", states)
	}
	for name := range fams {
		if !strings.HasPrefix(name, "simservice_") {
			t.Errorf("%s: every metric of the target is prefixed simservice_", name)
		}
	}
}

// TestMetricsPerServer: two targets in one process export their own figures, not a shared
// registry's.
func TestMetricsPerServer(t *testing.T) {
	a := startTarget(t, testConfig(1, 0))
	b := startTarget(t, testConfig(3, 0))
	c := newClient(t, 5*time.Second)
	for range 5 {
		if code, err := get(c, a.URL+"/"); err != nil || code != 200 {
			t.Fatalf("GET: %d %v", code, err)
		}
	}
	fa, fb := scrapeMetrics(t, c, a.URL), scrapeMetrics(t, c, b.URL)
	if value(t, fa, "simservice_served_total") != 5 || value(t, fb, "simservice_served_total") != 0 {
		t.Errorf("served: a %g, b %g; want 5 and 0", value(t, fa, "simservice_served_total"), value(t, fb, "simservice_served_total"))
	}
	if value(t, fa, "simservice_pool_size") != 1 || value(t, fb, "simservice_pool_size") != 3 {
		t.Errorf("pool sizes %g and %g, want 1 and 3", value(t, fa, "simservice_pool_size"), value(t, fb, "simservice_pool_size"))
	}
}

// TestMetricsShowControlsAndFleet: what the control endpoints changed and the fleet's state
// are exported too, equal to /stats, so that a scrape shows the trigger beside its effect.
func TestMetricsShowControlsAndFleet(t *testing.T) {
	cfg := fleetConfig()
	r := startTarget(t, cfg)
	c := newClient(t, 5*time.Second)
	for _, call := range []struct{ path, body string }{
		{"/control/latency", `{"add": "150ms"}`},
		{"/control/db", `{"refuse_connections": true}`},
	} {
		resp, err := c.Post(r.URL+call.path, "application/json", strings.NewReader(call.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", call.path, resp.Status)
		}
	}
	fams := scrapeMetrics(t, c, r.URL)
	resp, err := c.Get(r.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Fleet == nil || !st.DBRefusing || st.ControlChanges != 2 {
		t.Fatalf("/stats after two control calls: %+v", st)
	}
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"simservice_db_refusing_connections", 1},
		{"simservice_added_latency_seconds", 0.15},
		{"simservice_control_changes_total", 2},
		{"simservice_capacity_fraction", st.CapacityFraction},
		{"simservice_fleet_instances_in_service", float64(st.Fleet.InService)},
		{"simservice_db_connects_total", float64(st.Fleet.DBConnects)},
	} {
		if got := value(t, fams, tc.name); got != tc.want {
			t.Errorf("%s = %g, want %g (/stats)", tc.name, got, tc.want)
		}
	}
}
