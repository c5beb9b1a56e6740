package hlog

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormtest/stormtest/results"
)

// FuzzRoundTrip writes attempts decoded from arbitrary bytes (end times up to 131 072
// intervals either side of the run's start, in any order, latencies from 0 to past the range, any phase) as an interval
// log, parses the log back with hdrhistogram-go's decoder and checks that nothing was lost or
// invented: per tag, the logged histograms sum to exactly the histogram of the attempts, and
// every line's Interval_Max is its histogram's maximum.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint16(1000))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1, 0}, uint16(1))
	f.Add(bytes.Repeat([]byte{0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 1}, 20), uint16(250))
	// Out of order by far more than the lateness: a record for an interval already written.
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, uint16(1))
	// Latencies past an hour, clamped.
	f.Add([]byte{0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 2}, uint16(60000))
	f.Fuzz(func(t *testing.T, in []byte, intervalMs uint16) {
		interval := time.Duration(max(intervalMs, 1)) * time.Millisecond
		h := testHeader()
		// At most 24 records: every interval line costs an encode and a decode of a ~190 KB
		// histogram, so more records only slow the fuzzer down, and 24 reach every path
		// (new, open, late, gap) many times over.
		const size = 9
		in = in[:min(len(in), 24*size)]
		recs := make([]results.Record, 0, len(in)/size)
		for ; len(in) >= size; in = in[size:] {
			// End offset: a signed 32-bit count of 1/16384 intervals (±2^17 intervals, so gaps
			// of every length up to and past maxGapLines, while a run of 100 records cannot
			// make millions of lines); latency: a 32-bit count of µs scaled by 4 (up to ~4.8 h,
			// past the histogram's hour).
			end := time.Duration(int64(int32(binary.BigEndian.Uint32(in))) * int64(interval) / 16384)
			lat := time.Duration(binary.BigEndian.Uint32(in[4:])) * 4 * time.Microsecond
			recs = append(recs, results.Record{
				RequestID: uint64(len(recs)), Attempt: 1, Phase: in[8] % 4, Kind: results.KindOK, Code: 200,
				Intended: h.Start.UnixNano() + int64(end-lat), ServiceTime: lat,
			})
		}
		var buf bytes.Buffer
		s, err := NewSink(&buf, interval)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Begin(h); err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if err := s.Write(&recs[i]); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		if err := s.End(results.Trailer{}); err != nil {
			t.Fatalf("End: %v", err)
		}
		// Gap lines are most of a log with far-apart records; they are all the empty
		// histogram's encoding, checked once here and not decoded again.
		emptyEnc, err := NewHistogram().Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		log, _ := dropGaps(buf.Bytes(), ","+string(emptyEnc)+"\n")
		_, lines := parseLog(t, log)
		want := expected(h, recs)
		got := map[string]*hdr.Histogram{}
		for _, p := range lines {
			if got[p.tag] == nil {
				got[p.tag] = NewHistogram()
			}
			got[p.tag].Merge(p.hist)
			if math.Abs(p.max-float64(p.hist.Max())/1000) > 0.0005 {
				t.Errorf("Interval_Max %v for a histogram max of %d µs", p.max, p.hist.Max())
			}
			if math.Abs(p.length-interval.Seconds()) > 0.0005 {
				t.Errorf("interval length %v, want %v", p.length, interval.Seconds())
			}
		}
		if len(recs) == 0 {
			if len(lines) != 0 {
				t.Fatalf("%d interval lines for no attempts", len(lines))
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d tags logged, want %d", len(got), len(want))
		}
		for tag, w := range want {
			if got[tag] == nil || !got[tag].Equals(w) {
				t.Fatalf("tag %q: logged histograms do not sum to the attempts' (%d attempts)", tag, w.TotalCount())
			}
		}
	})
}

// TestLongGapIsBounded: records days apart (FuzzRoundTrip's slow input: ~200 000 lines and
// two minutes) get at most maxGapLines empty lines per gap, and still count exactly.
func TestLongGapIsBounded(t *testing.T) {
	h := testHeader()
	var buf bytes.Buffer
	s, err := NewSink(&buf, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(h); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Duration{-48 * time.Hour, 0, 72 * time.Hour} {
		rec := results.Record{RequestID: uint64(i), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended: h.Start.Add(at).UnixNano(), ServiceTime: time.Millisecond}
		if err := s.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.End(results.Trailer{}); err != nil {
		t.Fatal(err)
	}
	_, lines := parseLog(t, buf.Bytes())
	var total int64
	for _, p := range lines {
		if p.tag == "" {
			total += p.hist.TotalCount()
		}
	}
	// Two gaps of at most maxGapLines each, the three intervals and their three tagged lines.
	if len(lines) > 2*maxGapLines+6 || total != 3 {
		t.Errorf("%d lines holding %d attempts; want at most %d lines and 3 attempts", len(lines), total, 2*maxGapLines+6)
	}
}

// dropGaps removes the untagged lines whose payload is the empty histogram's, returning the
// rest of the log and how many it removed.
func dropGaps(log []byte, emptySuffix string) ([]byte, int) {
	var out []byte
	n := 0
	for _, line := range bytes.SplitAfter(log, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("Tag=")) && bytes.HasSuffix(line, []byte(emptySuffix)) {
			n++
			continue
		}
		out = append(out, line...)
	}
	return out, n
}
