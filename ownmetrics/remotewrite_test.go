package ownmetrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	prompb "buf.build/gen/go/prometheus/prometheus/protocolbuffers/go"
	"github.com/golang/snappy"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// receiver is a remote-write endpoint on loopback that decodes what it is sent, and answers
// with fail(n) for the n-th push (from 0), 204 when fail returns 0.
type receiver struct {
	t    *testing.T
	fail func(n int) int

	mu      sync.Mutex
	pushes  int
	samples map[string][]*prompb.Sample // by series (labels rendered), in arrival order
	series  []*prompb.TimeSeries
	firstOK time.Time
	auth    []string
}

func newReceiver(t *testing.T, fail func(int) int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, fail: fail, samples: map[string][]*prompb.Sample{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := rc.pushes
	rc.pushes++
	if u, p, ok := r.BasicAuth(); ok {
		rc.auth = append(rc.auth, u+":"+p)
	}
	if code := rc.fail(n); code != 0 {
		http.Error(w, "not now", code)
		return
	}
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
		r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		rc.t.Errorf("headers %v", r.Header)
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		rc.t.Errorf("snappy: %v", err)
		return
	}
	var req prompb.WriteRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		rc.t.Errorf("protobuf: %v", err)
		return
	}
	if rc.firstOK.IsZero() {
		rc.firstOK = time.Now()
	}
	for _, ts := range req.GetTimeseries() {
		if !sort.SliceIsSorted(ts.GetLabels(), func(i, j int) bool { return ts.GetLabels()[i].GetName() < ts.GetLabels()[j].GetName() }) {
			rc.t.Errorf("labels not sorted: %v", ts.GetLabels())
		}
		key := renderLabels(ts.GetLabels())
		rc.samples[key] = append(rc.samples[key], ts.GetSamples()...)
		rc.series = append(rc.series, ts)
	}
	w.WriteHeader(http.StatusNoContent)
}

func renderLabels(ls []*prompb.Label) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
	}
	return b.String()
}

// find returns the samples of the one series named name whose labels include want.
func (rc *receiver) find(t *testing.T, name string, want map[string]string) []*prompb.Sample {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var keys []string
	for key := range rc.samples {
		ok := strings.HasPrefix(key, "__name__="+name+",")
		for k, v := range want {
			ok = ok && strings.Contains(","+key, ","+k+"="+v+",")
		}
		if ok {
			keys = append(keys, key)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("%d series %s%v received, want 1: %v", len(keys), name, want, keys)
	}
	return rc.samples[keys[0]]
}

type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(m string) { w.mu.Lock(); w.msgs = append(w.msgs, m); w.mu.Unlock() }
func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// A receiver that is away for the first pushes gets the backlog when it is back, each sample
// at the instant it was taken (not when it arrived: vegeta#637), in order, with the final
// figures last; the failure is warned about once, and the password is sent but never shown.
func TestPushKeepsEachSamplesOwnTimestamp(t *testing.T) {
	rc, srv := newReceiver(t, func(n int) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	m, progress := newMetrics(t, testProfile, nil)
	var warn warnings
	url := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1) + "/api/v1/write"
	started := time.Now()
	p, err := StartPusher(m.Registry(), PushOptions{URL: url, Interval: 50 * time.Millisecond, Labels: map[string]string{"job": "stormtest", "instance": "h1"}, Warn: warn.add})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		progress.Requests.Add(1)
		time.Sleep(40 * time.Millisecond)
	}
	progress.Requests.Add(5)
	st := p.Close(context.Background())
	closed := time.Now()

	if st.Unsent != 0 || st.Dropped != 0 || st.Failed != 3 || st.Pushed == 0 {
		t.Errorf("stats %+v: want everything pushed after 3 failures", st)
	}
	if w := warn.all(); len(w) != 1 || !strings.Contains(w[0], "503") || strings.Contains(w[0], "s3cret") || strings.Contains(w[0], "alice") {
		t.Errorf("warnings %q: want one, naming the failure, credentials redacted", w)
	}
	for _, a := range rc.auth {
		if a != "alice:s3cret" {
			t.Errorf("basic auth %q", a)
		}
	}
	samples := rc.find(t, NameRequests, map[string]string{"job": "stormtest", "instance": "h1", "profile": "t"})
	if len(samples) < 5 {
		t.Fatalf("%d samples, want one every 50ms for ~400ms", len(samples))
	}
	for i := 1; i < len(samples); i++ {
		if samples[i].GetTimestamp() <= samples[i-1].GetTimestamp() || samples[i].GetValue() < samples[i-1].GetValue() {
			t.Fatalf("samples out of order: %v then %v", samples[i-1], samples[i])
		}
	}
	first, last := samples[0], samples[len(samples)-1]
	// The first sample was taken at the start, and delivered only after three failed pushes
	// and their backoff: its timestamp is its own.
	if first.GetTimestamp() < started.UnixMilli() || first.GetTimestamp() > started.UnixMilli()+100 {
		t.Errorf("first sample at %d, want within 100ms after the start %d", first.GetTimestamp(), started.UnixMilli())
	}
	if gap := rc.firstOK.UnixMilli() - first.GetTimestamp(); gap < 200 {
		t.Errorf("first sample arrived %dms after it was taken; the test wants a backlog of at least 200ms", gap)
	}
	if last.GetValue() != 15 || last.GetTimestamp() > closed.UnixMilli() {
		t.Errorf("last sample %v: want the final 15, taken at Close", last)
	}
	// Histograms arrive as a scrape would name them.
	if s := rc.find(t, NameLatency+"_bucket", map[string]string{"phase": "warm", "le": "+Inf"}); len(s) == 0 {
		t.Error("no +Inf bucket")
	}
	if s := rc.find(t, NameLatency+"_bucket", map[string]string{"phase": "warm", "le": "0.3"}); len(s) == 0 {
		t.Error("no bucket at the SLO")
	}
}

