package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
)

func windows(goodput, p99 []float64) []analyze.Window {
	ws := make([]analyze.Window, len(goodput))
	for i := range goodput {
		ws[i] = analyze.Window{T: float64(i), GoodputRPS: goodput[i], P99: p99[i]}
	}
	return ws
}

func TestMeasureCapacity(t *testing.T) {
	slo := 500 * time.Millisecond
	cases := []struct {
		name    string
		goodput []float64
		p99     []float64
		slo     time.Duration
		rps     float64
		at      float64
		spans   int
	}{
		{"steady", []float64{100, 100, 100, 100}, []float64{10, 10, 10, 10}, slo, 100, 0, 2},
		// A single best second does not count as capacity: the best 3-window mean does.
		{"one lucky second", []float64{100, 100, 400, 100, 100}, []float64{10, 10, 10, 10, 10}, slo, 200, 0, 3},
		// The highest goodput came with a p99 above the SLO: it is not capacity.
		{"peak beyond SLO", []float64{100, 200, 300, 600, 600, 600, 200}, []float64{10, 20, 30, 900, 900, 900, 30}, slo, 200, 0, 1},
		// p99 exactly at the SLO counts (≤).
		{"at SLO", []float64{300, 300, 300}, []float64{500, 500, 500}, slo, 300, 0, 1},
		{"just above SLO", []float64{300, 300, 300}, []float64{500, 500.1, 500}, slo, 0, 0, 0},
		{"later span best", []float64{100, 100, 100, 250, 250, 250}, []float64{1, 1, 1, 1, 1, 1}, slo, 250, 3, 4},
		{"no SLO", []float64{100, 600, 600, 600}, []float64{1, 9000, 9000, 9000}, 0, 600, 1, 2},
		{"too short", []float64{100, 100}, []float64{1, 1}, slo, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := MeasureCapacity(windows(tc.goodput, tc.p99), tc.slo)
			if c.RPS != tc.rps || c.Spans != tc.spans {
				t.Errorf("capacity %g over %d spans, want %g over %d", c.RPS, c.Spans, tc.rps, tc.spans)
			}
			switch {
			case tc.spans == 0 && c.AtSeconds != nil:
				t.Errorf("at %g with no qualifying span", *c.AtSeconds)
			case tc.spans > 0 && (c.AtSeconds == nil || *c.AtSeconds != tc.at):
				t.Errorf("at %v, want %g", c.AtSeconds, tc.at)
			}
		})
	}
}

// report is a hand-built run of two phases whose service serves up to capacity rps within
// the SLO.
func report(profile string, capacity float64, verdict string) *analyze.Report {
	var ws []analyze.Window
	for i := range 10 {
		g, p99 := capacity, 50.0
		if i >= 4 && i < 7 {
			g, p99 = capacity/2, 2000 // the peak: goodput falls, latency beyond the SLO
		}
		ws = append(ws, analyze.Window{T: float64(i), GoodputRPS: g, P99: p99})
	}
	return &analyze.Report{
		Verdict: verdict, Profile: profile, DurationSeconds: 10,
		Requests: 1000, Attempts: 1100, Goodput: uint64(capacity * 8),
		Latency: analyze.LatencySummary{Percentiles: analyze.Percentiles{P50: 20, P99: 400, P999: 900}},
		Errors:  map[string]uint64{"timeout": 110},
		Phases: []analyze.PhaseStats{
			{Name: "base", EndSeconds: 4, IntendedRPS: 100, OfferedRPS: 100, GoodputRPS: capacity, P50: 5, P99: 10, P999: 15},
			{Name: "peak", StartSeconds: 4, EndSeconds: 10, IntendedRPS: 200, OfferedRPS: 250, GoodputRPS: capacity / 2, ErrorRPS: 25, P50: 100, P99: 600, P999: 950},
		},
		Windows: ws,
	}
}

// withSLO sets the SLO the analysis of rep found in its run's header.
func withSLO(rep *analyze.Report, slo time.Duration) *analyze.Report {
	rep.SLO = slo
	return rep
}

