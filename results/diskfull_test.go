package results

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// tornWriter accepts limit bytes, writing the part of the last write that fits before it
// fails, as a file system that runs out of space mid-write does.
type tornWriter struct {
	syncBuffer
	limit int
}

func (f *tornWriter) Write(p []byte) (int, error) {
	if room := f.limit - f.Len(); len(p) > room {
		n, _ := f.syncBuffer.Write(p[:max(room, 0)])
		return n, errDiskFull
	}
	return f.syncBuffer.Write(p)
}

// TestWrittenIsWhatTheFileHolds: after the disk fills, Written is exactly the number of
// records a reader finds in what reached the disk (the count a message must report), which
// is fewer than the records Write accepted, and the file reads up to the failure.
func TestWrittenIsWhatTheFileHolds(t *testing.T) {
	recs := realisticRecords(5000, 17)
	for _, tc := range []struct {
		name  string
		limit int
		torn  bool
	}{
		{"full before the first block", 600, false},
		{"full after a few blocks", 20 << 10, false},
		{"torn block after a few", 20 << 10, true},
		{"torn block after many", 60 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out interface {
				io.Writer
				Bytes() []byte
			}
			if tc.torn {
				out = &tornWriter{limit: tc.limit}
			} else {
				out = &failWriter{limit: tc.limit}
			}
			w, err := NewWriter(out, testHeader(), CreateOptions{FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for i := range recs {
				if werr = w.Write(&recs[i]); werr != nil {
					break
				}
				if i%300 == 299 {
					if werr = w.Flush(); werr != nil {
						break
					}
				}
			}
			if !errors.Is(werr, errDiskFull) {
				t.Fatalf("writing %d records to %d bytes: %v, want the disk error", len(recs), tc.limit, werr)
			}
			if err := w.Close(Trailer{}); !errors.Is(err, errDiskFull) {
				t.Fatalf("Close: %v", err)
			}
			data := out.Bytes()
			r, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("the file does not open: %v", err)
			}
			var rec Record
			read := uint64(0)
			for {
				err := r.Next(&rec)
				if err == nil {
					if rec != recs[read] {
						t.Fatalf("record %d read back as %+v, wrote %+v", read, rec, recs[read])
					}
					read++
					continue
				}
				var de *DamageError
				if err != io.EOF && !errors.As(err, &de) {
					t.Fatalf("reading: %v", err)
				}
				break
			}
			if read != w.Written() {
				t.Errorf("Written says %d records, the file holds %d", w.Written(), read)
			}
			if w.Records() <= w.Written() {
				t.Errorf("accepted %d, written %d: the test lost no block", w.Records(), w.Written())
			}
			t.Logf("%d bytes: accepted %d, written and read back %d", len(data), w.Records(), read)
		})
	}
}
