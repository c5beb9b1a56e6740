package analyze

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// gaugeOf is a target series sampled once a second from t=0.5 s, value f(t).
func gaugeOf(name string, secs int, f func(t float64) float64) targetSeries {
	ts := targetSeries{name: name}
	for i := range secs {
		t := float64(i) + 0.5
		ts.t = append(ts.t, t)
		ts.v = append(ts.v, f(t))
	}
	return ts
}

// collapsedSeries collapses at t=10 s (10 calm windows, a 5 s surge, then stuck for 15 s).
func collapsedSeries() series {
	return build(n(calm, 10), n(surge, 5), n(stuck, 15))
}

// TestTargetEvidence: judge quotes the target series that line up with the collapse, a pinned
// gauge and a steady climb, and nothing else: not a constant gauge, not a climb that starts
// long after the collapse, not noise, and nothing at all when there was no collapse. The
// verdict is the same with or without them.
func TestTargetEvidence(t *testing.T) {
	pool := gaugeOf("db_pool_in_use", 30, func(t float64) float64 { return math.Min(8, math.Floor(t/1.2)) })   // pinned at 8 from t=9.5
	queue := gaugeOf("queue_depth", 30, func(t float64) float64 { return math.Max(0, math.Floor((t-9)*400)) }) // rises from t=8.5
	size := gaugeOf("db_pool_size", 30, func(float64) float64 { return 8 })                                    // constant
	late := gaugeOf("late_climb", 30, func(t float64) float64 { return math.Max(0, t-22) })                    // starts 12 s late
	noise := gaugeOf("noisy", 30, func(t float64) float64 { return 5 + 3*math.Sin(t*7) })                      // wobbles
	dip := gaugeOf("dips_at_end", 30, func(t float64) float64 { return math.Min(8, t) - bool01f(t > 28) })     // not pinned to the end
	rate := targetSeries{name: "abandoned_total", counter: true, t: queue.t, v: queue.v}                       // a counter's rate climbing
	for _, tc := range []struct {
		name   string
		s      series
		target []targetSeries
		want   []string // substrings of the sentence, in order; nil: no sentence
		not    []string
	}{
		{"pinned pool and climbing queue", collapsedSeries(), []targetSeries{size, pool, queue, noise, late},
			[]string{"the target's own metrics, around the collapse at t=10 s: ",
				"`db_pool_in_use` was at its maximum (8) from t=10.5 s to the end of the run (t=29.5 s)",
				"`queue_depth` rose from 0 at t=8.5 s to 8200 at t=29.5 s"},
			[]string{"db_pool_size", "noisy", "late_climb", "cause", "because"}},
		{"a gauge that leaves its maximum before the end is no saturation", collapsedSeries(), []targetSeries{dip}, nil, nil},
		{"a counter is quoted as a rate", collapsedSeries(), []targetSeries{rate},
			[]string{"the rate of `abandoned_total` rose from 0/s"}, nil},
		{"an overload that recovers: the queue's climb until the trigger ended", build(n(calm, 10), n(surge, 5), n(calm, 15)),
			[]targetSeries{gaugeOf("queue_depth", 30, func(t float64) float64 {
				if t <= 15 {
					return math.Max(0, (t-9)*100)
				}
				return math.Max(0, 550-(t-15)*300)
			})},
			[]string{"`queue_depth` rose from 0 at t=8.5 s to 550 at t=14.5 s"}, nil},
		{"no collapse, no quote", build(n(calm, 30)), []targetSeries{pool, queue}, nil, nil},
		{"nothing lines up", collapsedSeries(), []targetSeries{size, noise, late}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			without := judge(s, defaultParams())
			s.target = tc.target
			j := judge(s, defaultParams())
			if j.verdict != without.verdict || j.onset != without.onset {
				t.Fatalf("the target series changed the verdict: %s at %d, %s at %d without", j.verdict, j.onset, without.verdict, without.onset)
			}
			var sentence string
			for _, e := range j.evidence {
				if strings.HasPrefix(e, "the target's own metrics") {
					sentence = e
				}
			}
			if tc.want == nil {
				if sentence != "" || len(j.evidence) != len(without.evidence) {
					t.Fatalf("quoted %q", sentence)
				}
				return
			}
			rest := sentence
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("sentence %q lacks %q (in order)", sentence, w)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tc.not {
				if strings.Contains(sentence, w) {
					t.Errorf("sentence %q mentions %q", sentence, w)
				}
			}
		})
	}
}

