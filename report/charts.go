package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/stormtest/stormtest/analyze"
)

// run is one report as drawn: its analysis, its title and how its lines are dashed.
type run struct {
	rep   *analyze.Report
	title string
	dash  string // "" for the last (or only) run, dashed for the earlier ones ("before")
	win   float64
}

// Colours: one per quantity, so a quantity looks the same in every chart and in both runs
// (the runs differ by dash, not by colour).
const (
	colIntended = "#555555"
	colOffered  = "#e6550d"
	colGoodput  = "#2ca02c"
	colOnset    = "#d62728"
	colTrigger  = "#1f77b4"
	// colTriggerWindow shades a profile trigger's window (a capacity cut, a database outage).
	colTriggerWindow = "#e6550d"
	colRecovery      = "#2ca02c"
)

var (
	latencyCols = []string{"#1f77b4", "#ff7f0e", "#d62728", "#7b3294"}
	// phaseCols tell phases apart in the percentile plot.
	phaseCols = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}
	// kindOrder and kindCols: the failure kinds analyze names, in its order.
	kindOrder = []string{"timeout", "refused", "reset", "5xx", "429", "4xx", "other"}
	kindCols  = map[string]string{"timeout": "#d62728", "refused": "#9467bd", "reset": "#8c564b",
		"5xx": "#ff7f0e", "429": "#e377c2", "4xx": "#bcbd22", "other": "#7f7f7f"}
)

// legendFor labels a series in the legend only for the last run: colours mean the same in
// every run, and runKeys says which dash is which run.
func (r run) legendFor(label string) string {
	if r.dash != "" {
		return ""
	}
	return label
}

// runKeys adds one legend entry per run showing its dash, when runs are overlaid.
func runKeys(p *plot, runs []run) {
	if len(runs) < 2 {
		return
	}
	for _, r := range runs {
		how := "solid"
		if r.dash != "" {
			how = "dashed"
		}
		p.key(r.title+" ("+how+")", style{"#333333", r.dash, 2})
	}
}

func (r run) name(label string) string {
	if r.title == "" {
		return label
	}
	return label + " (" + r.title + ")"
}

// windowSeconds is the width of a report's windows, read from the series itself because the
// report does not carry its options.
func windowSeconds(rep *analyze.Report) float64 {
	if len(rep.Windows) >= 2 {
		if w := rep.Windows[1].T - rep.Windows[0].T; w > 0 {
			return w
		}
	}
	return 1
}

// timeSpan is the time axis shared by the runs' charts: to the latest window or phase end.
func timeSpan(runs []run) float64 {
	end := 0.0
	for _, r := range runs {
		if n := len(r.rep.Windows); n > 0 {
			end = max(end, r.rep.Windows[n-1].T+r.win)
		}
		for _, p := range r.rep.Phases {
			end = max(end, p.EndSeconds)
		}
	}
	return max(end, 1)
}

// timePlot prepares a chart over the run's time axis with the phases of the first run shaded
// and labelled (runs compared side by side ran the same profile, or close enough to read).
func timePlot(title string, runs []run, y0, y1 float64, ylog bool) (*plot, float64) {
	return timePlotH(title, runs, y0, y1, ylog, chartH)
}

// timePlotH is timePlot for a chart of the given height (set before the bands are drawn).
func timePlotH(title string, runs []run, y0, y1 float64, ylog bool, height float64) (*plot, float64) {
	end := timeSpan(runs)
	p := newPlot(title, 0, end, y0, y1, ylog)
	p.height = height
	p.xticks, _ = niceTicks(0, end, 10, fmtSeconds(end > 600))
	for i, ph := range runs[0].rep.Phases {
		fill := "#f2f2f2"
		if i%2 == 1 {
			fill = "#e4e4e4"
		}
		p.band(ph.StartSeconds, ph.EndSeconds, fill, ph.Name)
	}
	// Triggers (capacity cuts, a database refusing connections) are shaded over the phases:
	// the change that is not load, where it happened.
	for _, tr := range runs[0].rep.Triggers {
		label := "trigger " + tr.Name
		if tr.Failed {
			label += " (start call failed)"
		}
		p.shade(tr.StartSeconds, tr.EndSeconds, colTriggerWindow, label)
	}
	return p, end
}