func TestCompare(t *testing.T) {
	slo := 500 * time.Millisecond
	run := func(label string, rep *analyze.Report) Run {
		if rep.SLO == 0 {
			rep.SLO = slo
		}
		return Run{Label: label, Report: rep}
	}
	opt := Options{FailOnRegression: DefaultFailOnRegression}

	t.Run("halved capacity is a regression", func(t *testing.T) {
		// Both runs have the same verdict (as if both passed their gates): still flagged.
		c, err := Compare(run("before.st", report("p", 800, analyze.Stable)), run("after.st", report("p", 400, analyze.Stable)), opt)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Regression || c.CapacityDeltaPct == nil || *c.CapacityDeltaPct != -50 {
			t.Fatalf("regression %v, delta %v; want a -50%% regression", c.Regression, c.CapacityDeltaPct)
		}
		if c.Before.Capacity.RPS != 800 || c.After.Capacity.RPS != 400 {
			t.Errorf("capacities %g, %g", c.Before.Capacity.RPS, c.After.Capacity.RPS)
		}
		if !strings.HasPrefix(c.Summary, "REGRESSION") || !strings.Contains(c.Summary, "50%") {
			t.Errorf("summary %q", c.Summary)
		}
		var text bytes.Buffer
		if err := c.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(text.String(), "\n"); first != c.Summary {
			t.Errorf("text does not start with the verdict: %q", first)
		}
		if !strings.Contains(text.String(), "-50%") {
			t.Errorf("text lacks the phase deltas:\n%s", text.String())
		}
		row := findRow(t, c, "base", "goodput_rps")
		if row.Before != 800 || row.After != 400 || *row.DeltaPct != -50 {
			t.Errorf("base goodput row %+v", row)
		}
		if r := findRow(t, c, "peak", "error_rate"); r.Before != 0.1 {
			t.Errorf("peak error rate %g, want 25/250", r.Before)
		}
	})
	// Issue 11: a side judged down or inconclusive must not pass as a plain "no regression":
	// the summary says so, with the analysis' reason.
	t.Run("a side without evidence is named", func(t *testing.T) {
		for _, v := range []string{analyze.Down, analyze.Inconclusive} {
			after := report("p", 800, v)
			after.Evidence = []string{"too few requests to judge"}
			c, err := Compare(run("a.st", report("p", 800, analyze.Stable)), run("b.st", after), opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"b.st was judged " + v, "too few requests to judge"} {
				if !strings.Contains(c.Summary, want) {
					t.Errorf("%s: summary %q lacks %q", v, c.Summary, want)
				}
			}
		}
	})
	t.Run("equal runs are not", func(t *testing.T) {
		c, err := Compare(run("a.st", report("p", 800, analyze.Stable)), run("b.st", report("p", 800, analyze.Stable)), opt)
		if err != nil {
			t.Fatal(err)
		}
		if c.Regression || *c.CapacityDeltaPct != 0 || strings.Contains(c.Summary, "REGRESSION") {
			t.Fatalf("equal runs: %+v", c)
		}
		for _, r := range c.Rows {
			if r.DeltaPct == nil || *r.DeltaPct != 0 {
				t.Errorf("row %+v has a delta", r)
			}
		}
	})
	t.Run("threshold boundary", func(t *testing.T) {
		// A 10 % loss is within a 10 % allowance; 10.5 % is not.
		for _, tc := range []struct {
			after float64
			want  bool
		}{{720, false}, {716, true}, {880, false}} {
			c, err := Compare(run("a", report("p", 800, analyze.Stable)), run("b", report("p", tc.after, analyze.Stable)), opt)
			if err != nil {
				t.Fatal(err)
			}
			if c.Regression != tc.want {
				t.Errorf("800 → %g: regression %v, want %v", tc.after, c.Regression, tc.want)
			}
		}
	})
	t.Run("different profiles refused", func(t *testing.T) {
		other := report("q", 800, analyze.Stable)
		renamed := report("p", 800, analyze.Stable)
		renamed.Phases[1].Name = "surge"
		for name, tc := range map[string]struct {
			after Run
			want  string
		}{
			"name":   {run("after.st", other), `"p"`},
			"phases": {run("after.st", renamed), "phases"},
			"slo":    {run("after.st", withSLO(report("p", 800, analyze.Stable), time.Second)), "SLO"},
		} {
			_, err := Compare(run("before.st", report("p", 800, analyze.Stable)), tc.after, opt)
			if !errors.Is(err, ErrDifferentProfiles) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "after.st") {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("formats", func(t *testing.T) {
		c, err := Compare(run("before.st", report("p", 800, analyze.Stable)), run("after.st", report("p", 400, analyze.Metastable)), opt)
		if err != nil {
			t.Fatal(err)
		}
		var js, md bytes.Buffer
		if err := c.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		var back Comparison
		if err := json.Unmarshal(js.Bytes(), &back); err != nil || !back.Regression || back.After.Verdict != analyze.Metastable || len(back.Rows) != len(c.Rows) {
			t.Errorf("JSON round trip: %v %+v", err, back)
		}
		if err := c.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(md.String(), "**REGRESSION") || !strings.Contains(md.String(), "| peak | p99 | 600ms | 600ms | 0% |") {
			t.Errorf("markdown:\n%s", md.String())
		}
	})
}

func findRow(t *testing.T, c *Comparison, phase, metric string) Row {
	t.Helper()
	for _, r := range c.Rows {
		if r.Phase == phase && r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %s %s", phase, metric)
	return Row{}
}
