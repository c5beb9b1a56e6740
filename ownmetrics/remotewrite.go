package ownmetrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	prompb "buf.build/gen/go/prometheus/prometheus/protocolbuffers/go"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/internal/version"
)

// PushOptions configure a Pusher; zero values take the defaults.
type PushOptions struct {
	// URL is the remote-write endpoint (Prometheus: /api/v1/write with
	// --web.enable-remote-write-receiver). user:password@ in it is sent as basic auth and
	// never printed.
	URL string
	// Interval between samples: 1s.
	Interval time.Duration
	// Timeout of one push: 5s.
	Timeout time.Duration
	// Queue is how many samples of every series are kept while the receiver is down or slow:
	// 300 (five minutes at 1s). Beyond it the oldest are dropped and counted.
	Queue int
	// Labels are added to every pushed series where it has no label of that name: job and
	// instance, which a scraping Prometheus would have attached.
	Labels map[string]string
	// ConstLabels go on the pusher's own counters, as on the run's other metrics
	// (Metrics.ConstLabels).
	ConstLabels prometheus.Labels
	// Warn is told, once, the first time a push fails; it is called from the pusher's
	// goroutine. nil: no warning.
	Warn func(string)
	// Client sends the pushes; nil: a client of its own.
	Client *http.Client
}

// PushStats is what a Pusher did, as Close reports it.
type PushStats struct {
	Pushed  int // samples the receiver accepted
	Dropped int // samples dropped: the queue was full, or the receiver refused them (4xx)
	Unsent  int // samples still queued when Close gave up
	Failed  int // failed pushes
	LastErr error
}

// Pusher pushes a registry's metrics with Prometheus remote write (protobuf, snappy) every
// Interval, each sample stamped with the instant it was gathered, so that a sample queued
// while the receiver was away lands at its own time. Two goroutines of its own do the work:
// one gathers on the tick into a bounded queue, the other sends; neither ever waits for the
// attack, and the attack never waits for them.
type Pusher struct {
	opt     PushOptions
	gather  prometheus.Gatherer
	target  *url.URL // without userinfo
	user    *url.Userinfo
	shown   string // the URL with credentials redacted, for messages
	dropped prometheus.Counter
	failed  prometheus.Counter

	mu     sync.Mutex
	queue  []snapshot // oldest first
	queued int        // samples in queue
	seq    uint64     // the last snapshot's number
	lastTS int64      // the last snapshot's timestamp, ms: timestamps strictly increase
	stats  PushStats
	warned bool

	wake     chan struct{}   // a snapshot was queued
	stopTick chan struct{}   // closed by Close: stop gathering
	tickDone chan struct{}   // closed by tick when it has stopped
	closed   chan struct{}   // closed by Close after the last snapshot: flush and end
	flushCtx context.Context // Close's ctx; written before closed is closed
	sendDone chan struct{}   // closed by send when it has ended
}

// snapshot is every series of the registry at one instant.
type snapshot struct {
	seq    uint64
	series []*prompb.TimeSeries
}

// ParseRemoteWriteURL checks a remote-write URL before anything starts: an http(s) URL with
// a host. Its error never contains the URL's credentials.
func ParseRemoteWriteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("remote-write URL %q is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:9090/api/v1/write)",
			attack.RedactURL(raw, nil))
	}
	return u, nil
}

// StartPusher starts pushing reg's metrics to opt.URL, and registers the pusher's own
// counters (dropped samples, failed pushes) in reg. Close stops it.
func StartPusher(reg *prometheus.Registry, opt PushOptions) (*Pusher, error) {
	u, err := ParseRemoteWriteURL(opt.URL)
	if err != nil {
		return nil, err
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.Queue <= 0 {
		opt.Queue = 300
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: opt.Timeout}
	}
	p := &Pusher{
		opt:    opt,
		gather: reg,
		user:   u.User,
		shown:  attack.RedactURL(opt.URL, nil),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: NameRWDropped, ConstLabels: opt.ConstLabels,
			Help: "Samples the remote-write pusher dropped: its queue was full, or the receiver refused them."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: NameRWFailed, ConstLabels: opt.ConstLabels,
			Help: "Remote-write pushes that failed."}),
		wake:     make(chan struct{}, 1),
		stopTick: make(chan struct{}),
		tickDone: make(chan struct{}),
		closed:   make(chan struct{}),
		sendDone: make(chan struct{}),
	}
	target := *u
	target.User = nil
	p.target = &target
	for _, c := range []prometheus.Collector{p.dropped, p.failed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ownmetrics: %w", err)
		}
	}
	go p.tick()
	go p.send()
	return p, nil
}