// A receiver that never answers well: the queue keeps the newest samples, drops and counts
// the oldest, and Close gives up when its ctx ends.
func TestPushQueueDropsOldestAndCloseIsBounded(t *testing.T) {
	_, srv := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	m, _ := newMetrics(t, testProfile, nil)
	var warn warnings
	p, err := StartPusher(m.Registry(), PushOptions{URL: srv.URL, Interval: 10 * time.Millisecond, Queue: 3, Warn: warn.add})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	st := p.Close(ctx)
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("Close took %s with a 300ms ctx", took)
	}
	perSnapshot := len(toTimeSeries(mustGather(t, m), 0, nil)) // every snapshot has as many series
	if st.Unsent != 3*perSnapshot || st.Dropped < perSnapshot || st.Pushed != 0 || st.LastErr == nil {
		t.Errorf("stats %+v (%d series a snapshot): want 3 snapshots kept, the older dropped, nothing pushed", st, perSnapshot)
	}
	if v := value(t, m.Registry(), NameRWDropped, nil); int(v) != st.Dropped {
		t.Errorf("%s = %g, want %d", NameRWDropped, v, st.Dropped)
	}
	if v := value(t, m.Registry(), NameRWFailed, nil); int(v) != st.Failed || v < 1 {
		t.Errorf("%s = %g, want %d", NameRWFailed, v, st.Failed)
	}
	if len(warn.all()) != 1 {
		t.Errorf("%d warnings, want 1", len(warn.all()))
	}
}

// A push the receiver refuses (400: a bad sample) cannot succeed later: it is dropped, not
// retried, and the next ones go through.
func TestPushRefusedIsDropped(t *testing.T) {
	rc, srv := newReceiver(t, func(n int) int {
		if n == 0 {
			return http.StatusBadRequest
		}
		return 0
	})
	m, _ := newMetrics(t, testProfile, nil)
	p, err := StartPusher(m.Registry(), PushOptions{URL: srv.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the first snapshot is taken and refused
	st := p.Close(context.Background())
	if st.Dropped == 0 || st.Pushed != st.Dropped || st.Unsent != 0 || st.Failed != 1 {
		t.Errorf("stats %+v: want the first snapshot dropped, the last one pushed", st)
	}
	if s := rc.find(t, NameRequests, nil); len(s) != 1 {
		t.Errorf("%d samples received, want the final one", len(s))
	}
}

func TestRemoteWriteURLIsChecked(t *testing.T) {
	for _, u := range []string{"127.0.0.1:9090/api/v1/write", "ftp://h/x", "http://", "http://bob:pw@:9090/x"} {
		_, err := ParseRemoteWriteURL(u)
		if err == nil {
			t.Errorf("%q accepted", u)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("%q: error shows the password: %v", u, err)
		}
	}
}

func mustGather(t *testing.T, m *Metrics) []*dto.MetricFamily {
	t.Helper()
	f, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
