package attack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

// memRecorder is a results.Sink that keeps the stream in memory: fine for the few hundred
// attempts of a unit test.
type memRecorder struct {
	header       results.Header
	recs         []results.Record
	trailer      results.Trailer
	begins, ends int // Begin and End calls
}

func (m *memRecorder) Begin(h results.Header) error {
	m.header = h
	m.begins++
	return nil
}

func (m *memRecorder) Write(r *results.Record) error {
	m.recs = append(m.recs, *r)
	return nil
}

func (m *memRecorder) End(t results.Trailer) error {
	m.trailer = t
	m.ends++
	return nil
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h) // binds 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

func runAttack(t *testing.T, ctx context.Context, targetURL, yaml string) (Summary, []results.Record) {
	t.Helper()
	rec := &memRecorder{}
	sum, err := Run(ctx, Config{Target: targetURL, Profile: testfix.MustParse(t, yaml)}, rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The sink sees one header and one trailer, and the trailer counts what it was written.
	if rec.begins != 1 || rec.ends != 1 || rec.trailer.Attempts != uint64(len(rec.recs)) || rec.header.Profile.Seed == 0 {
		t.Fatalf("Begin %d times, End %d times, trailer %+v for %d records, seed %d",
			rec.begins, rec.ends, rec.trailer, len(rec.recs), rec.header.Profile.Seed)
	}
	return sum, rec.recs
}

func TestRunRecordsEveryFirstAttemptAtItsScheduledTime(t *testing.T) {
	forEachEngine(t, testRunRecordsEveryFirstAttemptAtItsScheduledTime)
}

func testRunRecordsEveryFirstAttemptAtItsScheduledTime(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	var hits atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/api/orders" || r.URL.Fragment != "" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	const yaml = `
phases: [{duration: 1s, rate: 100}, {duration: 500ms, from: 100, to: 300}]
client: {timeout: 1s}
request: {path: /api/orders}
`
	p := parseOn(t, eng, yaml)
	sched := p.Schedule()
	start := time.Now()
	rec := &memRecorder{}
	sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: p, Start: start}, rec)
	if err != nil {
		t.Fatal(err)
	}
	want := int(sched.Total() + 0.999999)
	if len(rec.recs) != want || int(sum.Requests) != want || int(hits.Load()) != want {
		t.Fatalf("recorded %d, requests %d, target saw %d; want %d each", len(rec.recs), sum.Requests, hits.Load(), want)
	}
	seen := make(map[uint64]bool)
	for _, r := range rec.recs {
		if r.Kind != results.KindOK || r.Code != 200 {
			t.Fatalf("request %d: %v %d %q", r.RequestID, r.Kind, r.Code, r.Error)
		}
		at, ok := sched.TimeOf(float64(r.RequestID - 1))
		if !ok || r.Intended != start.Add(at).UnixNano() {
			t.Fatalf("request %d intended at %v, schedule says %v", r.RequestID, time.Duration(r.Intended-start.UnixNano()), at)
		}
		if r.SendLag < 0 || r.ServiceTime <= 0 {
			t.Fatalf("request %d: lag %v, service time %v", r.RequestID, r.SendLag, r.ServiceTime)
		}
		if r.Attempt != 1 || r.RequestAge != 0 || seen[r.RequestID] {
			t.Fatalf("request %d: attempt %d age %v (seen before: %v)", r.RequestID, r.Attempt, r.RequestAge, seen[r.RequestID])
		}
		seen[r.RequestID] = true
	}
}

func TestRunRetriesByPolicy(t *testing.T) { forEachEngine(t, testRunRetriesByPolicy) }

func testRunRetriesByPolicy(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	unavailable := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	notFound := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }
	cases := []struct {
		name         string
		handler      http.HandlerFunc
		retry        string
		wantAttempts int
		wantKind     results.Kind
		fixedDelay   time.Duration
	}{
		{"no retries", unavailable, "{policy: none}", 1, results.Kind5xx, 0},
		{"immediate", unavailable, "{policy: immediate, max_attempts: 3}", 3, results.Kind5xx, 0},
		{"fixed 30ms", unavailable, "{policy: fixed, max_attempts: 2, base: 30ms}", 2, results.Kind5xx, 30 * time.Millisecond},
		{"exponential", unavailable, "{policy: exponential, max_attempts: 4, base: 5ms, cap: 20ms, jitter: full}", 4, results.Kind5xx, -1},
		{"4xx is not retried", notFound, "{policy: immediate, max_attempts: 3}", 1, results.Kind4xx, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.handler)
			_, recs := runAttackOn(t, eng, context.Background(), srv.URL,
				"phases: [{duration: 500ms, rate: 20}]\nclient: {timeout: 1s, retry: "+tc.retry+"}\n")
			byReq := map[uint64][]results.Record{}
			for _, r := range recs {
				if r.Kind != tc.wantKind {
					t.Fatalf("attempt kind %v, want %v", r.Kind, tc.wantKind)
				}
				byReq[r.RequestID] = append(byReq[r.RequestID], r)
			}
			if len(byReq) != 10 {
				t.Fatalf("%d requests, want 10", len(byReq))
			}
			for id, as := range byReq {
				// Retries due after the profile's end are not sent; every request whose
				// attempts all fit must have made all of them.
				last := as[len(as)-1]
				if len(as) > tc.wantAttempts {
					t.Fatalf("request %d made %d attempts, max %d", id, len(as), tc.wantAttempts)
				}
				for i, a := range as {
					if int(a.Attempt) != i+1 {
						t.Fatalf("request %d attempt %d recorded as %d", id, i+1, a.Attempt)
					}
					if i == 0 {
						continue
					}
					prev := as[i-1]
					gap := time.Duration(a.Intended - prev.End())
					if gap < 0 || (tc.fixedDelay >= 0 && gap != tc.fixedDelay) {
						t.Fatalf("request %d attempt %d due %v after the previous one ended, want %v", id, a.Attempt, gap, tc.fixedDelay)
					}
					if a.RequestAge != time.Duration(a.Intended-as[0].Intended) {
						t.Fatalf("request %d attempt %d: age %v, want %v", id, a.Attempt, a.RequestAge, time.Duration(a.Intended-as[0].Intended))
					}
				}
				if len(as) < tc.wantAttempts && last.Intended < time.Now().UnixNano()-int64(time.Second) {
					t.Fatalf("request %d stopped after %d attempts", id, len(as))
				}
			}
		})
	}
}

func TestRunRecordsTimeoutsAndRefusals(t *testing.T) {
	forEachEngine(t, testRunRecordsTimeoutsAndRefusals)
}

func testRunRecordsTimeoutsAndRefusals(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close() // nothing listens here any more: connections are refused

	cases := []struct {
		name     string
		url      string
		wantKind results.Kind
		wantErr  string // every engine words it alike
		minSvc   time.Duration
	}{
		{"timeout", slow.URL, results.KindTimeout, msgTimeout, 100 * time.Millisecond},
		{"refused", closedURL, results.KindRefused, "connection refused", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			_, recs := runAttackOn(t, eng, context.Background(), tc.url,
				"phases: [{duration: 300ms, rate: 20}]\nclient: {timeout: 100ms, retry: {policy: immediate, max_attempts: 2}}\n")
			if time.Since(begin) > 5*time.Second {
				t.Fatalf("run took %v", time.Since(begin))
			}
			if len(recs) < 6 {
				t.Fatalf("only %d attempts recorded", len(recs))
			}
			for _, r := range recs {
				if r.Kind != tc.wantKind || r.Code != 0 || r.Error != tc.wantErr {
					t.Fatalf("attempt: kind %v code %d error %q; want %v recorded as %q", r.Kind, r.Code, r.Error, tc.wantKind, tc.wantErr)
				}
				if r.ServiceTime < tc.minSvc {
					t.Fatalf("service time %v shorter than the timeout", r.ServiceTime)
				}
			}
		})
	}
}

func TestRunStopsOnCancelAndKeepsWhatWasSent(t *testing.T) {
	forEachEngine(t, testRunStopsOnCancelAndKeepsWhatWasSent)
}

func testRunStopsOnCancelAndKeepsWhatWasSent(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	var hits atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(50 * time.Millisecond)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	begin := time.Now()
	sum, recs := runAttackOn(t, eng, ctx, srv.URL, "phases: [{duration: 30s, rate: 50}]\nclient: {timeout: 1s}\n")
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("cancelled run took %v to stop", took)
	}
	if !sum.Interrupted {
		t.Fatal("summary not marked interrupted")
	}
	if int64(len(recs)) != hits.Load() || len(recs) == 0 {
		t.Fatalf("recorded %d attempts, target served %d: every attempt sent must be recorded", len(recs), hits.Load())
	}
}

type failingRecorder struct{ n int }

func (f *failingRecorder) Write(*results.Record) error {
	f.n++
	if f.n > 3 {
		return errors.New("disk full")
	}
	return nil
}

func TestRunStopsWhenTheRecorderFails(t *testing.T) {
	forEachEngine(t, testRunStopsWhenTheRecorderFails)
}

func testRunStopsWhenTheRecorderFails(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	srv := serve(t, func(http.ResponseWriter, *http.Request) {})
	begin := time.Now()
	_, err := Run(context.Background(), Config{Target: srv.URL,
		Profile: parseOn(t, eng, "phases: [{duration: 20s, rate: 100}]")}, results.WriteFunc((&failingRecorder{}).Write))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the recorder's error", err)
	}
	if time.Since(begin) > 3*time.Second {
		t.Fatal("attack went on after the recorder failed")
	}
}

func TestRunToFileSink(t *testing.T) { forEachEngine(t, testRunToFileSink) }

func testRunToFileSink(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	srv := serve(t, func(http.ResponseWriter, *http.Request) {})
	path := filepath.Join(t.TempDir(), "run.st")
	p := parseOn(t, eng, "name: tiny\nphases: [{duration: 300ms, rate: 50}]")
	sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, NewFileSink(Output{Path: path}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Header()
	if h.Profile.Name != "tiny" || h.Profile.Seed == 0 || h.Target != srv.URL || h.Start.IsZero() {
		t.Fatalf("header %+v", h)
	}
	var rec results.Record
	n := 0
	for {
		err := r.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	tr, ok := r.Trailer()
	if !ok || tr.Attempts != uint64(n) || uint64(n) != sum.Attempts || tr.Interrupted {
		t.Fatalf("trailer %+v (ok %v), %d records read, summary %+v", tr, ok, n, sum)
	}

	// A second run must not silently replace the first one's results.
	if _, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, NewFileSink(Output{Path: path})); err == nil {
		t.Fatal("an existing results file was overwritten without Overwrite")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