// tick gathers a snapshot every Interval until Close.
func (p *Pusher) tick() {
	defer close(p.tickDone)
	t := time.NewTicker(p.opt.Interval)
	defer t.Stop()
	p.snap(time.Now())
	for {
		select {
		case now := <-t.C:
			p.snap(now)
		case <-p.stopTick:
			return
		}
	}
}

// snap gathers the registry now and queues it, dropping the oldest samples beyond the queue.
func (p *Pusher) snap(now time.Time) {
	fams, err := p.gather.Gather()
	if err != nil && len(fams) == 0 {
		p.warn(fmt.Sprintf("gathering metrics for remote write: %v", err))
		return
	}
	p.mu.Lock()
	ts := now.UnixMilli()
	if ts <= p.lastTS {
		ts = p.lastTS + 1 // a receiver rejects two samples of a series at one instant
	}
	p.lastTS = ts
	p.seq++
	s := snapshot{seq: p.seq, series: toTimeSeries(fams, ts, p.opt.Labels)}
	p.queue = append(p.queue, s)
	p.queued += len(s.series)
	for len(p.queue) > p.opt.Queue {
		p.dropOldestLocked()
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pusher) dropOldestLocked() {
	n := len(p.queue[0].series)
	p.queue = p.queue[1:]
	p.queued -= n
	p.stats.Dropped += n
	p.dropped.Add(float64(n))
}

// maxBatch bounds the snapshots sent in one request after an outage.
const maxBatch = 60

// send pushes queued snapshots, oldest first, until Close has flushed or given up. A push
// that fails for a reason that may pass (network, 5xx, 429) is retried with backoff; one the
// receiver refuses (any other 4xx) is dropped, as Prometheus's own remote write does.
func (p *Pusher) send() {
	defer close(p.sendDone)
	ctx, closing := context.Background(), false
	var backoff time.Duration
	closeFails := 0
	for {
		if !closing {
			select {
			case <-p.closed:
				ctx, closing = p.flushCtx, true // flushCtx is set before closed is closed
			default:
			}
		}
		p.mu.Lock()
		batch := append([]snapshot(nil), p.queue[:min(len(p.queue), maxBatch)]...)
		p.mu.Unlock()
		if len(batch) == 0 {
			if closing {
				return // everything is sent
			}
			select {
			case <-p.wake:
			case <-p.closed:
			}
			continue
		}
		err := p.push(ctx, batch)
		var perm *permanentError
		permanent := errors.As(err, &perm)
		p.mu.Lock()
		if err == nil || permanent {
			// Remove what was sent; the queue may have dropped some of it meanwhile.
			last := batch[len(batch)-1].seq
			for len(p.queue) > 0 && p.queue[0].seq <= last {
				n := len(p.queue[0].series)
				p.queue, p.queued = p.queue[1:], p.queued-n
				if err == nil {
					p.stats.Pushed += n
				} else {
					p.stats.Dropped += n
					p.dropped.Add(float64(n))
				}
			}
		}
		if err != nil {
			p.stats.Failed++
			p.stats.LastErr = err
			p.failed.Inc()
		}
		p.mu.Unlock()
		if err == nil || permanent {
			backoff, closeFails = 0, 0
		}
		if err != nil {
			p.warn(fmt.Sprintf("pushing metrics to %s failed (%v); the attack goes on, and up to %d samples of every series are kept and sent again",
				p.shown, err, p.opt.Queue))
		}
		if err != nil && !permanent {
			backoff = min(max(2*backoff, p.opt.Interval), 30*time.Second)
			if closing {
				// Close's ctx bounds the tries, and a receiver that keeps failing gets three:
				// the run is over and its results file has everything.
				if closeFails++; closeFails >= 3 {
					return
				}
				backoff = min(backoff, time.Second)
			}
			if !p.sleep(ctx, closing, backoff) {
				return
			}
		}
	}
}

// sleep waits d before a retry, less if Close begins; false when ctx (Close's) has ended.
func (p *Pusher) sleep(ctx context.Context, closing bool, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	closed := p.closed
	if closing {
		closed = nil // already closing: wait the backoff (bounded by ctx)
	}
	select {
	case <-t.C:
	case <-closed:
	case <-ctx.Done():
		return false
	}
	return true
}

// permanentError is a push the receiver refused: sending it again cannot help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// push sends one WriteRequest holding the batch's snapshots, in order.
func (p *Pusher) push(ctx context.Context, batch []snapshot) error {
	var series []*prompb.TimeSeries
	for _, s := range batch {
		series = append(series, s.series...)
	}
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: series})
	if err != nil {
		return &permanentError{fmt.Errorf("encoding: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, p.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.target.String(), bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", version.Generator())
	if p.user != nil {
		pw, _ := p.user.Password()
		req.SetBasicAuth(p.user.Username(), pw)
	}
	resp, err := p.opt.Client.Do(req)
	if err != nil {
		// The error names the URL net/http was given: the one without credentials.
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("HTTP %s: %s", resp.Status, bytes.TrimSpace(msg))
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests {
		return &permanentError{err}
	}
	return err
}

func (p *Pusher) warn(msg string) {
	p.mu.Lock()
	first := !p.warned
	p.warned = true
	p.mu.Unlock()
	if first && p.opt.Warn != nil {
		p.opt.Warn(msg)
	}
}

// Close takes a last snapshot (the run's final figures, once every attempt is recorded),
// then sends what is queued until it is all sent or ctx ends, and reports. Call it once, after
// the attack. ctx bounds the flush, and a receiver that fails three times running then is
// given up on.
func (p *Pusher) Close(ctx context.Context) PushStats {
	close(p.stopTick)
	<-p.tickDone
	p.snap(time.Now())
	p.flushCtx = ctx
	close(p.closed)
	<-p.sendDone
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Unsent = p.queued
	return st
}

// toTimeSeries turns gathered families into one sample per series at ts (ms), the way a
// scrape of the text format would name them: histograms as _bucket{le}, _sum and _count.
// Labels are sorted by name, as remote write requires.
func toTimeSeries(fams []*dto.MetricFamily, ts int64, extra map[string]string) []*prompb.TimeSeries {
	var out []*prompb.TimeSeries
	add := func(name string, m *dto.Metric, v float64, k, kv string) {
		labels := []*prompb.Label{{Name: "__name__", Value: name}}
		has := map[string]bool{}
		for _, l := range m.GetLabel() {
			labels = append(labels, &prompb.Label{Name: l.GetName(), Value: l.GetValue()})
			has[l.GetName()] = true
		}
		if k != "" {
			labels = append(labels, &prompb.Label{Name: k, Value: kv})
			has[k] = true
		}
		for n, v := range extra {
			if !has[n] {
				labels = append(labels, &prompb.Label{Name: n, Value: v})
			}
		}
		sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
		out = append(out, &prompb.TimeSeries{Labels: labels, Samples: []*prompb.Sample{{Value: v, Timestamp: ts}}})
	}
	for _, f := range fams {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m, m.GetCounter().GetValue(), "", "")
			case dto.MetricType_GAUGE:
				add(name, m, m.GetGauge().GetValue(), "", "")
			case dto.MetricType_UNTYPED:
				add(name, m, m.GetUntyped().GetValue(), "", "")
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					if !math.IsInf(b.GetUpperBound(), +1) {
						add(name+"_bucket", m, float64(b.GetCumulativeCount()), "le", formatFloat(b.GetUpperBound()))
					}
				}
				add(name+"_bucket", m, float64(h.GetSampleCount()), "le", "+Inf")
				add(name+"_sum", m, h.GetSampleSum(), "", "")
				add(name+"_count", m, float64(h.GetSampleCount()), "", "")
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, m, q.GetValue(), "quantile", formatFloat(q.GetQuantile()))
				}
				add(name+"_sum", m, s.GetSampleSum(), "", "")
				add(name+"_count", m, float64(s.GetSampleCount()), "", "")
			}
		}
	}
	return out
}

// formatFloat renders a bucket bound as the text exposition format does, so that pushed and
// scraped series carry the same le values.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
