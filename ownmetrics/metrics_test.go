package ownmetrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/curve"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

func mustParse(t testing.TB, yaml string) *profiles.Profile {
	t.Helper()
	p, err := profiles.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

const testProfile = `name: t
phases: [{name: warm, duration: 1s, rate: 100}, {duration: 1s, rate: 200}, {name: cool, duration: 1s, rate: 50}]
slo: {latency: 300ms}
`

func newMetrics(t testing.TB, yaml string, labels map[string]string) (*Metrics, *attack.Progress) {
	t.Helper()
	progress := new(attack.Progress)
	m, err := New(Options{Profile: mustParse(t, yaml), Progress: progress, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	return m, progress
}

// value gathers reg and returns the value of the series name whose labels include want;
// the sample count for a histogram. It fails when there is not exactly one such series.
func value(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found []*dto.Metric
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metric
				}
			}
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d series %s%v, want 1", len(found), name, want)
	}
	m := found[0]
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s: unexpected type", name)
	return 0
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestAttemptCountsByPhaseKindAndSLO(t *testing.T) {
	m, _ := newMetrics(t, testProfile, map[string]string{"run": "r1"})
	ms := time.Millisecond
	for _, a := range []struct {
		phase   uint8
		kind    results.Kind
		latency time.Duration // attempt latency (send lag + service time)
		age     time.Duration // since the request's first intended start
		retried bool
	}{
		{0, results.KindOK, 10 * ms, 0, false},
		{0, results.KindOK, 200 * ms, 150 * ms, false}, // request latency 350ms: over the SLO
		{0, results.KindTimeout, time.Second, 0, true},
		{1, results.Kind5xx, 5 * ms, 0, true},
		{1, results.Kind5xx, 5 * ms, 10 * ms, false},
		{1, results.KindOK, 300 * ms, 0, false}, // exactly the SLO: goodput
		{2, results.Kind429, ms, 0, false},
		{9, results.KindOK, ms, 0, false}, // a phase past the end counts in the last one
	} {
		r := results.Record{Phase: a.phase, Kind: a.kind, SendLag: ms, ServiceTime: a.latency - ms, RequestAge: a.age}
		m.Attempt(&r, a.retried)
	}
	reg := m.Registry()
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{NameCompleted, map[string]string{"phase": "warm"}, 3},
		{NameCompleted, map[string]string{"phase": "phase-2"}, 3},
		{NameCompleted, map[string]string{"phase": "cool"}, 2},
		{NameGoodput, map[string]string{"phase": "warm"}, 1},
		{NameGoodput, map[string]string{"phase": "phase-2"}, 1},
		{NameGoodput, map[string]string{"phase": "cool"}, 1},
		{NameErrors, map[string]string{"phase": "warm", "kind": "timeout"}, 1},
		{NameErrors, map[string]string{"phase": "warm", "kind": "5xx"}, 0},
		{NameErrors, map[string]string{"phase": "phase-2", "kind": "5xx"}, 2},
		{NameErrors, map[string]string{"phase": "cool", "kind": "429"}, 1},
		{NameRetries, map[string]string{"phase": "warm"}, 1},
		{NameRetries, map[string]string{"phase": "phase-2"}, 1},
		{NameLatency, map[string]string{"phase": "warm"}, 3},
		{NameCompleted, map[string]string{"phase": "warm", "profile": "t", "run": "r1"}, 3},
	} {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	// The SLO is a bucket bound, so the share within it is exact: 2 of phase 2's 3 attempts.
	fams, _ := reg.Gather()
	found := false
	for _, f := range fams {
		if f.GetName() != NameLatency {
			continue
		}
		for _, mt := range f.GetMetric() {
			if labelOf(mt, "phase") != "phase-2" {
				continue
			}
			for _, b := range mt.GetHistogram().GetBucket() {
				if b.GetUpperBound() == 0.3 {
					found = true
					if b.GetCumulativeCount() != 3 {
						t.Errorf("phase-2: %d attempts within 0.3s, want 3", b.GetCumulativeCount())
					}
				}
			}
		}
	}
	if !found {
		t.Error("no le=0.3 bucket for the SLO")
	}
	// Lint the exposition as Prometheus's own linter would.
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestProgressGaugesIntendedAndPhase(t *testing.T) {
	m, progress := newMetrics(t, testProfile, nil)
	reg := m.Registry()
	if v := value(t, reg, NameIntended, nil); v != 0 {
		t.Errorf("intended before the start = %g, want 0", v)
	}
	if v := value(t, reg, NamePhase, map[string]string{"phase": "warm"}); v != 0 {
		t.Errorf("phase gauge before the start = %g, want 0", v)
	}
	progress.Sent.Add(7)
	progress.Requests.Add(5)
	progress.Attempts.Add(4)
	// 1.5 s into the run: 100 first attempts of the first phase and half a second at 200/s.
	m.Begin(time.Now().Add(-1500 * time.Millisecond))
	if v := value(t, reg, NameIntended, nil); v < 200 || v > 200+200*2 { // 2 s of slack for a slow machine
		t.Errorf("intended 1.5 s in = %g, want 200 (a little more on a slow machine)", v)
	}
	for name, want := range map[string]float64{"warm": 0, "phase-2": 1, "cool": 0} {
		if v := value(t, reg, NamePhase, map[string]string{"phase": name}); v != want {
			t.Errorf("phase %q gauge = %g, want %g", name, v, want)
		}
	}
	for name, want := range map[string]float64{NameSent: 7, NameRequests: 5, NameInFlight: 3} {
		if v := value(t, reg, name, nil); v != want {
			t.Errorf("%s = %g, want %g", name, v, want)
		}
	}
	m.Begin(time.Now().Add(-time.Hour)) // long after the end
	if v := value(t, reg, NameIntended, nil); v != 350 {
		t.Errorf("intended after the end = %g, want the profile's 350", v)
	}
	if v := value(t, reg, NamePhase, map[string]string{"phase": "cool"}); v != 0 {
		t.Errorf("last phase gauge after the end = %g, want 0", v)
	}
}

// The observer is on the attack's hot path: recording an attempt must not allocate.
func TestAttemptDoesNotAllocate(t *testing.T) {
	m, _ := newMetrics(t, testProfile, nil)
	r := results.Record{Phase: 1, Kind: results.Kind5xx, ServiceTime: time.Millisecond}
	if n := testing.AllocsPerRun(1000, func() { m.Attempt(&r, true) }); n != 0 {
		t.Fatalf("Attempt allocates %g times", n)
	}
}

func TestPhaseNamesAreUniqueLabelValues(t *testing.T) {
	// A parsed profile names every phase, uniquely; a schedule built otherwise may not.
	if got, want := strings.Join(PhaseNames(mustParse(t, testProfile).Schedule()), "|"), "warm|phase-2|cool"; got != want {
		t.Errorf("phase names %q, want %q", got, want)
	}
	s := &curve.Schedule{Spans: []curve.Span{{Name: "a"}, {}, {Name: "a"}}}
	if got, want := strings.Join(PhaseNames(s), "|"), "a|phase 2|a (3)"; got != want {
		t.Errorf("phase names %q, want %q", got, want)
	}
}

func TestConstLabels(t *testing.T) {
	for _, c := range []struct {
		labels map[string]string
		err    string
	}{
		{map[string]string{"run": "nightly-42", "team_b": "x"}, ""},
		{map[string]string{"2run": "x"}, "not a Prometheus label name"},
		{map[string]string{"run-id": "x"}, "not a Prometheus label name"},
		{map[string]string{"__name__": "x"}, "not a Prometheus label name"},
		{map[string]string{"phase": "x"}, "stormtest or Prometheus sets itself"},
		{map[string]string{"instance": "x"}, "stormtest or Prometheus sets itself"},
	} {
		l, err := ConstLabels("p", c.labels)
		if c.err == "" {
			if err != nil || l["profile"] != "p" || len(l) != len(c.labels)+1 {
				t.Errorf("%v: %v, %v", c.labels, l, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: error %v, want %q", c.labels, err, c.err)
		}
	}
	if _, err := ParseLabels([]string{"novalue"}); err == nil {
		t.Error("ParseLabels accepted a pair without =")
	}
}

// BenchmarkAttempt is the observer's cost per attempt on the consumer goroutine.
func BenchmarkAttempt(b *testing.B) {
	m, _ := newMetrics(b, testProfile, nil)
	r := results.Record{Phase: 1, Kind: results.KindOK, ServiceTime: 20 * time.Millisecond}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Attempt(&r, false)
	}
}
