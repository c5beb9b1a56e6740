// Package scrape reads a target's own Prometheus metrics while an attack runs, so that a run
// records both sides on one clock: what the clients saw and what the target said about itself.
//
// Start runs one goroutine per endpoint, each scraping every Interval (each scrape bounded by
// Timeout) and sending the result, a *results.Scrape, on C. The exposition is decoded by
// github.com/prometheus/common/expfmt: the Prometheus text format (asked for first), the
// protobuf format, and OpenMetrics as far as expfmt reads it (counters, gauges, histograms,
// summaries; not exemplars, nor the info and stateset types). It keeps the series the
// profile's match selectors name, or by default every gauge and counter, capped per endpoint;
// what it leaves out is named in Warnings.
//
// The scraper can never slow or stop an attack: it shares no connection, lock or goroutine
// with it, a failed or timed-out scrape is sent as a gap (Error set, no samples), and when the
// consumer of C falls behind the scrape is dropped and counted rather than waited on. The
// attack's consumer goroutine reads C beside vegeta's results and stores each scrape in the
// results file; Stop is called once, by the goroutine that called Start, after the attack.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stormtest/stormtest/internal/version"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// Endpoint is one metrics URL to scrape.
type Endpoint struct {
	// URL is what is fetched, credentials included; Shown is the same URL redacted, the only
	// form that appears in warnings and errors.
	URL, Shown string
}

// Config is what to scrape and how.
type Config struct {
	Endpoints []Endpoint
	// Observe gives the interval, timeout, match selectors and series cap, defaults applied.
	Observe profiles.Observe
	// Start is the run's time zero: scrapes are due at Start, Start+Interval… and stamped
	// on the run's clock (Start plus the monotonic time since).
	Start time.Time
	// Client fetches the endpoints; nil means a client of the scraper's own, so scrapes never
	// queue behind the attack's connections.
	Client *http.Client
}

// MaxBodyBytes bounds one exposition: a body past it is a failed scrape, not an allocation.
const MaxBodyBytes = 16 << 20

// maxDroppedTracked bounds the set of dropped series remembered for the warning.
const maxDroppedTracked = 10000

// queueLen is how many finished scrapes per endpoint may wait for the consumer; past it a
// scrape is dropped (and counted), because the scraper must never make the attack wait.
const queueLen = 64

// accept asks for the Prometheus text format first, which expfmt reads completely, then the
// delimited protobuf format, then OpenMetrics.
const accept = "text/plain;version=0.0.4;q=1.0," +
	"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9," +
	"application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"

// Scraper scrapes the endpoints of a Config until stopped.
type Scraper struct {
	c       chan *results.Scrape
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	eps     []*endpoint
	stopped bool
}

// Validate checks cfg before anything starts: endpoints that are URLs, selectors that parse.
func (cfg Config) Validate() error {
	if len(cfg.Endpoints) > results.MaxEndpoints {
		return fmt.Errorf("scrape: %d endpoints, at most %d", len(cfg.Endpoints), results.MaxEndpoints)
	}
	for _, e := range cfg.Endpoints {
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("scrape endpoint %s is not an http(s) URL with a host", e.Shown)
		}
	}
	_, err := selectors(cfg.Observe.Match)
	return err
}

func selectors(match []string) ([]profiles.Selector, error) {
	var out []profiles.Selector
	for _, m := range match {
		s, err := profiles.ParseSelector(m)
		if err != nil {
			return nil, fmt.Errorf("scrape: match %q: %w", m, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Start begins scraping in the background; ctx cancellation stops it as Stop does.
func Start(ctx context.Context, cfg Config) (*Scraper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sels, _ := selectors(cfg.Observe.Match)
	obs := cfg.Observe
	obs.ApplyDefaults()
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: time.Duration(obs.Timeout)}).DialContext,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     time.Minute,
		}}
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Scraper{c: make(chan *results.Scrape, queueLen*max(len(cfg.Endpoints), 1)), cancel: cancel}
	for i, e := range cfg.Endpoints {
		ep := &endpoint{index: uint8(i), Endpoint: e, client: client, sels: sels, obs: obs, start: cfg.Start,
			kept: map[seriesKey]bool{}, dropped: map[seriesKey]bool{}}
		s.eps = append(s.eps, ep)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ep.loop(ctx, s.c)
		}()
	}
	return s, nil
}

// C delivers the scrapes as they finish, gaps included. It is closed by Stop.
func (s *Scraper) C() <-chan *results.Scrape { return s.c }

// Stop ends scraping, waits for the scrapes in progress to give up, and closes C (after
// which the scrapes still queued on it can be drained). Call it once.
func (s *Scraper) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	s.wg.Wait()
	close(s.c)
}

