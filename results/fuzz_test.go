package results

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, never loop, and
// keep the Next contract (at most one *DamageError, then io.EOF). Minimising a new
// interesting input derived from the multi-block seeds takes long (the progress line shows
// 0 execs/s meanwhile); -fuzzminimizetime 5s keeps a short run fuzzing.
func FuzzReader(f *testing.F) {
	data := writeAll(f, edgeRecords(40, 20), 10, CreateOptions{FlushInterval: time.Hour}, false)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[:preambleLen+frameLen+3])
	f.Add([]byte(magic))
	f.Add([]byte(`{"format":1}`))
	f.Add(writeAll(f, realisticRecords(200, 21), 50, CreateOptions{FlushInterval: time.Hour}, true))
	// A header past the bounds, as an older stormtest wrote for --time-scale 1e300.
	var stretched bytes.Buffer
	if w, err := NewWriter(&stretched, outOfBoundHeader(), CreateOptions{FlushInterval: time.Hour}); err == nil && w.Close(testTrailer()) == nil {
		f.Add(stretched.Bytes())
	}
	// Scrape blocks of the target's metrics (format version 2), a failed scrape among them.
	f.Add(writeInterleaved(f, scrapeHeader(), []any{rec(1, 0),
		Scrape{At: testStart.UnixNano(), Samples: []Sample{gauge("queue_depth", `{a="b"}`, 3), gauge("pool", "", 8)}},
		Scrape{Endpoint: 1, At: testStart.UnixNano(), Error: "timeout"}, rec(2, time.Second),
		Scrape{At: testStart.Add(time.Second).UnixNano(), Samples: []Sample{gauge("queue_depth", `{a="b"}`, 4)}}}, true))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		r.Header()
		r.OnScrape(func(s *Scrape) error {
			if len(s.Samples) > len(in) {
				t.Fatalf("a scrape of %d samples from %d bytes", len(s.Samples), len(in))
			}
			return nil
		})
		var rec Record
		damaged := false
		// Every record takes at least 5 bytes, so more Next calls than bytes means a loop.
		for i := 0; ; i++ {
			if i > len(in) {
				t.Fatalf("Next returned more records than the input has bytes")
			}
			err := r.Next(&rec)
			if err == nil {
				continue
			}
			if err == io.EOF {
				break
			}
			var de *DamageError
			if !errors.As(err, &de) || damaged {
				t.Fatalf("Next: %v (damage seen before: %v)", err, damaged)
			}
			damaged = true
		}
		if err := r.Next(&rec); err != io.EOF {
			t.Fatalf("Next after io.EOF: %v", err)
		}
		r.Trailer()
	})
}
