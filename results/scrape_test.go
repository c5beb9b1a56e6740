package results

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// scrapeRecorder is a Sink that keeps everything it is given, scrapes deep-copied, in order.
type scrapeRecorder struct {
	events  []string // "r<id>" for a record, "s<at>" for a scrape, in stream order
	records []Record
	scrapes []Scrape
	trailer *Trailer
}

func (s *scrapeRecorder) Begin(Header) error { return nil }
func (s *scrapeRecorder) Write(r *Record) error {
	s.records = append(s.records, *r)
	s.events = append(s.events, fmt.Sprintf("r%d", r.RequestID))
	return nil
}
func (s *scrapeRecorder) Scrape(sc *Scrape) error {
	c := *sc
	c.Samples = append([]Sample(nil), sc.Samples...)
	s.scrapes = append(s.scrapes, c)
	s.events = append(s.events, fmt.Sprintf("s%d", sc.At-testStart.UnixNano()))
	return nil
}
func (s *scrapeRecorder) End(t Trailer) error { s.trailer = &t; return nil }

func gauge(name, labels string, v float64) Sample {
	return Sample{Series: Series{Name: name, Labels: labels, Type: MetricGauge}, Value: v}
}

// writeInterleaved writes records and scrapes in the given order through a FileSink-like
// Writer and returns the file's bytes.
func writeInterleaved(t testing.TB, h Header, events []any, close bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h, CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		switch e := e.(type) {
		case Record:
			err = w.Write(&e)
		case Scrape:
			err = w.WriteScrape(&e)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if close {
		if err := w.Close(testTrailer()); err != nil {
			t.Fatal(err)
		}
	} else if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

func rec(id uint64, at time.Duration) Record {
	return Record{RequestID: id, Attempt: 1, Kind: KindOK, Code: 200, Intended: testStart.Add(at).UnixNano(), ServiceTime: time.Millisecond}
}

func scrapeHeader() Header {
	h := testHeader()
	h.Scrape = []string{"http://127.0.0.1:9/metrics", "http://127.0.0.1:10/metrics"}
	return h
}

// TestScrapeRoundTrip: scrapes come back where they were written in the stream, between the
// records, with every field, a failed scrape as a gap with its error, values that JSON could
// not carry (NaN, ±Inf) intact, and series defined once and referenced after.
func TestScrapeRoundTrip(t *testing.T) {
	s1 := Scrape{Endpoint: 0, At: testStart.Add(time.Second).UnixNano(), Took: 3 * time.Millisecond,
		Samples: []Sample{gauge("queue_depth", "", 0), {Series{Name: "served_total", Type: MetricCounter}, 12}, gauge("pool", `{pool="db"}`, 8)}}
	s2 := Scrape{Endpoint: 1, At: testStart.Add(2 * time.Second).UnixNano(), Took: time.Second, Error: "timeout after 1s"}
	s3 := Scrape{Endpoint: 0, At: testStart.Add(3 * time.Second).UnixNano(), Took: -time.Microsecond,
		Samples: []Sample{gauge("queue_depth", "", math.Inf(1)), gauge("pool", `{pool="db"}`, math.NaN()), gauge("new_one", "", -1.5)}}
	s4 := Scrape{Endpoint: 0, At: testStart.Add(-time.Second).UnixNano()} // before the start, no samples
	events := []any{rec(1, 0), s1, rec(2, time.Second), rec(3, time.Second), s2, s3, rec(4, 3*time.Second), s4}
	data := writeInterleaved(t, scrapeHeader(), events, true)

	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got scrapeRecorder
	n, damage, err := Copy(&got, r)
	if err != nil || damage != nil || n != 4 {
		t.Fatalf("Copy: n=%d damage=%v err=%v", n, damage, err)
	}
	want := []string{"r1", "s1000000000", "r2", "r3", "s2000000000", "s3000000000", "r4", "s-1000000000"}
	if !reflect.DeepEqual(got.events, want) {
		t.Fatalf("stream order %v, want %v", got.events, want)
	}
	if got.trailer == nil {
		t.Fatal("no trailer")
	}
	for i, w := range []Scrape{s1, s2, s3, s4} {
		g := got.scrapes[i]
		if g.Endpoint != w.Endpoint || g.At != w.At || g.Took != w.Took || g.Error != w.Error || g.Continued || len(g.Samples) != len(w.Samples) {
			t.Errorf("scrape %d: got %+v, want %+v", i, g, w)
			continue
		}
		for k := range w.Samples {
			gs, ws := g.Samples[k], w.Samples[k]
			same := gs.Value == ws.Value || (math.IsNaN(gs.Value) && math.IsNaN(ws.Value))
			if gs.Series != ws.Series || !same {
				t.Errorf("scrape %d sample %d: got %+v, want %+v", i, k, gs, ws)
			}
		}
	}
	if h := r.Header(); !reflect.DeepEqual(h.Scrape, scrapeHeader().Scrape) {
		t.Errorf("header endpoints %v", h.Scrape)
	}
}

// TestScrapeWithoutHandler: a reader nobody asked for scrapes skips them, and its records are
// exactly those written.
func TestScrapeWithoutHandler(t *testing.T) {
	events := []any{rec(1, 0), Scrape{At: testStart.UnixNano(), Samples: []Sample{gauge("a", "", 1)}}, rec(2, time.Second)}
	data := writeInterleaved(t, scrapeHeader(), events, true)
	res, err := readAll(t, data)
	if err != nil || len(res.recs) != 2 || res.recs[1].RequestID != 2 {
		t.Fatalf("read %d records (%v), err %v", len(res.recs), res.recs, err)
	}
}

// TestScrapeSpansBlocks: a scrape too large for one block continues in the next ones, nothing
// lost, every block after the first marked Continued with the same time.
func TestScrapeSpansBlocks(t *testing.T) {
	long := strings.Repeat("x", MaxSeriesLen)
	var samples []Sample
	for i := range 300 { // ~300 × 1 KB: five blocks or so
		samples = append(samples, gauge(fmt.Sprintf("m%03d", i), `{l="`+long[:MaxSeriesLen-6]+`"}`, float64(i)))
	}
	samples = append(samples, gauge("too_long", long+"x", 1)) // left out, not an error
	at := testStart.Add(time.Second).UnixNano()
	data := writeInterleaved(t, scrapeHeader(), []any{Scrape{At: at, Samples: samples}, rec(1, time.Second)}, true)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got scrapeRecorder
	if _, damage, err := Copy(&got, r); err != nil || damage != nil {
		t.Fatalf("damage %v err %v", damage, err)
	}
	if len(got.scrapes) < 2 {
		t.Fatalf("%d blocks; the test needs a scrape spanning several", len(got.scrapes))
	}
	var all []Sample
	for i, s := range got.scrapes {
		if s.At != at || s.Continued != (i > 0) {
			t.Errorf("block %d: at %d continued %v", i, s.At, s.Continued)
		}
		all = append(all, s.Samples...)
	}
	if len(all) != 300 {
		t.Fatalf("%d samples came back, want the 300 storable ones", len(all))
	}
	for i, s := range all {
		if s.Series.Name != fmt.Sprintf("m%03d", i) || s.Value != float64(i) {
			t.Fatalf("sample %d is %+v", i, s)
		}
	}
}

// TestScrapeDamage: a scrape block cut short or flipped is damage at that block, with every
// record before it returned, like any other block; a file cut exactly after a scrape block
// reads cleanly without a trailer.
func TestScrapeDamage(t *testing.T) {
	events := []any{rec(1, 0), rec(2, 0), Scrape{At: testStart.UnixNano(), Samples: []Sample{gauge("queue_depth", "", 3)}}, rec(3, time.Second)}
	full := writeInterleaved(t, scrapeHeader(), events, false)
	// Locate the scrape block: the first block of type 4 after the header.
	off := preambleLen
	scrapeAt := -1
	for off+frameLen <= len(full) {
		n := int(uint32(full[off+1]) | uint32(full[off+2])<<8 | uint32(full[off+3])<<16 | uint32(full[off+4])<<24)
		if full[off] == blockScrape {
			scrapeAt = off
			break
		}
		off += frameLen + n
	}
	if scrapeAt < 0 {
		t.Fatal("no scrape block written")
	}
	for cut := scrapeAt + 1; cut < len(full); cut += 3 {
		res, err := readAll(t, full[:cut])
		if err != nil {
			t.Fatal(err)
		}
		var de *DamageError
		if cut < scrapeAt+frameLen+20 && (!errors.As(res.err, &de) || de.Offset != int64(scrapeAt)) {
			t.Fatalf("cut at %d (scrape block at %d): err %v", cut, scrapeAt, res.err)
		}
		if len(res.recs) < 2 {
			t.Fatalf("cut at %d lost records before the scrape block: %d", cut, len(res.recs))
		}
	}
	flipped := bytes.Clone(full)
	flipped[scrapeAt+frameLen+2] ^= 0x40
	res, err := readAll(t, flipped)
	var de *DamageError
	if err != nil || !errors.As(res.err, &de) || de.Offset != int64(scrapeAt) || len(res.recs) != 2 {
		t.Fatalf("flipped scrape block: %d records, err %v / %v", len(res.recs), err, res.err)
	}
}

// TestReadsVersion1 reads a file written by stormtest before scrapes existed (commit 27d6154,
// format version 1): every record and the trailer, no scrape, no damage.
func TestReadsVersion1(t *testing.T) {
	r, err := Open("testdata/v1.st")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header(); h.Format != 1 || h.Profile.Name != "v1" || len(h.Scrape) != 0 {
		t.Fatalf("header %+v", h)
	}
	var got scrapeRecorder
	n, damage, err := Copy(&got, r)
	if err != nil || damage != nil || n != 50 || len(got.scrapes) != 0 || got.trailer == nil || got.trailer.Attempts != 50 {
		t.Fatalf("n=%d damage=%v err=%v scrapes=%d trailer=%+v", n, damage, err, len(got.scrapes), got.trailer)
	}
	errs := 0
	for _, rc := range got.records {
		if rc.Kind == Kind5xx && rc.Error == "HTTP 503" {
			errs++
		}
	}
	if errs != 5 {
		t.Errorf("%d failed records with their message, want 5", errs)
	}
}

// TestScrapeHandlerErrorStopsNext: an error from the scrape handler is Next's error, as is.
func TestScrapeHandlerErrorStopsNext(t *testing.T) {
	data := writeInterleaved(t, scrapeHeader(), []any{Scrape{At: testStart.UnixNano()}, rec(1, 0)}, true)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	r.OnScrape(func(*Scrape) error { return boom })
	var rc Record
	if err := r.Next(&rc); !errors.Is(err, boom) {
		t.Fatalf("Next: %v, want the handler's error", err)
	}
}

// TestTeeForwardsScrapes: a Tee hands scrapes to the sinks that take them and skips the
// others.
func TestTeeForwardsScrapes(t *testing.T) {
	var a, b scrapeRecorder
	plain := WriteFunc(func(*Record) error { return nil })
	tee := Tee(&a, plain, &b)
	ss, ok := tee.(ScrapeSink)
	if !ok {
		t.Fatal("a Tee does not take scrapes")
	}
	if err := ss.Scrape(&Scrape{At: testStart.UnixNano()}); err != nil {
		t.Fatal(err)
	}
	if len(a.scrapes) != 1 || len(b.scrapes) != 1 {
		t.Fatalf("scrapes reached %d and %d sinks", len(a.scrapes), len(b.scrapes))
	}
}