// Warnings say, one line per endpoint, what was left out: series past the cap or too long to
// store, and scrapes dropped because the consumer fell behind. Call it after Stop.
func (s *Scraper) Warnings() []string {
	var out []string
	for _, ep := range s.eps {
		out = append(out, ep.warnings()...)
	}
	return out
}

type seriesKey struct{ name, labels string }

// endpoint is one endpoint's scrape loop; everything but the counters is owned by its goroutine.
type endpoint struct {
	Endpoint
	index  uint8
	client *http.Client
	sels   []profiles.Selector
	obs    profiles.Observe
	start  time.Time

	kept    map[seriesKey]bool
	dropped map[seriesKey]bool // series left out by the cap
	tooLong int                // samples of series longer than results.MaxSeriesLen
	lost    atomic.Uint64      // scrapes dropped because the queue was full
}

// loop scrapes at Start, Start+Interval… until ctx is done. A scrape that overruns its slot
// (it cannot take longer than Timeout ≤ Interval) is followed by the next one due.
func (e *endpoint) loop(ctx context.Context, out chan<- *results.Scrape) {
	interval := time.Duration(e.obs.Interval)
	for k := int64(0); ; k++ {
		due := e.start.Add(time.Duration(k) * interval)
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		} else if -wait > interval {
			// Behind by more than a slot (a stalled machine): skip to the next due time
			// rather than fire a burst of catch-up scrapes.
			k += int64(-wait / interval)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		sc := e.scrape(ctx)
		if ctx.Err() != nil && sc.Error != "" {
			return // stopped mid-scrape: not a gap of the target's
		}
		select {
		case out <- sc:
		default:
			e.lost.Add(1)
		}
	}
}

// now is the run's clock: Start plus the monotonic time since, in Unix nanoseconds, the
// clock the attack stamps its records with.
func (e *endpoint) now() int64 { return e.start.UnixNano() + int64(time.Since(e.start)) }

// scrape fetches and decodes the endpoint once.
func (e *endpoint) scrape(ctx context.Context) *results.Scrape {
	sc := &results.Scrape{Endpoint: e.index, At: e.now()}
	began := time.Now()
	fams, err := e.fetch(ctx)
	sc.Took = time.Since(began)
	if err != nil {
		sc.Error = err.Error()
		return sc
	}
	sc.Samples = e.keep(fams)
	return sc
}

// fetch GETs the endpoint within the timeout and decodes its metric families.
func (e *endpoint) fetch(ctx context.Context) ([]*dto.MetricFamily, error) {
	timeout := time.Duration(e.obs.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("bad request: %s", describe(err))
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", version.Generator())
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprintf("%g", timeout.Seconds()))
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("timeout after %s", timeout)
		}
		return nil, errors.New(describe(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body := &limitedBody{r: resp.Body, left: MaxBodyBytes}
	dec := expfmt.NewDecoder(body, expfmt.ResponseFormat(resp.Header))
	var fams []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			switch {
			case body.over:
				return nil, fmt.Errorf("exposition larger than %d MiB", MaxBodyBytes>>20)
			case ctx.Err() == context.DeadlineExceeded:
				return nil, fmt.Errorf("timeout after %s (reading the body)", timeout)
			}
			return nil, fmt.Errorf("not a Prometheus exposition (%s): %s", contentType(resp), clipMsg(describe(err)))
		}
		fams = append(fams, mf)
	}
	return fams, nil
}

// limitedBody fails a read past its limit (io.LimitReader would end it quietly, and a cut
// exposition can parse).
type limitedBody struct {
	r    io.Reader
	left int64
	over bool
}

var errTooLarge = errors.New("exposition too large")

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		l.over = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return "Content-Type " + clipMsg(ct)
	}
	return "no Content-Type"
}

// describe is err without the URL (which may carry credentials) in it.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func clipMsg(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// A series of an exporter's own runtime rather than of the service: kept by default only
// once the service's own series are in, since the cap would otherwise fill with them.
var runtimePrefixes = []string{"go_", "process_", "promhttp_", "python_", "jvm_", "nodejs_"}

