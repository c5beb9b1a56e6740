package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// scrapeOnce serves body (with contentType) on a loopback server, scrapes it once with obs and
// returns the scrape and the scraper's warnings.
func scrapeOnce(t *testing.T, contentType, body string, obs profiles.Observe) (*results.Scrape, []string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	obs.Interval = profiles.Duration(time.Hour) // one scrape, at Start
	obs.ApplyDefaults()
	s, err := Start(context.Background(), Config{Endpoints: []Endpoint{{URL: srv.URL + "/metrics", Shown: srv.URL + "/metrics"}}, Observe: obs, Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var sc *results.Scrape
	select {
	case sc = <-s.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no scrape within 5 s")
	}
	s.Stop()
	return sc, s.Warnings()
}

func samples(sc *results.Scrape) map[string]results.Sample {
	out := map[string]results.Sample{}
	for _, s := range sc.Samples {
		out[s.Series.String()] = s
	}
	return out
}

const exposition = `# HELP app_queue_depth Queue.
# TYPE app_queue_depth gauge
app_queue_depth 7
# TYPE app_requests_total counter
app_requests_total{code="200",path="/a"} 100
app_requests_total{code="500",path="/a"} 3
# TYPE app_wait_seconds histogram
app_wait_seconds_bucket{le="0.1"} 4
app_wait_seconds_bucket{le="+Inf"} 5
app_wait_seconds_sum 1.5
app_wait_seconds_count 5
# TYPE go_goroutines gauge
go_goroutines 42
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE app_build untyped
app_build 1
`

func TestKeep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		obs      profiles.Observe
		want     []string // series kept, in order
		warnings []string // substrings of the one warning, nil for none
	}{
		{"default: gauges and counters (a histogram's _sum and _count), the service's before the runtime's", profiles.Observe{},
			[]string{"app_queue_depth", `app_requests_total{code="200", path="/a"}`, `app_requests_total{code="500", path="/a"}`,
				"app_wait_seconds_count", "app_wait_seconds_sum", "go_goroutines", "process_cpu_seconds_total"}, nil},
		{"capped: the runtime's series are the first dropped, and named", profiles.Observe{MaxSeries: 4},
			[]string{"app_queue_depth", `app_requests_total{code="200", path="/a"}`, `app_requests_total{code="500", path="/a"}`, "app_wait_seconds_count"},
			[]string{"kept the first 4 gauges and counters", "dropped 3 more series (app_wait_seconds_sum, go_goroutines, process_cpu_seconds_total)", "observe.match"}},
		{"match by name, pattern and label; a histogram gives _sum and _count", profiles.Observe{Match: []string{"app_queue_depth", `app_requests_total{code="500"}`, "app_wait_*", "app_build"}},
			[]string{"app_build", "app_queue_depth", `app_requests_total{code="500", path="/a"}`, "app_wait_seconds_count", "app_wait_seconds_sum"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, warns := scrapeOnce(t, "text/plain; version=0.0.4", exposition, tc.obs)
			if sc.Error != "" {
				t.Fatalf("scrape failed: %s", sc.Error)
			}
			var got []string
			for _, s := range sc.Samples {
				got = append(got, s.Series.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("kept %q\nwant %q", got, tc.want)
			}
			if (len(warns) > 0) != (tc.warnings != nil) {
				t.Fatalf("warnings %q", warns)
			}
			for _, w := range tc.warnings {
				if !strings.Contains(warns[0], w) {
					t.Errorf("warning %q lacks %q", warns[0], w)
				}
			}
		})
	}
	sc, _ := scrapeOnce(t, "", exposition, profiles.Observe{Match: []string{"app_*"}})
	got := samples(sc)
	if s := got["app_wait_seconds_sum"]; s.Value != 1.5 || s.Series.Type != results.MetricCounter {
		t.Errorf("histogram sum %+v", s)
	}
	if s := got[`app_requests_total{code="200", path="/a"}`]; s.Value != 100 || s.Series.Type != results.MetricCounter {
		t.Errorf("counter %+v", s)
	}
	if s := got["app_queue_depth"]; s.Value != 7 || s.Series.Type != results.MetricGauge {
		t.Errorf("gauge %+v", s)
	}
	if s := got["app_build"]; s.Series.Type != results.MetricUntyped {
		t.Errorf("untyped %+v", s)
	}
}

// TestOpenMetrics: an OpenMetrics exposition (counters named _total under a TYPE without the
// suffix, UNIT, _created, # EOF) reads through expfmt, the counters as counters.
func TestOpenMetrics(t *testing.T) {
	body := "# HELP jobs Jobs.\n# TYPE jobs counter\n# UNIT jobs jobs\njobs_total{q=\"a\"} 17\njobs_created{q=\"a\"} 1.7e9\n" +
		"# TYPE temp gauge\ntemp 21.5\n# EOF\n"
	sc, _ := scrapeOnce(t, "application/openmetrics-text; version=1.0.0; charset=utf-8", body, profiles.Observe{Match: []string{"jobs*", "temp"}})
	if sc.Error != "" {
		t.Fatal(sc.Error)
	}
	got := samples(sc)
	if s := got[`jobs_total{q="a"}`]; s.Value != 17 || s.Series.Type != results.MetricCounter {
		t.Errorf("OpenMetrics counter %+v (all: %v)", s, got)
	}
	if s := got["temp"]; s.Value != 21.5 || s.Series.Type != results.MetricGauge {
		t.Errorf("OpenMetrics gauge %+v", s)
	}
}

// TestFailedScrapes: every way a scrape fails is a gap with one line saying how, and never
// the URL's credentials.
func TestFailedScrapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
		timeout time.Duration
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, "HTTP 500 Internal Server Error", 0},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>login</body></html>\n")
		}, "not a Prometheus exposition (Content-Type text/html)", 0},
		{"slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "timeout after 200ms", 0},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			line := strings.Repeat("x", 100) + " 1\n"
			for range MaxBodyBytes/len(line) + 10 {
				if _, err := fmt.Fprint(w, line); err != nil {
					return
				}
			}
		}, "exposition larger than 16 MiB", 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			u := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
			obs := profiles.Observe{Interval: profiles.Duration(time.Hour), Timeout: profiles.Duration(max(tc.timeout, 200*time.Millisecond))}
			obs.ApplyDefaults()
			s, err := Start(context.Background(), Config{Endpoints: []Endpoint{{URL: u, Shown: srv.URL}}, Observe: obs, Start: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			sc := <-s.C()
			s.Stop()
			if !strings.Contains(sc.Error, tc.want) || len(sc.Samples) != 0 || strings.Contains(sc.Error, "s3cret") {
				t.Errorf("error %q (%d samples), want %q", sc.Error, len(sc.Samples), tc.want)
			}
			if sc.Took > max(tc.timeout, 5*time.Second) {
				t.Errorf("the scrape took %s", sc.Took)
			}
		})
	}
}

// TestStopDoesNotWait: Stop returns promptly even while a scrape hangs on a target that never
// answers, and closes C.
func TestStopDoesNotWait(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	obs := profiles.Observe{Interval: profiles.Duration(time.Hour)}
	obs.ApplyDefaults()
	s, err := Start(context.Background(), Config{Endpoints: []Endpoint{{URL: srv.URL, Shown: srv.URL}}, Observe: obs, Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the scrape is under way, with an hour's timeout
	began := time.Now()
	s.Stop()
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Stop took %s", d)
	}
	for sc := range s.C() {
		t.Errorf("a scrape cut short by Stop was delivered as a gap: %+v", sc)
	}
}