// column extracts a per-window series, x at the window's middle.
func column(r run, f func(*analyze.Window) float64) (xs, ys []float64) {
	xs = make([]float64, len(r.rep.Windows))
	ys = make([]float64, len(r.rep.Windows))
	for i := range r.rep.Windows {
		w := &r.rep.Windows[i]
		xs[i] = w.T + r.win/2
		ys[i] = f(w)
	}
	return xs, ys
}

// markers draws onset, trigger end and recovery (or "no recovery") of every run. A marker
// that falls at the same time in every run is drawn once, unlabelled by run, so overlaid runs
// of one profile do not stack identical labels.
func markers(p *plot, runs []run) {
	type mark struct {
		at    float64
		col   string
		width float64
		label string
	}
	perRun := make([][]mark, len(runs))
	for i, r := range runs {
		rep := r.rep
		if rep.OnsetSeconds != nil {
			perRun[i] = append(perRun[i], mark{*rep.OnsetSeconds, colOnset, 1.5, fmt.Sprintf("onset %.0f s", *rep.OnsetSeconds)})
		}
		if rep.TriggerEndSeconds != nil {
			perRun[i] = append(perRun[i], mark{*rep.TriggerEndSeconds, colTrigger, 1.5, fmt.Sprintf("trigger end %.0f s", *rep.TriggerEndSeconds)})
			if rep.RecoverySeconds != nil {
				perRun[i] = append(perRun[i], mark{*rep.TriggerEndSeconds + *rep.RecoverySeconds, colRecovery, 2,
					fmt.Sprintf("recovered %.0f s after trigger", *rep.RecoverySeconds)})
			}
		}
	}
	inAll := func(m mark) bool {
		for _, ms := range perRun {
			found := false
			for _, o := range ms {
				found = found || (o.label == m.label && o.at == m.at)
			}
			if !found {
				return false
			}
		}
		return true
	}
	row := 0
	for i, r := range runs {
		for _, m := range perRun[i] {
			label := r.name(m.label)
			if len(runs) > 1 && inAll(m) {
				if i > 0 {
					continue
				}
				label = m.label
			}
			p.vline(m.at, style{m.col, pick(r.dash, "5 3"), m.width}, label, row)
			row++
		}
		if r.rep.OnsetSeconds != nil && r.rep.RecoverySeconds == nil {
			p.note(row, colOnset, r.name("no recovery: "+r.rep.Verdict))
			row++
		}
	}
}

// pick returns the run's dash when it has one, else def: marker lines are dashed anyway,
// and a dashed run's markers get its (different) pattern.
func pick(runDash, def string) string {
	if runDash != "" {
		return "2 3"
	}
	return def
}

// rateChart: intended, offered and goodput per second — the feedback loop: offered pulling
// away from intended while goodput falls is retries feeding on failures.
func rateChart(runs []run) string {
	top := 0.0
	for _, r := range runs {
		for _, w := range r.rep.Windows {
			top = max(top, w.IntendedRPS, w.OfferedRPS, w.GoodputRPS)
		}
	}
	yt, top := niceTicks(0, max(top*1.08, 1), 6, fmtNum)
	p, _ := timePlot("Load and goodput", runs, 0, top, false)
	p.yticks = yt
	for _, r := range runs {
		for _, s := range []struct {
			label string
			col   string
			f     func(*analyze.Window) float64
		}{
			{"intended", colIntended, func(w *analyze.Window) float64 { return w.IntendedRPS }},
			{"offered (with retries)", colOffered, func(w *analyze.Window) float64 { return w.OfferedRPS }},
			{"goodput", colGoodput, func(w *analyze.Window) float64 { return w.GoodputRPS }},
		} {
			xs, ys := column(r, s.f)
			p.series(xs, ys, style{s.col, r.dash, 2}, r.legendFor(s.label))
		}
	}
	markers(p, runs)
	runKeys(p, runs)
	return p.svg("time from start", "requests per second")
}

