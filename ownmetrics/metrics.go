// Package ownmetrics is stormtest's own live metrics, for a Prometheus (and a Grafana) that
// watches the generator while a run goes: a per-run prometheus.Registry fed by an
// attack.Observer (Metrics), served on /metrics for a Prometheus that scrapes generators
// (Server), and pushed every second with Prometheus remote write (Pusher), each sample stamped
// with the instant it was taken rather than the instant it reached Prometheus.
//
// Contract: every metric is named stormtest_* (Names lists them; docs/metrics.md describes
// them), and none of this can slow or stop the attack. The observer does only atomic adds on
// the attack's hot path; reading the metrics (a scrape, a push) happens on other goroutines;
// the pusher drops its oldest samples rather than wait for a slow or failing receiver.
package ownmetrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/model"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/curve"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// Metric names: the whole of what stormtest exports (besides the standard process_* metrics
// of the generator's own process). The Grafana dashboard may use only these.
const (
	NameIntended  = "stormtest_intended_requests_total"
	NameRequests  = "stormtest_requests_total"
	NameSent      = "stormtest_sent_total"
	NameInFlight  = "stormtest_in_flight"
	NameCompleted = "stormtest_completed_total"
	NameGoodput   = "stormtest_goodput_total"
	NameErrors    = "stormtest_errors_total"
	NameRetries   = "stormtest_retries_total"
	NameLatency   = "stormtest_latency_seconds"
	NamePhase     = "stormtest_phase"
	NameRWDropped = "stormtest_remote_write_dropped_samples_total"
	NameRWFailed  = "stormtest_remote_write_failures_total"
)

// Names lists every series name stormtest exports, histogram series included.
func Names() []string {
	return []string{
		NameIntended, NameRequests, NameSent, NameInFlight, NameCompleted, NameGoodput, NameErrors,
		NameRetries, NameLatency + "_bucket", NameLatency + "_sum", NameLatency + "_count", NamePhase,
		NameRWDropped, NameRWFailed,
	}
}

// latencyBuckets are the histogram's upper bounds in seconds; the profile's SLO is added, so
// that the share of attempts within it is exact rather than interpolated.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// reserved label names: stormtest's own labels and the ones Prometheus attaches to a target.
var reserved = map[string]bool{"phase": true, "kind": true, "le": true, "job": true, "instance": true, "profile": true}

// Options configure a run's Metrics.
type Options struct {
	// Profile is the profile as run (required): its phases name the phase label, its rate
	// curve gives the intended count, its SLO decides goodput.
	Profile *profiles.Profile
	// Progress is the run's live progress (required): sent, first attempts, in flight.
	Progress *attack.Progress
	// Labels are constant labels put on every series (e.g. run="nightly-42"), besides
	// profile. Names must be Prometheus label names and not one stormtest uses itself.
	Labels map[string]string
}

// Metrics is one run's metrics. It is the run's attack.Observer: Begin and Attempt are called
// by attack.Run (Attempt from its consumer goroutine only); Registry is read by any goroutine.
type Metrics struct {
	reg      *prometheus.Registry
	labels   prometheus.Labels // on every series
	sched    *curve.Schedule
	progress *attack.Progress
	slo      time.Duration
	start    atomic.Int64 // the run's time zero, Unix ns; 0 until Begin

	// Indexed by phase (errors also by kind); resolved once here, so Attempt does no label
	// lookup, only the atomic adds of the counters and the histogram.
	completed, goodput, retries []prometheus.Counter
	errors                      [][]prometheus.Counter // nil for KindOK
	latency                     []prometheus.Observer
}