func bool01f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestTargetMetricsReport feeds a recorded run with scrapes through the results file into the
// Analyzer: per phase min/mean/max, a counter as its rate, a reset counter read as counting
// from zero, gaps counted and warned about, and the sections in JSON, text and markdown.
func TestTargetMetricsReport(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rate := 10.0
	h := results.Header{Start: start, Target: "http://t", Groups: []string{"default"},
		Scrape: []string{"http://t/metrics"},
		Profile: profiles.Profile{Name: "p", Phases: []profiles.Phase{
			{Name: "one", Duration: profiles.Duration(4 * time.Second), Rate: &rate},
			{Name: "two", Duration: profiles.Duration(4 * time.Second), Rate: &rate}},
			Client: profiles.Client{Timeout: profiles.Duration(time.Second)}, SLO: profiles.SLO{Latency: profiles.Duration(time.Second)}}}
	var buf bytes.Buffer
	w, err := results.NewWriter(&buf, h, results.CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id := uint64(0)
	// counter: 0,10,20,30 | 40, reset to 5, 25, 45: rates 10/s in phase one, then 10, 5, 20, 20
	counts := []float64{0, 10, 20, 30, 40, 5, 25, 45}
	for sec := range 8 {
		for k := range 10 {
			id++
			rec := results.Record{RequestID: id, Attempt: 1, Kind: results.KindOK, Code: 200,
				Intended: start.Add(time.Duration(sec)*time.Second + time.Duration(k)*100*time.Millisecond).UnixNano(), ServiceTime: time.Millisecond,
				Phase: uint8(sec / 4)}
			if err := w.Write(&rec); err != nil {
				t.Fatal(err)
			}
		}
		sc := results.Scrape{At: start.Add(time.Duration(sec)*time.Second + 500*time.Millisecond).UnixNano(), Samples: []results.Sample{
			{Series: results.Series{Name: "queue", Type: results.MetricGauge}, Value: float64(sec)},
			{Series: results.Series{Name: "served_total", Labels: `{code="200"}`, Type: results.MetricCounter}, Value: counts[sec]},
		}}
		if sec == 3 {
			sc = results.Scrape{At: sc.At, Error: "timeout after 1s"}
			counts[3] = counts[2] // a gap: no sample at 3.5 s
		}
		if err := w.WriteScrape(&sc); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(8 * time.Second), Requests: id, Attempts: id, ScrapeWarnings: []string{"scrape http://t/metrics: kept the first 2"}}); err != nil {
		t.Fatal(err)
	}
	r, err := results.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(DefaultOptions())
	if _, damage, err := results.Copy(a, r); err != nil || damage != nil {
		t.Fatal(damage, err)
	}
	rep := a.Report(nil)
	if len(rep.TargetMetrics) != 2 || len(rep.TargetScrapes) != 1 {
		t.Fatalf("target sections: %+v %+v", rep.TargetMetrics, rep.TargetScrapes)
	}
	if s := rep.TargetScrapes[0]; s.Scrapes != 8 || s.Gaps != 1 || s.FirstError != "timeout after 1s" {
		t.Errorf("scrapes %+v", s)
	}
	phase := func(ts TargetSeries, i int) [3]float64 {
		p := ts.Phases[i]
		if p.Mean == nil {
			return [3]float64{-1, -1, -1}
		}
		return [3]float64{*p.Min, *p.Mean, *p.Max}
	}
	q, c := rep.TargetMetrics[0], rep.TargetMetrics[1]
	if q.Series != "queue" || q.Type != "gauge" || q.Unit != "" || phase(q, 0) != [3]float64{0, 1, 2} || phase(q, 1) != [3]float64{4, 5.5, 7} {
		t.Errorf("gauge %s: %v %v", q.Series, phase(q, 0), phase(q, 1))
	}
	// Rates at 1.5 and 2.5 s (10/s); across the gap, 4.5 s: (40-20)/2 = 10/s; 5.5: reset, 5/s; 6.5, 7.5: 20/s.
	if c.Series != `served_total{code="200"}` || c.Type != "counter" || c.Unit != "/s" ||
		phase(c, 0) != [3]float64{10, 10, 10} || phase(c, 1) != [3]float64{5, 13.75, 20} {
		t.Errorf("counter %s: %v %v (points %v)", c.Series, phase(c, 0), phase(c, 1), c.Points)
	}
	warned := strings.Join(rep.Warnings, "\n")
	for _, w := range []string{"1 of 8 scrapes of http://t/metrics failed (first: timeout after 1s)", "kept the first 2"} {
		if !strings.Contains(warned, w) {
			t.Errorf("warnings lack %q:\n%s", w, warned)
		}
	}
	var js bytes.Buffer
	if err := rep.Write(&js, FormatJSON, false); err != nil {
		t.Fatal(err)
	}
	var back struct {
		TargetMetrics []struct {
			Series string           `json:"series"`
			Points [][2]float64     `json:"points"`
			Phases []map[string]any `json:"phases"`
		} `json:"target_metrics"`
		TargetScrapes []map[string]any `json:"target_scrapes"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.TargetMetrics) != 2 || len(back.TargetMetrics[0].Points) != 7 ||
		back.TargetMetrics[0].Phases[1]["max"] != 7.0 || back.TargetScrapes[0]["gaps"] != 1.0 {
		t.Errorf("JSON: %v\n%s", err, js.String())
	}
	for f, want := range map[Format][]string{
		FormatText:     {"target metrics, min / mean / max per phase (counters as rates /s), from http://t/metrics (8 scrapes, 1 failed)", "queue", "0 / 1 / 2", "4 / 5.5 / 7", `served_total{code="200"} /s`, "5 / 13.8 / 20"},
		FormatMarkdown: {"| series | one | two |", "| `queue` | 0 / 1 / 2 | 4 / 5.5 / 7 |"},
	} {
		var out bytes.Buffer
		if err := rep.Write(&out, f, false); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("format %v lacks %q:\n%s", f, w, out.String())
			}
		}
	}
}
