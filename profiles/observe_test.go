package profiles

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestObserveParse(t *testing.T) {
	p, err := Parse([]byte(valid+`observe:
  scrape: [/metrics, "http://10.0.0.5:9100/metrics"]
  match: [simservice_queue_depth, 'db_pool_*{pool="main"}']
`), "o.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Observe{Scrape: []string{"/metrics", "http://10.0.0.5:9100/metrics"},
		Match:    []string{"simservice_queue_depth", `db_pool_*{pool="main"}`},
		Interval: Duration(time.Second), Timeout: Duration(time.Second), MaxSeries: DefaultMaxSeries}
	if !reflect.DeepEqual(p.Observe, want) {
		t.Fatalf("observe %+v, want %+v", p.Observe, want)
	}
	// A deep copy: scaling or redacting the profile never shares the lists.
	q := p.Scaled(2, 2)
	q.Observe.Scrape[0] = "/other"
	if p.Observe.Scrape[0] != "/metrics" || q.Observe.Interval != p.Observe.Interval {
		t.Fatal("Scaled shares or scales the observe section")
	}
}

func TestObserveErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"observe: {scrape: []}", `o.yaml:11: observe.scrape: an empty list`},
		{"observe: {scrape: [ftp://x/metrics]}", `o.yaml:11: observe.scrape[0]: "ftp://x/metrics" has no http or https scheme`},
		{"observe: {scrape: [metrics]}", `observe.scrape[0]: "metrics" has no http or https scheme`},
		{"observe: {scrape: [\"http://u:secret@h/m\"]}", ``}, // valid, and never quoted with its password below
		{"observe: {scrape: [\"http://u:secret@/m\"]}", `"http://xxxxx@/m" has no host`},
		{"observe: {scrape: [/m, /m]}", `observe.scrape[1]: the same endpoint as observe.scrape[0]`},
		{"observe: {scrape: [/m], interval: 10ms}", `observe.interval: 10ms is outside [100ms, 1h]`},
		{"observe: {scrape: [/m], interval: 1s, timeout: 2s}", `observe.timeout: 2s is not in (0, interval 1s]`},
		{"observe: {scrape: [/m], max_series: 5000}", `observe.max_series: 5000 is not in [1, 1000]`},
		{"observe: {scrape: [/m], match: [\"9lives\"]}", `observe.match[0]: "9lives" is not a metric name`},
		{"observe: {scrape: [/m], match: ['a{b=\"c\"']}", `observe.match[0]: "a{b=\"c\"": the label part does not end with }`},
		{"observe: {scrape: [/m], match: ['a{b=c}']}", `observe.match[0]: "a{b=c}": bad label matchers`},
		{"observe: {scrape: [/m], bogus: 1}", `observe: unknown key "bogus"`},
		{"observe: {interval: 1s}", `observe.scrape: no endpoints`},
	} {
		_, err := Parse([]byte(valid+tc.yaml+"\n"), "o.yaml")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.yaml, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error quotes the password: %v", tc.yaml, err)
		}
	}
}

func TestSelector(t *testing.T) {
	for _, tc := range []struct {
		sel    string
		name   string
		labels map[string]string
		want   bool
	}{
		{"simservice_queue_depth", "simservice_queue_depth", nil, true},
		{"simservice_queue_depth", "simservice_queue_depth_max", nil, false},
		{"simservice_*", "simservice_pool_in_use", map[string]string{"x": "y"}, true},
		{"*_total", "http_requests_total", nil, true},
		{`http_requests_total{code="500"}`, "http_requests_total", map[string]string{"code": "500", "path": "/"}, true},
		{`http_requests_total{code="500"}`, "http_requests_total", map[string]string{"code": "200"}, false},
		{`{job="db"}`, "anything", map[string]string{"job": "db"}, true},
		{`x{v="a \"quoted\" \\ value"}`, "x", map[string]string{"v": `a "quoted" \ value`}, true},
	} {
		s, err := ParseSelector(tc.sel)
		if err != nil {
			t.Errorf("%s: %v", tc.sel, err)
			continue
		}
		if got := s.Matches(tc.name, tc.labels); got != tc.want {
			t.Errorf("%s matches %s%v: %v, want %v", tc.sel, tc.name, tc.labels, got, tc.want)
		}
	}
}

func TestResolveScrape(t *testing.T) {
	for _, tc := range []struct{ target, s, want, err string }{
		{"http://127.0.0.1:8080/api?x=1", "/metrics", "http://127.0.0.1:8080/metrics", ""},
		{"https://u:p@h:1/base", "/m?name[]=a", "https://u:p@h:1/m?name[]=a", ""},
		{"http://a/", "http://b:9/metrics", "http://b:9/metrics", ""},
		{"", "/metrics", "", "has no host"},
	} {
		got, err := ResolveScrape(tc.target, tc.s)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) || got != tc.want {
			t.Errorf("ResolveScrape(%q, %q) = %q, %v; want %q, %q", tc.target, tc.s, got, err, tc.want, tc.err)
		}
	}
}
