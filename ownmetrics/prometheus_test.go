package ownmetrics

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

// memSink keeps a run's records in memory: enough for the few hundred of this test.
type memSink struct{ recs []results.Record }

func (m *memSink) Begin(results.Header) error    { return nil }
func (m *memSink) Write(r *results.Record) error { m.recs = append(m.recs, *r); return nil }
func (m *memSink) End(results.Trailer) error     { return nil }
func (m *memSink) count(f func(results.Record) bool) (n int) {
	for _, r := range m.recs {
		if f(r) {
			n++
		}
	}
	return n
}

// prometheusBinary is Debian's prometheus. With CI=true a missing one is a failure (.ci/run
// installs it), elsewhere a skip.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus is not installed; .ci/run installs it with apt-get install -y prometheus")
		}
		t.Skip("prometheus is not installed (apt-get install -y prometheus)")
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startPrometheusAt runs a Prometheus of the test's own on addr (a free loopback port) with a
// temporary data dir, receiving remote write and scraping scrapeAddr every 500ms as job
// "scrape"; it is killed when the test ends. It returns the server's base URL once it is ready.
func startPrometheusAt(t *testing.T, scrapeAddr, addr string) string {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	conf := fmt.Sprintf(`global: {scrape_interval: 500ms, scrape_timeout: 400ms}
scrape_configs:
  - job_name: scrape
    static_configs: [{targets: [%q]}]
`, scrapeAddr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus not ready after 30s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func query(t *testing.T, prom promv1.API, q string, at time.Time) model.Value {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, warnings, err := prom.Query(ctx, q, at)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("query %s: %v %v", q, err, warnings)
	}
	return v
}

// scalar is the one value of an instant query; it fails on anything else.
func scalar(t *testing.T, prom promv1.API, q string, at time.Time) float64 {
	t.Helper()
	vec, ok := query(t, prom, q, at).(model.Vector)
	if !ok || len(vec) != 1 {
		t.Fatalf("query %s: %v, want one value", q, vec)
	}
	return float64(vec[0].Value)
}

// A real Prometheus both receives a short run by remote write and scrapes its /metrics: each
// way, PromQL over its HTTP API gives the run's exact request and attempt counts; the pushed
// samples are stamped across the run, one a second; and every query of the Grafana dashboard
// returns data.
func TestRealPrometheusAgreesWithTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run with a Prometheus server")
	}
	prometheusBinary(t)
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1)%7 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable) // some errors, some retries
			return
		}
		time.Sleep(2 * time.Millisecond)
	}))
	defer target.Close()

	prof := testfix.MustParse(t, `name: prom-test
phases: [{name: steady, duration: 2s, rate: 50}, {name: surge, duration: 1500ms, rate: 100}]
client: {timeout: 1s, retry: {policy: fixed, base: 10ms, max_attempts: 2}}
slo: {latency: 500ms}
`)
	progress := new(attack.Progress)
	// The remote-write address is fixed before Prometheus starts, and /metrics is up before
	// Prometheus is told to scrape it.
	promAddr := freePort(t)
	live, err := Start(prof, progress, Setup{
		Addr: "127.0.0.1:0", RemoteWrite: "http://" + promAddr + "/api/v1/write",
		Labels: map[string]string{"run": "t1"}, Linger: 10 * time.Second,
		Warn: func(m string) { t.Logf("pusher warned: %s", m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	base := startPrometheusAt(t, live.Addr(), promAddr)

	sink := new(memSink)
	start := time.Now().Add(50 * time.Millisecond)
	sum, err := attack.Run(context.Background(), attack.Config{Target: target.URL, Profile: prof, Start: start,
		Progress: progress, Observer: live.Observer()}, sink)
	if err != nil {
		t.Fatal(err)
	}
	out := live.Finish(context.Background(), time.Now())
	if !out.Scraped || out.Push == nil || out.Push.Unsent != 0 || out.Push.Dropped != 0 {
		t.Fatalf("finish: scraped %v, push %+v", out.Scraped, out.Push)
	}
	if sum.Requests < 250 || sum.Attempts <= sum.Requests {
		t.Fatalf("run: %+v, want 250 requests and some retries", sum)
	}

	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	prom := promv1.NewAPI(client)
	now := time.Now()
	goodput := sink.count(func(r results.Record) bool { return r.OK() && r.RequestLatency() <= 500*time.Millisecond })
	errors5xx := sink.count(func(r results.Record) bool { return r.Kind == results.Kind5xx })
	retried := int(progress.Retries.Load())
	for _, job := range []string{"stormtest", "scrape"} { // pushed, scraped
		sel := fmt.Sprintf(`{job=%q, profile="prom-test", run="t1"}`, job)
		// max_over_time: the final value, whatever staleness marker the scrape job wrote
		// once /metrics was gone.
		for q, want := range map[string]float64{
			"max_over_time(stormtest_requests_total" + sel + "[5m])":                                              float64(sum.Requests),
			"sum(max_over_time(stormtest_completed_total" + sel + "[5m]))":                                        float64(sum.Attempts),
			"sum(max_over_time(stormtest_goodput_total" + sel + "[5m]))":                                          float64(goodput),
			"sum(max_over_time(stormtest_errors_total" + strings.Replace(sel, "}", `, kind="5xx"}`, 1) + "[5m]))": float64(errors5xx),
			"sum(max_over_time(stormtest_retries_total" + sel + "[5m]))":                                          float64(retried),
			"sum(max_over_time(stormtest_latency_seconds_count" + sel + "[5m]))":                                  float64(sum.Attempts),
			"max_over_time(stormtest_sent_total" + sel + "[5m])":                                                  float64(sum.Attempts),
		} {
			if got := scalar(t, prom, q, now); got != want {
				t.Errorf("%s = %g, want %g", q, got, want)
			}
		}
	}

	// The pushed samples: one a second or so, each at its own instant within the run, the last
	// being the final count.
	m, ok := query(t, prom, `stormtest_requests_total{job="stormtest"}[5m]`, now).(model.Matrix)
	if !ok || len(m) != 1 {
		t.Fatalf("raw pushed samples: %v", m)
	}
	samples := m[0].Values
	runLen := sum.End.Sub(start)
	if n := len(samples); n < int(runLen.Seconds()) || n > int(runLen.Seconds())+4 {
		t.Errorf("%d pushed samples for a %s run, want about one a second", n, runLen)
	}
	for i, s := range samples {
		at := s.Timestamp.Time()
		if at.Before(start.Add(-time.Second)) || at.After(now) || (i > 0 && !at.After(samples[i-1].Timestamp.Time())) {
			t.Errorf("sample %d at %s: want increasing times from the run's start %s", i, at, start)
		}
	}
	if last := samples[len(samples)-1]; float64(last.Value) != float64(sum.Requests) {
		t.Errorf("last pushed sample %v, want %d", last, sum.Requests)
	}

	// Every panel of the dashboard shows something for the run, from either source.
	panels, _ := dashboardQueries(t)
	mid := start.Add(2500 * time.Millisecond)
	for _, q := range panels {
		expr := strings.NewReplacer(`$job`, `.*`, `$instance`, `.*`, `$profile`, `prom-test`, `$__rate_interval`, `2s`).Replace(q.expr)
		vec, ok := query(t, prom, expr, mid).(model.Vector)
		if !ok || len(vec) == 0 {
			t.Errorf("%s: %s returns nothing in the middle of the run", q.where, expr)
			continue
		}
		for _, s := range vec {
			if math.IsInf(float64(s.Value), 0) {
				t.Errorf("%s: %s = %v", q.where, expr, s)
			}
		}
	}
}