func isRuntime(name string) bool {
	for _, p := range runtimePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// candidate is one series of one scrape before the selection.
type candidate struct {
	family string // the metric family, for matching and for the warning
	name   string
	labels model.LabelSet
	typ    results.MetricType
	value  float64
}

// keep turns the decoded families into the samples stored: the series the selectors name
// (or by default the gauges and counters), within the cap, which is filled in a stable order
// on the first scrapes and then holds: a series once kept is kept for the whole run.
func (e *endpoint) keep(fams []*dto.MetricFamily) []results.Sample {
	var cands []candidate
	for _, mf := range fams {
		cands = append(cands, flatten(mf)...)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		ri, rj := isRuntime(cands[i].name), isRuntime(cands[j].name)
		if ri != rj {
			return !ri
		}
		if cands[i].name != cands[j].name {
			return cands[i].name < cands[j].name
		}
		return cands[i].labels.String() < cands[j].labels.String()
	})
	var out []results.Sample
	for _, c := range cands {
		if !e.wanted(c) {
			continue
		}
		labels := ""
		if len(c.labels) > 0 {
			labels = c.labels.String()
		}
		if len(c.name) > results.MaxSeriesLen || len(labels) > results.MaxSeriesLen {
			e.tooLong++
			continue
		}
		k := seriesKey{c.name, labels}
		if !e.kept[k] {
			if len(e.kept) >= e.obs.MaxSeries {
				if len(e.dropped) < maxDroppedTracked {
					e.dropped[k] = true
				}
				continue
			}
			e.kept[k] = true
		}
		out = append(out, results.Sample{Series: results.Series{Endpoint: e.index, Type: c.typ, Name: c.name, Labels: labels}, Value: c.value})
	}
	return out
}

// wanted applies the selectors; without any, every gauge and counter is wanted.
func (e *endpoint) wanted(c candidate) bool {
	if len(e.sels) == 0 {
		return c.typ != results.MetricUntyped
	}
	labels := make(map[string]string, len(c.labels))
	for k, v := range c.labels {
		labels[string(k)] = string(v)
	}
	for _, s := range e.sels {
		if s.Matches(c.name, labels) || (c.family != c.name && s.Matches(c.family, labels)) {
			return true
		}
	}
	return false
}

// flatten turns one metric family into series: a gauge or counter is itself; a summary or a
// histogram gives its _sum and _count, as counters (their quantiles and buckets are not
// kept). An untyped series named *_total is read as a counter, the naming convention (and
// how expfmt returns an OpenMetrics counter).
func flatten(mf *dto.MetricFamily) []candidate {
	var out []candidate
	name := mf.GetName()
	for _, m := range mf.GetMetric() {
		labels := model.LabelSet{}
		for _, lp := range m.GetLabel() {
			labels[model.LabelName(lp.GetName())] = model.LabelValue(lp.GetValue())
		}
		add := func(n string, typ results.MetricType, v float64) {
			out = append(out, candidate{family: name, name: n, labels: labels, typ: typ, value: v})
		}
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			add(name, results.MetricGauge, m.GetGauge().GetValue())
		case dto.MetricType_COUNTER:
			add(name, results.MetricCounter, m.GetCounter().GetValue())
		case dto.MetricType_UNTYPED:
			typ := results.MetricUntyped
			if strings.HasSuffix(name, "_total") {
				typ = results.MetricCounter
			}
			add(name, typ, m.GetUntyped().GetValue())
		case dto.MetricType_SUMMARY:
			add(name+"_sum", results.MetricCounter, m.GetSummary().GetSampleSum())
			add(name+"_count", results.MetricCounter, float64(m.GetSummary().GetSampleCount()))
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			typ := results.MetricCounter
			if mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM {
				typ = results.MetricGauge
			}
			add(name+"_sum", typ, h.GetSampleSum())
			count := float64(h.GetSampleCount())
			if h.SampleCountFloat != nil {
				count = h.GetSampleCountFloat()
			}
			add(name+"_count", typ, count)
		}
	}
	return out
}

// warnings says what this endpoint left out.
func (e *endpoint) warnings() []string {
	var out []string
	if len(e.dropped) > 0 {
		seen := map[string]bool{}
		var names []string
		for k := range e.dropped {
			if !seen[k.name] {
				seen[k.name] = true
				names = append(names, k.name)
			}
		}
		slices.Sort(names)
		const shown = 8
		list := strings.Join(names[:min(len(names), shown)], ", ")
		if len(names) > shown {
			list += fmt.Sprintf(" and %d more", len(names)-shown)
		}
		what := "gauges and counters"
		if len(e.sels) > 0 {
			what = "matching series"
		}
		out = append(out, fmt.Sprintf("scrape %s: kept the first %d %s (observe.max_series) and dropped %d more series (%s); "+
			"name the ones you need with observe.match (--scrape-match) or raise max_series", e.Shown, e.obs.MaxSeries, what, len(e.dropped), list))
	}
	if e.tooLong > 0 {
		out = append(out, fmt.Sprintf("scrape %s: %d samples of series with a name or labels longer than %d bytes were not stored",
			e.Shown, e.tooLong, results.MaxSeriesLen))
	}
	if n := e.lost.Load(); n > 0 {
		out = append(out, fmt.Sprintf("scrape %s: %d scrapes were dropped because the recorder fell behind; the attack was not slowed", e.Shown, n))
	}
	return out
}