// New registers a run's metrics in a registry of their own (no global state: two runs in one
// process do not mix).
func New(opt Options) (*Metrics, error) {
	if opt.Profile == nil || opt.Progress == nil {
		return nil, errors.New("ownmetrics: no profile or progress")
	}
	constLabels, err := ConstLabels(opt.Profile.Name, opt.Labels)
	if err != nil {
		return nil, err
	}
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		labels:   constLabels,
		sched:    opt.Profile.Schedule(),
		progress: opt.Progress,
		slo:      time.Duration(opt.Profile.SLO.Latency),
	}
	phases := PhaseNames(m.sched)
	kinds := results.Kinds()

	buckets := latencyBuckets
	if s := m.slo.Seconds(); s > 0 && !slices.Contains(buckets, s) {
		buckets = append(slices.Clone(buckets), s)
		sort.Float64s(buckets)
	}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Name: name, Help: help, ConstLabels: constLabels}
	}
	completed := prometheus.NewCounterVec(prometheus.CounterOpts(opts(NameCompleted,
		"Attempts completed (first attempts and retries), by the phase in force at their intended start.")), []string{"phase"})
	goodput := prometheus.NewCounterVec(prometheus.CounterOpts(opts(NameGoodput,
		"Successful attempts whose request latency (from the first attempt's intended start) is within the profile's SLO.")), []string{"phase"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts(opts(NameErrors,
		"Attempts that failed, by kind (timeout, refused, reset, 5xx, 429, 4xx, 3xx, other).")), []string{"phase", "kind"})
	retries := prometheus.NewCounterVec(prometheus.CounterOpts(opts(NameRetries,
		"Attempts the client decided to retry.")), []string{"phase"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameLatency, ConstLabels: constLabels, Buckets: buckets,
		Help: "Attempt latency from its intended start (generator lag included: no coordinated omission), seconds."}, []string{"phase"})

	collectors := []prometheus.Collector{completed, goodput, errs, retries, latency,
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts(NameIntended,
			"First attempts the profile's rate curve had due by now (open-loop phases).")), m.intended),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts(NameRequests,
			"Requests started: first attempts sent.")), func() float64 { return float64(m.progress.Requests.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts(NameSent,
			"Attempts sent: first attempts and retries.")), func() float64 { return float64(m.progress.Sent.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts(NameInFlight,
			"Attempts sent and not yet completed.")), func() float64 { return float64(m.progress.InFlight()) }),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	for i, name := range phases {
		i := i
		o := opts(NamePhase, "1 for the phase the profile is in now, 0 for the others (all 0 before the start and after the end).")
		o.ConstLabels = withLabel(constLabels, "phase", name)
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts(o), func() float64 {
			if ph, ok := m.phaseNow(); ok && ph == i {
				return 1
			}
			return 0
		}))
		// Every series exists from the start at 0, so that rate() sees a run's first
		// increments instead of starting the series at them.
		m.completed = append(m.completed, completed.WithLabelValues(name))
		m.goodput = append(m.goodput, goodput.WithLabelValues(name))
		m.retries = append(m.retries, retries.WithLabelValues(name))
		m.latency = append(m.latency, latency.WithLabelValues(name))
		byKind := make([]prometheus.Counter, len(kinds))
		for _, k := range kinds {
			if k != results.KindOK {
				byKind[k] = errs.WithLabelValues(name, k.String())
			}
		}
		m.errors = append(m.errors, byKind)
	}
	for _, c := range collectors {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("ownmetrics: %w", err)
		}
	}
	return m, nil
}

// Registry is the run's registry, for a Server, a Pusher or a test to gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ConstLabels are the labels on every series of the run (profile and Options.Labels).
func (m *Metrics) ConstLabels() prometheus.Labels { return m.labels }

// Begin implements attack.Observer: the run's time zero, for the intended count and the phase.
func (m *Metrics) Begin(start time.Time) { m.start.Store(start.UnixNano()) }

// Attempt implements attack.Observer. It runs on the attack's consumer goroutine for every
// attempt: a few atomic adds, no lock, no allocation (BenchmarkAttempt checks).
func (m *Metrics) Attempt(r *results.Record, retried bool) {
	ph := min(int(r.Phase), len(m.completed)-1)
	m.completed[ph].Inc()
	if r.Kind == results.KindOK {
		if m.slo <= 0 || r.RequestLatency() <= m.slo {
			m.goodput[ph].Inc()
		}
	} else if int(r.Kind) < len(m.errors[ph]) {
		m.errors[ph][r.Kind].Inc()
	}
	if retried {
		m.retries[ph].Inc()
	}
	m.latency[ph].Observe(r.Latency().Seconds())
}

// elapsed is the time since the run's time zero, and whether the run has begun.
func (m *Metrics) elapsed() (time.Duration, bool) {
	s := m.start.Load()
	if s == 0 {
		return 0, false
	}
	return time.Since(time.Unix(0, s)), true
}

func (m *Metrics) intended() float64 {
	t, ok := m.elapsed()
	if !ok {
		return 0
	}
	// The n-th first attempt (from 0) is due at the time the curve's integral reaches n, so
	// those due before t number ceil(CountAt(t)).
	return math.Ceil(m.sched.CountAt(t) - 1e-9)
}

func (m *Metrics) phaseNow() (int, bool) {
	t, ok := m.elapsed()
	if !ok || t < 0 || t >= m.sched.Duration() {
		return 0, false
	}
	return m.sched.PhaseAt(t), true
}

// PhaseNames are the phase label's values: a phase's name, "phase N" (from 1, as analyze
// names them) for an unnamed one, and "name (N)" for a name an earlier phase already has.
func PhaseNames(s *curve.Schedule) []string {
	names := make([]string, len(s.Spans))
	seen := map[string]bool{}
	for i, sp := range s.Spans {
		n := sp.Name
		if n == "" {
			n = fmt.Sprintf("phase %d", i+1)
		}
		if seen[n] {
			n = fmt.Sprintf("%s (%d)", n, i+1)
		}
		seen[n] = true
		names[i] = n
	}
	return names
}

// ConstLabels are the labels on every series of a run: profile, and the user's extra ones,
// checked to be label names Prometheus accepts and not ones stormtest or Prometheus use.
func ConstLabels(profile string, extra map[string]string) (prometheus.Labels, error) {
	l := prometheus.Labels{"profile": profile}
	for k, v := range extra {
		switch {
		case !model.LabelName(k).IsValidLegacy() || len(k) >= 2 && k[:2] == "__":
			return nil, fmt.Errorf("metrics label %q is not a Prometheus label name (letters, digits and _, not starting with a digit or __)", k)
		case reserved[k]:
			return nil, fmt.Errorf("metrics label %q is one stormtest or Prometheus sets itself; choose another name", k)
		}
		l[k] = v
	}
	return l, nil
}

func withLabel(l prometheus.Labels, k, v string) prometheus.Labels {
	out := make(prometheus.Labels, len(l)+1)
	for a, b := range l {
		out[a] = b
	}
	out[k] = v
	return out
}
