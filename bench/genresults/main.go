// Command genresults writes a synthetic results file of n attempts, for measuring analysis
// speed and memory at sizes no test should run for real: a steady run at a given rate, 1 in 50
// requests failing once with a 503 and succeeding on the retry, latencies of 1–40 ms.
//
//	go run ./bench/genresults -n 10000000 -rate 10000 -out /tmp/10m.st
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

func main() {
	n := flag.Int("n", 1_000_000, "first attempts to write")
	rate := flag.Float64("rate", 10_000, "first attempts per second")
	out := flag.String("out", "synthetic.st", "results file to write (replaced)")
	flag.Parse()
	if err := write(*out, *n, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "genresults:", err)
		os.Exit(1)
	}
}

func write(path string, n int, rate float64) error {
	start := time.Unix(1_700_000_000, 0)
	length := time.Duration(float64(n) / rate * float64(time.Second))
	w, err := results.Create(path, results.Header{
		Format: results.FormatVersion, Generator: "genresults", Shards: 1, Target: "http://127.0.0.1:1/", Start: start,
		Profile: profiles.Profile{
			Name:   "synthetic",
			Phases: []profiles.Phase{{Name: "steady", Duration: profiles.Duration(length), Rate: &rate}},
			Client: profiles.Client{Timeout: profiles.Duration(time.Second),
				Retry: profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 3}},
			SLO: profiles.SLO{Latency: profiles.Duration(100 * time.Millisecond)},
		},
		Groups: []string{"default"},
	}, results.CreateOptions{Overwrite: true, FlushInterval: time.Hour})
	if err != nil {
		return err
	}
	var rec results.Record
	for i := range n {
		first := start.Add(time.Duration(float64(i) / rate * float64(time.Second))).UnixNano()
		rec = results.Record{RequestID: uint64(i + 1), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended: first, SendLag: 50 * time.Microsecond, ServiceTime: time.Duration(1+i%40) * time.Millisecond}
		if i%50 == 0 {
			rec.Kind, rec.Code, rec.Error = results.Kind5xx, 503, "503 Service Unavailable"
		}
		if err := w.Write(&rec); err != nil {
			return err
		}
		if rec.Kind != results.KindOK {
			rec.Attempt, rec.Kind, rec.Code, rec.Error = 2, results.KindOK, 200, ""
			rec.Intended = first + int64(rec.ServiceTime)
			rec.RequestAge = time.Duration(rec.Intended - first)
			if err := w.Write(&rec); err != nil {
				return err
			}
		}
	}
	return w.Close(results.Trailer{End: start.Add(length), Requests: uint64(n), Attempts: w.Records()})
}
