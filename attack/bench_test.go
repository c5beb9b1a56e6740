package attack

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

// BenchmarkSchedulerCycle is the scheduler's share of one attempt: the pacer's claim, the
// targeter's next (which hands out the slot's URL) and the consumer's get and finish. Time is
// driven by the benchmark at 100 k first attempts per second, so it measures bookkeeping,
// not waiting. It must not allocate once the slab and queues have grown.
func BenchmarkSchedulerCycle(b *testing.B) {
	sc := testScheduler(b, testfix.MustParse(b, "phases: [{duration: 24h, rate: 100000}]").Schedule(), "http://127.0.0.1:1/")
	const step = 10 * time.Microsecond
	var now time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now += step
		_, claimed, done := sc.claim(now)
		if done || !claimed {
			b.Fatalf("nothing claimed at %s", now)
		}
		slot, _, _, ok := sc.next()
		if !ok {
			b.Fatal("claimed attempt not ready")
		}
		a := sc.get(slot)
		sc.finish(slot, a.intended+time.Millisecond)
	}
}

// BenchmarkSchedulerCycleMax is the same cycle in a rate: max phase, where every claim is
// due at once.
func BenchmarkSchedulerCycleMax(b *testing.B) {
	sc := testScheduler(b, testfix.MustParse(b, "phases: [{duration: 24h, rate: max}]").Schedule(), "http://127.0.0.1:1/")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := time.Duration(i)
		if _, claimed, _ := sc.claim(now); !claimed {
			b.Fatalf("nothing claimed at %s", now)
		}
		slot, _, _, _ := sc.next()
		sc.finish(slot, now)
	}
}

type discardRecorder struct{ n int }

func (d *discardRecorder) Write(*results.Record) error { d.n++; return nil }

// BenchmarkConsumer is the per-result work of the goroutine that reads vegeta's results: find
// the attempt from the URL fragment, fill and record the record, update progress and decide
// about a retry (none: the result is a success), with the scheduler's claim and next that
// produced the result. recorder is either a no-op or the real results writer to io.Discard.
func BenchmarkConsumer(b *testing.B) {
	for _, tc := range []struct {
		name string
		rec  func(b *testing.B) Recorder
	}{
		{"discard", func(*testing.B) Recorder { return new(discardRecorder) }},
		{"writer", func(b *testing.B) Recorder {
			w, err := results.NewWriter(discard{}, results.Header{Format: results.FormatVersion, Start: time.Now()},
				results.CreateOptions{FlushInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { w.Close(results.Trailer{}) })
			return w
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := testfix.MustParse(b, `phases: [{duration: 24h, rate: max}]
client: {timeout: 1s, retry: {policy: immediate, max_attempts: 3}}`)
			plan, err := newRequestPlan("http://127.0.0.1:1", p.Request, nil)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			cfg := Config{Target: "http://127.0.0.1:1", Profile: p}
			progress := new(Progress)
			tr, err := newTransport(nil, cfg.Target)
			if err != nil {
				b.Fatal(err)
			}
			groups, err := newGroups(p, plan, tr, engineStd, start, cfg, progress)
			if err != nil {
				b.Fatal(err)
			}
			g := groups[0]
			c := consumer{recorder: tc.rec(b), start: start, groups: groups, progress: progress}
			res := outcome{known: true, code: 200, sent: start.Add(time.Millisecond), lat: 300 * time.Microsecond}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, claimed, _ := g.sched.claim(time.Duration(i)); !claimed {
					b.Fatal("nothing claimed")
				}
				res.slot, _, _, _ = g.sched.next()
				if err := c.consume(g, &res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// cannedServer answers every request on every connection with one fixed response, reading
// only up to the blank line that ends each request head: a target that costs next to nothing
// and allocates nothing per request, so that a benchmark's allocations are the generator's.
// It listens on 127.0.0.1 and stops with the benchmark.
func cannedServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					for {
						i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						have = copy(buf, buf[i+4:have])
					}
					if have == len(buf) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// stopAfter cancels the run once n attempts were recorded.
type stopAfter struct {
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) Begin(time.Time) {}
func (s *stopAfter) Attempt(*results.Record, bool) {
	if s.n--; s.n == 0 {
		s.cancel()
	}
}

// BenchmarkEngines is one attempt end to end at maximum rate, per engine: claim, send over
// loopback to cannedServer, read the response, record, decide the retry (enabled, never
// firing). ns/op includes the target's share of the 2 cores; allocs/op is the generator's
// (and the few of the run's start, spread over b.N), the figure to watch.
func BenchmarkEngines(b *testing.B) {
	for _, eng := range engines {
		b.Run(eng, func(b *testing.B) {
			url := cannedServer(b)
			p := onEngine(b, testfix.MustParse(b, `phases: [{duration: 24h, rate: max}]
client: {timeout: 5s, retry: {policy: immediate, max_attempts: 3}}`), eng)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := new(discardRecorder)
			b.ReportAllocs()
			b.ResetTimer()
			sum, err := Run(ctx, Config{Target: url, Profile: p, MaxWorkers: 64, Connections: 64,
				Observer: &stopAfter{n: b.N, cancel: cancel}}, results.WriteFunc(rec.Write))
			b.StopTimer()
			if err != nil || sum.Engine != eng || rec.n < b.N {
				b.Fatalf("engine %s: %d recorded of %d, %v", sum.Engine, rec.n, b.N, err)
			}
		})
	}
}
