// Command genresults writes a synthetic results file of n attempts, for measuring analysis
// speed and memory at sizes no test should run for real: a steady run at a given rate, 1 in 50
// requests failing once with a 503 and succeeding on the retry, latencies of 1–40 ms.
// With -shard I/N it writes shard I of a run split over N generators, each sending n first
// attempts at -rate (the run: n×N at rate×N), interleaved as attack --shard interleaves them,
// so that N such files merge into one run (make bench-memory).
//
//	go run ./bench/genresults -n 10000000 -rate 10000 -out /tmp/10m.st
//	for i in 0 1 2 3; do go run ./bench/genresults -n 1000000 -shard $i/4 -out /tmp/s$i.st; done
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/shard"
)

func main() {
	n := flag.Int("n", 1_000_000, "first attempts to write")
	rate := flag.Float64("rate", 10_000, "first attempts per second")
	out := flag.String("out", "synthetic.st", "results file to write (replaced)")
	part := flag.String("shard", "0/1", "write shard I of N (I/N)")
	flag.Parse()
	p, err := shard.Parse(*part)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genresults:", err)
		os.Exit(2)
	}
	if err := write(*out, *n, *rate, p); err != nil {
		fmt.Fprintln(os.Stderr, "genresults:", err)
		os.Exit(1)
	}
}

func write(path string, n int, rate float64, part shard.Part) error {
	start := time.Unix(1_700_000_000, 0)
	length := time.Duration(float64(n) / rate * float64(time.Second))
	total := rate * float64(part.Count) // the whole run's first attempts per second
	w, err := results.Create(path, results.Header{
		Format: results.FormatVersion, Generator: "genresults", Shard: part.Index, Shards: part.Count,
		RunID: shard.RunID("synthetic", start), Target: "http://127.0.0.1:1/", Start: start,
		Profile: profiles.Profile{
			Name:   "synthetic",
			Phases: []profiles.Phase{{Name: "steady", Duration: profiles.Duration(length), Rate: &total}},
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
		k := i*part.Count + part.Index // this attempt's place in the whole run
		first := start.Add(time.Duration(float64(k) / total * float64(time.Second))).UnixNano()
		rec = results.Record{RequestID: part.RequestID(uint64(i + 1)), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended: first, SendLag: 50 * time.Microsecond, ServiceTime: time.Duration(1+k%40) * time.Millisecond}
		if k%50 == 0 {
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
