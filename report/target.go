package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/stormtest/stormtest/analyze"
)

// The target's side: the Prometheus series attack --scrape recorded, one small chart each
// under the load chart and on the same time axis, so that a queue climbing or a pool pinned
// at its size reads against offered load and goodput at a glance. Counters are drawn as
// their rate per second.

// maxTargetCharts bounds the charts: the series the evidence quotes come first, then the
// others in the order they were scraped; the rest stay in analyze's JSON.
const maxTargetCharts = 12

const colTarget = "#6a3d9a"

// targetCharts draws the runs' target series, one chart per series name{labels}, the runs
// overlaid (runs against different targets name their endpoints differently, so a series is
// matched by name and labels only).
func targetCharts(runs []run) []chart {
	var names []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	for _, r := range runs { // quoted in the evidence first: those are the ones to look at
		for _, ts := range r.rep.TargetMetrics {
			if quoted(r.rep, ts.Series) {
				add(ts.Series)
			}
		}
	}
	for _, r := range runs {
		for _, ts := range r.rep.TargetMetrics {
			add(ts.Series)
		}
	}
	left := 0
	if len(names) > maxTargetCharts {
		left = len(names) - maxTargetCharts
		names = names[:maxTargetCharts]
	}
	var out []chart
	for i, name := range names {
		c := chart{Title: "Target: " + name, SVG: template.HTML(targetChart(runs, name))}
		if i == 0 {
			c.Caption = "The target's own metrics, scraped during the run on the same clock as the load above " +
				"(counters as their rate per second; gaps where a scrape failed)."
			if left > 0 {
				c.Caption += fmt.Sprintf(" %d more series are in stormtest analyze --json (target_metrics).", left)
			}
		}
		out = append(out, c)
	}
	return out
}

// quoted reports whether the run's evidence names the series.
func quoted(rep *analyze.Report, series string) bool {
	for _, e := range rep.Evidence {
		if strings.Contains(e, "`"+series+"`") {
			return true
		}
	}
	return false
}

// targetChart draws one series for every run that has it.
func targetChart(runs []run, name string) string {
	top, bottom, unit := 0.0, 0.0, ""
	for _, r := range runs {
		if ts := find(r.rep, name); ts != nil {
			unit = ts.Unit
			for _, p := range ts.Points {
				top, bottom = max(top, p[1]), min(bottom, p[1])
			}
		}
	}
	yt, hi := niceTicks(bottom, max(top*1.08, bottom+1), 4, fmtNum)
	p, _ := timePlotH(name, runs, bottom, hi, false, 200)
	p.yticks = yt
	for _, r := range runs {
		ts := find(r.rep, name)
		if ts == nil {
			continue
		}
		xs, ys := gapped(ts, r.rep)
		p.series(xs, ys, style{colTarget, r.dash, 2}, r.legendFor(ts.Type+unitLabel(unit)))
	}
	markers(p, runs)
	runKeys(p, runs)
	ylabel := "value"
	if unit != "" {
		ylabel = "per second"
	}
	return p.svg("time from start", ylabel)
}

func unitLabel(unit string) string {
	if unit == "/s" {
		return " (rate /s)"
	}
	return ""
}

func find(rep *analyze.Report, series string) *analyze.TargetSeries {
	i := slices.IndexFunc(rep.TargetMetrics, func(ts analyze.TargetSeries) bool { return ts.Series == series })
	if i < 0 {
		return nil
	}
	return &rep.TargetMetrics[i]
}

// gapped is the series' points with a break (NaN) wherever scrapes of its endpoint stopped for
// more than twice the usual interval, so that a failed scrape shows as a gap, not a line
// across it.
func gapped(ts *analyze.TargetSeries, rep *analyze.Report) (xs, ys []float64) {
	var steps []float64
	for i := 1; i < len(ts.Points); i++ {
		steps = append(steps, ts.Points[i][0]-ts.Points[i-1][0])
	}
	slices.Sort(steps)
	usual := math.Inf(1)
	if len(steps) > 0 {
		usual = steps[len(steps)/2]
	}
	for i, pt := range ts.Points {
		if i > 0 && pt[0]-ts.Points[i-1][0] > 2*usual {
			xs, ys = append(xs, (pt[0]+ts.Points[i-1][0])/2), append(ys, math.NaN())
		}
		xs, ys = append(xs, pt[0]), append(ys, pt[1])
	}
	return xs, ys
}
