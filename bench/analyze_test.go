// Package bench holds end-to-end benchmarks that span packages; compare/ is the max-rate
// comparison against plain vegeta.
package bench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// BenchmarkAnalyzeFile is `stormtest analyze` without the printing: open a results file,
// decode every record, analyse, finish the report. The file holds 200 k attempts of a 20 s
// run at 10 k/s with a few percent of retried failures, written once outside the timer.
func BenchmarkAnalyzeFile(b *testing.B) {
	const n = 200_000
	path := filepath.Join(b.TempDir(), "run.st")
	rate := 10_000.0
	start := time.Unix(1_700_000_000, 0)
	w, err := results.Create(path, results.Header{
		Format: results.FormatVersion, Generator: "bench", Shards: 1, Target: "http://127.0.0.1:1/", Start: start,
		Profile: profiles.Profile{
			Name:   "bench",
			Phases: []profiles.Phase{{Name: "steady", Duration: profiles.Duration(20 * time.Second), Rate: &rate}},
			Client: profiles.Client{Timeout: profiles.Duration(time.Second),
				Retry: profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 3}},
			SLO: profiles.SLO{Latency: profiles.Duration(100 * time.Millisecond)},
		},
		Groups: []string{"default"},
	}, results.CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	var rec results.Record
	for i := range n {
		first := start.Add(time.Duration(i) * time.Second / time.Duration(rate)).UnixNano()
		rec = results.Record{RequestID: uint64(i + 1), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended: first, SendLag: 50 * time.Microsecond, ServiceTime: time.Duration(1+i%40) * time.Millisecond}
		if i%50 == 0 {
			rec.Kind, rec.Code = results.Kind5xx, 503
		}
		if err := w.Write(&rec); err != nil {
			b.Fatal(err)
		}
		if rec.Kind != results.KindOK {
			rec.Attempt, rec.Kind, rec.Code = 2, results.KindOK, 200
			rec.Intended = first + int64(rec.ServiceTime)
			if err := w.Write(&rec); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(20 * time.Second), Requests: n, Attempts: w.Records()}); err != nil {
		b.Fatal(err)
	}
	records := float64(w.Records())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := analyze.Files([]string{path}, analyze.DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(records*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
