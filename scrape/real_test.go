package scrape_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/simservice"
)

// observed is what the target's /stats said just before and just after it answered one
// scrape of /metrics, and when.
type observed struct {
	t0, t1        time.Time
	before, after simservice.Stats
}

// statsOf maps the scraped series to the /stats field they must agree with, written out here
// independently of simservice's collector, so that a wrong mapping there fails.
var statsOf = map[string]struct {
	counter bool
	field   func(simservice.Stats) float64
}{
	"simservice_queue_depth":      {false, func(s simservice.Stats) float64 { return float64(s.QueueDepth) }},
	"simservice_pool_in_use":      {false, func(s simservice.Stats) float64 { return float64(s.InUse) }},
	"simservice_pool_size":        {false, func(s simservice.Stats) float64 { return float64(s.PoolSize) }},
	"simservice_served_total":     {true, func(s simservice.Stats) float64 { return float64(s.Served) }},
	"simservice_abandoned_total":  {true, func(s simservice.Stats) float64 { return float64(s.Abandoned) }},
	"simservice_shed_total":       {true, func(s simservice.Stats) float64 { return float64(s.Shed) }},
	"simservice_db_queries_total": {true, func(s simservice.Stats) float64 { return float64(s.DBQueries) }},
}

func profile(t *testing.T, yaml string) *profiles.Profile {
	t.Helper()
	p, err := profiles.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// readRun reads a results file: its scrapes, by endpoint, and its record count.
func readRun(t *testing.T, path string) (results.Header, map[uint8][]results.Scrape, uint64, results.Trailer) {
	t.Helper()
	r, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	scrapes := map[uint8][]results.Scrape{}
	var n uint64
	sink := struct {
		results.WriteFunc
		scrapeFunc
	}{func(*results.Record) error { n++; return nil }, func(s *results.Scrape) error {
		c := *s
		c.Samples = append([]results.Sample(nil), s.Samples...)
		scrapes[s.Endpoint] = append(scrapes[s.Endpoint], c)
		return nil
	}}
	if _, damage, err := results.Copy(sink, r); err != nil || damage != nil {
		t.Fatalf("reading %s: %v %v", path, damage, err)
	}
	tr, _ := r.Trailer()
	return r.Header(), scrapes, n, tr
}

type scrapeFunc func(*results.Scrape) error

func (f scrapeFunc) Scrape(s *results.Scrape) error { return f(s) }

// TestScrapesMatchStats attacks the built-in target past its capacity while scraping its
// /metrics every 200 ms, and checks every stored sample against the target's /stats taken
// around the very request that produced it: counters between the two snapshots, gauges
// within a few requests of them, the pool size exactly, and the sample's time stamp on the
// run's clock just before the target saw the request.
func TestScrapesMatchStats(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s real-time run")
	}
	cfg := simservice.DefaultConfig()
	cfg.DBConns, cfg.QueryTime = 4, 20*time.Millisecond // 200 req/s
	srv, err := simservice.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var mu sync.Mutex
	var seen []observed
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			srv.ServeHTTP(w, r)
			return
		}
		o := observed{t0: time.Now(), before: srv.Stats()}
		srv.ServeHTTP(w, r)
		o.after, o.t1 = srv.Stats(), time.Now()
		mu.Lock()
		seen = append(seen, o)
		mu.Unlock()
	}))
	defer ts.Close()
	defer srv.Close() // before ts.Close, so that queued requests give up at once

	prof := profile(t, `name: scrape-vs-stats
phases:
  - {name: surge, duration: 2s, rate: 300}
  - {name: after, duration: 1s, rate: 50}
client: {timeout: 500ms}
observe: {scrape: [/metrics], interval: 200ms}
`)
	out := filepath.Join(t.TempDir(), "run.st")
	sum, err := attack.Run(context.Background(), attack.Config{Target: ts.URL, Profile: prof}, attack.NewFileSink(attack.Output{Path: out}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests != 650 {
		t.Errorf("%d requests, want the profile's 650", sum.Requests)
	}
	h, scrapes, _, _ := readRun(t, out)
	if len(h.Scrape) != 1 || h.Scrape[0] != ts.URL+"/metrics" {
		t.Fatalf("header endpoints %v", h.Scrape)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := len(scrapes[0]); got < 12 || got > len(seen) {
		t.Fatalf("%d scrapes stored, %d seen by the target; a 3 s run at 200 ms takes ~16", got, len(seen))
	}
	maxQueue := 0.0
	for _, sc := range scrapes[0] {
		if sc.Error != "" {
			t.Errorf("scrape at %s failed: %s", time.Duration(sc.At-h.Start.UnixNano()), sc.Error)
			continue
		}
		// The request this scrape sent is the first the target saw at or after its stamp.
		at := time.Unix(0, sc.At)
		var o *observed
		for i := range seen {
			if !seen[i].t0.Before(at.Add(-5*time.Millisecond)) && (o == nil || seen[i].t0.Before(o.t0)) {
				o = &seen[i]
			}
		}
		if o == nil || o.t0.Sub(at) > 150*time.Millisecond {
			t.Errorf("no request reached the target within 150 ms of the scrape stamped %s", at.Sub(h.Start))
			continue
		}
		checked := 0
		for _, smp := range sc.Samples {
			want, ok := statsOf[smp.Series.Name]
			if !ok {
				continue
			}
			checked++
			lo, hi := want.field(o.before), want.field(o.after)
			if lo > hi {
				lo, hi = hi, lo
			}
			slack := 0.0
			if !want.counter && smp.Series.Name != "simservice_pool_size" {
				slack = 3 // a gauge may move by a request or two within the microseconds between
			}
			if smp.Value < lo-slack || smp.Value > hi+slack {
				t.Errorf("t=%s: %s = %g, /stats said %g before and %g after", at.Sub(h.Start), smp.Series.Name, smp.Value,
					want.field(o.before), want.field(o.after))
			}
			if smp.Series.Name == "simservice_queue_depth" {
				maxQueue = max(maxQueue, smp.Value)
			}
		}
		if checked != len(statsOf) {
			t.Errorf("t=%s: %d of the %d series compared were stored", at.Sub(h.Start), checked, len(statsOf))
		}
	}
	if maxQueue < 10 {
		t.Errorf("the queue never passed %g: the run did not overload the target, so the gauges were barely tested", maxQueue)
	}
}

// TestFailingScrapesLeaveTheAttackAlone runs the same short profile twice against a healthy
// target: once scraping nothing, once scraping a /metrics that hangs, one that answers 500,
// one that answers HTML and the real one. The attack's figures are the same both times and it
// takes no longer; each failing endpoint's scrapes are stored as gaps saying what failed, and
// the real endpoint's as samples.
func TestFailingScrapesLeaveTheAttackAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("4 s real-time run")
	}
	cfg := simservice.DefaultConfig()
	cfg.DBConns, cfg.QueryTime = 16, 2*time.Millisecond
	srv, err := simservice.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/fail":
			http.Error(w, "exporter broke", http.StatusInternalServerError)
		case "/garbage":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Sign in</body></html>\n")
		default:
			srv.ServeHTTP(w, r)
		}
	}))
	defer ts.Close()
	defer srv.Close()

	const base = `name: untouched
phases: [{name: steady, duration: 2s, rate: 100}]
client: {timeout: 1s, retry: {policy: immediate, max_attempts: 2}}
`
	// Credentials in the target reach the scrape endpoints (paths on the target's host), and
	// must not reach the results file.
	target := strings.Replace(ts.URL, "http://", "http://ops:s3cret@", 1)
	type run struct {
		sum     attack.Summary
		took    time.Duration
		scrapes map[uint8][]results.Scrape
		records uint64
		trailer results.Trailer
	}
	do := func(yaml string) run {
		out := filepath.Join(t.TempDir(), "run.st")
		began := time.Now()
		sum, err := attack.Run(context.Background(), attack.Config{Target: target, Profile: profile(t, yaml)},
			attack.NewFileSink(attack.Output{Path: out}))
		if err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(out); err != nil || bytes.Contains(data, []byte("s3cret")) {
			t.Errorf("the results file holds the target's password (or cannot be read: %v)", err)
		}
		r := run{sum: sum, took: time.Since(began)}
		_, r.scrapes, r.records, r.trailer = readRun(t, out)
		return r
	}
	plain := do(base)
	observed := do(base + "observe: {scrape: [/slow, /fail, /garbage, /metrics], interval: 200ms, timeout: 150ms, match: [simservice_served_total]}\n")

	for _, r := range []run{plain, observed} {
		if r.sum.Requests != 200 || r.sum.Attempts != 200 || r.records != 200 || r.trailer.Attempts != 200 {
			t.Errorf("requests %d, attempts %d, records %d, trailer %d; want the profile's 200 each, every one a first attempt",
				r.sum.Requests, r.sum.Attempts, r.records, r.trailer.Attempts)
		}
	}
	if d := observed.took - plain.took; d > 700*time.Millisecond {
		t.Errorf("scraping failing endpoints made the attack take %s longer (%s against %s)", d, observed.took, plain.took)
	}
	if len(plain.scrapes) != 0 {
		t.Errorf("a run that observes nothing stored scrapes: %v", plain.scrapes)
	}
	for ep, want := range map[uint8]string{0: "timeout after 150ms", 1: "HTTP 500 Internal Server Error", 2: "not a Prometheus exposition (Content-Type text/html)"} {
		gaps := observed.scrapes[ep]
		if len(gaps) < 8 {
			t.Errorf("endpoint %d: %d scrapes stored, want a gap for each of the ~11 due", ep, len(gaps))
		}
		for _, g := range gaps {
			if !strings.Contains(g.Error, want) || len(g.Samples) != 0 {
				t.Errorf("endpoint %d: scrape stored with error %q and %d samples, want the gap %q", ep, g.Error, len(g.Samples), want)
				break
			}
		}
	}
	real := observed.scrapes[3]
	if len(real) < 8 {
		t.Fatalf("the working endpoint has %d scrapes beside the failing ones", len(real))
	}
	last := real[len(real)-1]
	if last.Error != "" || len(last.Samples) != 1 || last.Samples[0].Value < 150 {
		t.Errorf("last scrape of /metrics: %+v, want simservice_served_total near 200", last)
	}
}