// latencyChart: per-window percentiles on a log axis, where a timeout plateau and a 5 ms
// baseline are both readable.
func latencyChart(runs []run) string {
	lo, hi := math.Inf(1), 0.0
	for _, r := range runs {
		for _, w := range r.rep.Windows {
			for _, v := range []float64{w.P50, w.P99, w.P999, w.Max} {
				if v > 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
	}
	elo, ehi := decades(lo, hi)
	p, _ := timePlot("Latency per window (log scale)", runs, math.Pow(10, float64(elo)), math.Pow(10, float64(ehi)), true)
	p.yticks = logTicks(elo, ehi)
	for _, r := range runs {
		for i, s := range []struct {
			label string
			f     func(*analyze.Window) float64
		}{
			{"p50", func(w *analyze.Window) float64 { return w.P50 }},
			{"p99", func(w *analyze.Window) float64 { return w.P99 }},
			{"p99.9", func(w *analyze.Window) float64 { return w.P999 }},
			{"max", func(w *analyze.Window) float64 { return w.Max }},
		} {
			xs, ys := column(r, s.f)
			p.series(xs, ys, style{latencyCols[i], r.dash, 1.6}, r.legendFor(s.label))
		}
	}
	markers(p, runs)
	runKeys(p, runs)
	return p.svg("time from start (attempts by end time)", "latency")
}

// hdrX places a percentile on the 1/(1−p) log axis: 0 at 0 %, 1 at 90 %, 2 at 99 % …
func hdrX(pct float64) float64 { return math.Log10(1 / (1 - pct/100)) }

// distributionChart is the HDR percentile plot: latency against percentile, the tail spread
// out a decade per nine. The 100th percentile (the maximum) sits at the axis end.
func distributionChart(runs []run) string {
	nines := 2.0
	lo, hi := math.Inf(1), 0.0
	for _, r := range runs {
		for _, ph := range r.rep.Phases {
			for _, d := range ph.Distribution {
				if d.Percentile < 100 {
					nines = max(nines, hdrX(d.Percentile))
				}
				if d.ValueMS > 0 {
					lo, hi = min(lo, d.ValueMS), max(hi, d.ValueMS)
				}
			}
		}
	}
	end := math.Ceil(nines - 1e-9)
	elo, ehi := decades(lo, hi)
	p := newPlot("Latency by percentile, per phase (HDR)", 0, end, math.Pow(10, float64(elo)), math.Pow(10, float64(ehi)), true)
	p.height = 360
	p.yticks = logTicks(elo, ehi)
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"}
	for k := 0; k <= int(end) && k < len(labels); k++ {
		p.xticks = append(p.xticks, tick{float64(k), labels[k]})
	}
	// The last tick also carries the maximum; its label is written right-aligned by svg.
	p.xticks[len(p.xticks)-1].label += " · max"
	for _, r := range runs {
		for i, ph := range r.rep.Phases {
			var xs, ys []float64
			for _, d := range ph.Distribution {
				x := end
				if d.Percentile < 100 {
					x = min(hdrX(d.Percentile), end)
				}
				xs = append(xs, x)
				ys = append(ys, d.ValueMS)
			}
			p.series(xs, ys, style{phaseCols[i%len(phaseCols)], r.dash, 2}, r.legendFor(ph.Name))
		}
	}
	runKeys(p, runs)
	return p.svg("percentile", "latency")
}

// errorChart: failed attempts per second by kind, the way the target failed over time.
func errorChart(runs []run) string {
	kinds := map[string]bool{}
	top := 0.0
	for _, r := range runs {
		for _, w := range r.rep.Windows {
			for k, n := range w.Errors {
				kinds[k] = true
				top = max(top, float64(n)/r.win)
			}
		}
	}
	order := append([]string(nil), kindOrder...)
	var extra []string
	for k := range kinds {
		if _, ok := kindCols[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)

	yt, top := niceTicks(0, max(top*1.08, 1), 6, fmtNum)
	p, _ := timePlot("Errors by kind", runs, 0, top, false)
	p.yticks = yt
	for _, r := range runs {
		for _, k := range order {
			if !kinds[k] {
				continue
			}
			col, ok := kindCols[k]
			if !ok {
				col = "#333333"
			}
			xs, ys := column(r, func(w *analyze.Window) float64 { return float64(w.Errors[k]) / r.win })
			p.series(xs, ys, style{col, r.dash, 1.6}, r.legendFor(k))
		}
	}
	markers(p, runs)
	runKeys(p, runs)
	return p.svg("time from start (attempts by end time)", "failed attempts per second")
}

// groupChart: attempts per client group, first attempts and retries stacked, one bar per run,
// labelled with the amplification (and after the trigger, when analyze computed it).
func groupChart(runs []run) string {
	var names []string
	seen := map[string]bool{}
	top := 0.0
	for _, r := range runs {
		for _, g := range r.rep.Groups {
			if !seen[g.Name] {
				seen[g.Name] = true
				names = append(names, g.Name)
			}
			top = max(top, float64(g.Attempts))
		}
	}
	n := float64(len(runs))
	slot := 1.0 // one x unit per group
	p := newPlot("Attempts per client group", 0, max(float64(len(names)), 1)*slot, 0, 1, false)
	yt, top := niceTicks(0, max(top*1.15, 1), 5, fmtNum)
	p.y1 = top
	p.yticks = yt
	p.height = 300
	p.legend = append(p.legend, legendItem{"first attempts", style{"#6baed6", "", 8}}, legendItem{"retries", style{"#fd8d3c", "", 8}})
	for gi, name := range names {
		p.xticks = append(p.xticks, tick{float64(gi) + 0.5, name})
		for ri, r := range runs {
			var g *analyze.GroupStats
			for i := range r.rep.Groups {
				if r.rep.Groups[i].Name == name {
					g = &r.rep.Groups[i]
				}
			}
			if g == nil {
				continue
			}
			w := 0.6 / n
			x0 := float64(gi) + 0.2 + float64(ri)*w
			stroke := "#333333"
			p.bar(x0+0.01, x0+w-0.01, 0, float64(g.Requests), "#6baed6", stroke, r.dash)
			p.bar(x0+0.01, x0+w-0.01, float64(g.Requests), float64(g.Attempts), "#fd8d3c", stroke, r.dash)
			// Short enough to fit over its bar: the bar's outline already says which run it is.
			lbl := fmt.Sprintf("%.2f×", g.Amplification)
			if g.AmplificationAfterTrigger != nil {
				lbl += fmt.Sprintf(" (%.2f× after)", *g.AmplificationAfterTrigger)
			}
			p.text(x0+w/2, float64(g.Attempts)+top*0.02, "middle", "mark", lbl)
		}
	}
	runKeys(p, runs)
	return p.svg("client group (attempts per request on top; after: from the trigger's end)", "attempts")
}

// decades is the range of whole powers of ten, at least one apart, that holds the positive
// values from lo to hi on a log axis; 1 ms to 1 s when nothing was seen (hi 0).
func decades(lo, hi float64) (elo, ehi int) {
	if hi == 0 {
		lo, hi = 1, 1000
	}
	elo, ehi = int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	if ehi <= elo {
		ehi = elo + 1
	}
	return elo, ehi
}
