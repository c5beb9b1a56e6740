package results

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// BenchmarkWriterWrite measures the hot path a generator pays per attempt, including
// sealing full blocks; the flusher writes them to io.Discard.
func BenchmarkWriterWrite(b *testing.B) {
	recs := realisticRecords(1<<16, 30)
	var out countingWriter
	w, err := NewWriter(&out, testHeader(), DefaultCreateOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Write(&recs[i&(len(recs)-1)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(Trailer{}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if b.N >= 10_000 {
		b.ReportMetric(float64(out.n)/float64(b.N), "file-bytes/record")
	}
}

// BenchmarkReaderNext measures decoding from memory; reopening the file when it runs out
// is not timed.
func BenchmarkReaderNext(b *testing.B) {
	const n = 100_000
	data := writeAll(b, realisticRecords(n, 31), 0, CreateOptions{FlushInterval: time.Hour}, false)
	b.SetBytes(int64(len(data) / n)) // file bytes consumed per record
	open := func() *Reader {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	r := open()
	var rec Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := r.Next(&rec)
		if err == io.EOF {
			b.StopTimer()
			r = open()
			b.StartTimer()
			err = r.Next(&rec)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
