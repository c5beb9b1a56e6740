package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/stormtest/stormtest/capacity"
)

// Capacity colours: pass/recovered and fail/tipped are the verdict colours of the run report;
// policies get colours that are neither, so a probe's fill says its outcome and its shape and
// outline say its policy.
const (
	colPass   = "#2ca02c"
	colFail   = "#d62728"
	colKnee   = "#1f77b4"
	colBand   = "#dbe9f6"
	colIdeal  = "#999999"
	colP50    = "#1f77b4"
	colP99    = "#ff7f0e"
	markerR   = 5.0 // marker radius in viewBox units
	policyGap = 20.0
)

var (
	policyCols = []string{"#ff7f0e", "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#555555"}
	// shapeGlyphs name the marker shapes in legends and headings, in shape order.
	shapeGlyphs = []string{"●", "■", "▲", "◆", "▼"}
)

// marker draws a point at data (x, y), shifted dx viewBox units to the right, as shape (an
// index into shapeGlyphs; -1 is a cross, for failures). title becomes its tooltip.
func (p *plot) marker(x, y, dx float64, shape int, fill, stroke, title string) {
	X, Y := p.px(x)+dx, p.py(y)
	if math.IsNaN(Y) || x < p.x0 || x > p.x1 {
		return
	}
	r := markerR
	var d string
	switch {
	case shape < 0:
		// A cross has no inside to fill: it is stroked in the fill colour, thicker.
		d = fmt.Sprintf("M%s,%sL%s,%sM%s,%sL%s,%s", f1(X-r), f1(Y-r), f1(X+r), f1(Y+r), f1(X-r), f1(Y+r), f1(X+r), f1(Y-r))
		stroke, fill = fill, "none"
	case shape%len(shapeGlyphs) == 0: // circle, as two arcs
		d = fmt.Sprintf("M%s,%sa%s,%s 0 1,0 %s,0a%s,%s 0 1,0 %s,0Z", f1(X-r), f1(Y), f1(r), f1(r), f1(2*r), f1(r), f1(r), f1(-2*r))
	case shape%len(shapeGlyphs) == 1: // square
		q := r * 0.9
		d = fmt.Sprintf("M%s,%sH%sV%sH%sZ", f1(X-q), f1(Y-q), f1(X+q), f1(Y+q), f1(X-q))
	case shape%len(shapeGlyphs) == 2: // triangle up
		d = fmt.Sprintf("M%s,%sL%s,%sL%s,%sZ", f1(X), f1(Y-r*1.2), f1(X+r*1.1), f1(Y+r*0.8), f1(X-r*1.1), f1(Y+r*0.8))
	case shape%len(shapeGlyphs) == 3: // diamond
		d = fmt.Sprintf("M%s,%sL%s,%sL%s,%sL%s,%sZ", f1(X), f1(Y-r*1.3), f1(X+r), f1(Y), f1(X), f1(Y+r*1.3), f1(X-r), f1(Y))
	default: // triangle down
		d = fmt.Sprintf("M%s,%sL%s,%sL%s,%sZ", f1(X), f1(Y+r*1.2), f1(X+r*1.1), f1(Y-r*0.8), f1(X-r*1.1), f1(Y-r*0.8))
	}
	width := 1.5
	if shape < 0 {
		width = 2.5
	}
	p.drawn++
	fmt.Fprintf(&p.fg, `<path d="%s" fill="%s" stroke="%s" stroke-width="%s"><title>%s</title></path>`,
		d, fill, stroke, f1(width), esc(title))
}

// area fills the polygon through the data points (xs, ys) in order, shifted dx viewBox units,
// under the lines and markers.
func (p *plot) area(xs, ys []float64, dx float64, fill string, opacity float64) {
	var b strings.Builder
	for i := range xs {
		Y := p.py(ys[i])
		if math.IsNaN(Y) {
			return
		}
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%s,%s", cmd, f1(p.px(xs[i])+dx), f1(Y))
	}
	if b.Len() == 0 {
		return
	}
	fmt.Fprintf(&p.fg, `<path d="%sZ" fill="%s" fill-opacity="%s" stroke="none"/>`, b.String(), fill, f1(opacity))
}

// shift is dx viewBox units in x data units, so that p.series can draw a policy's lines at
// its offset.
func (p *plot) shift(dx float64) float64 { return dx * (p.x1 - p.x0) / p.plotW() }

// rateAxis is the knee charts' shared x axis: 0 to a little beyond the highest step.
func rateAxis(k *capacity.Knee) (float64, []tick) {
	top := k.RPS
	for _, s := range k.Curve {
		top = max(top, s.RPS)
	}
	ts, end := niceTicks(0, max(top*1.05, 1), 10, fmtNum)
	return end, ts
}

// kneeMarks shades the knee's interval and draws the knee as a vertical line.
func kneeMarks(p *plot, k *capacity.Knee) {
	if k.LowRPS > 0 && k.HighRPS > k.LowRPS {
		p.band(k.LowRPS, k.HighRPS, colBand, "")
	}
	if k.RPS <= 0 {
		return
	}
	label := "knee " + fmtRate(k.RPS) + " req/s"
	if k.AtLeast {
		label = "knee ≥ " + fmtRate(k.RPS) + " req/s"
	}
	if k.LowRPS > 0 && k.HighRPS > k.LowRPS {
		label += " (" + fmtRate(k.LowRPS) + "–" + fmtRate(k.HighRPS) + ")"
	}
	p.vline(k.RPS, style{colKnee, "6 3", 2}, label, 0)
}

// stepTitle is a knee step's tooltip.
func stepTitle(s capacity.Step) string {
	v := "pass"
	if !s.Pass {
		v = "FAIL"
	}
	return fmt.Sprintf("%s req/s (repeat %d): goodput %.1f/s, p50 %.0f ms, p99 %.0f ms, errors %.1f %%: %s",
		fmtRate(s.RPS), s.Repeat+1, s.GoodputRPS, s.P50, s.P99, 100*s.ErrorRate, v)
}

// stepMarker marks a step: a green dot that passed, a red cross that failed.
func stepMarker(p *plot, s capacity.Step, y float64) {
	if s.Pass {
		p.marker(s.RPS, y, 0, 0, colPass, "#ffffff", stepTitle(s))
	} else {
		p.marker(s.RPS, y, 0, -1, colFail, "", stepTitle(s))
	}
}

// passFailKeys are the legend entries for step markers, as colour swatches.
func passFailKeys(p *plot, pass, fail string) {
	p.key(pass, style{colPass, "", 8})
	p.key(fail, style{colFail, "", 8})
}

// throughputChart: goodput against offered rate. A target keeping up follows the diagonal;
// past the knee goodput flattens or falls while the rate goes on.
func throughputChart(k *capacity.Knee) string {
	x1, xt := rateAxis(k)
	top := x1
	for _, s := range k.Curve {
		top = max(top, s.GoodputRPS)
	}
	yt, top := niceTicks(0, top*1.05, 6, fmtNum)
	p := newPlot("Throughput against offered rate", 0, x1, 0, top, false)
	p.xticks, p.yticks = xt, yt
	kneeMarks(p, k)
	p.series([]float64{0, x1}, []float64{0, x1}, style{colIdeal, "4 4", 1}, "goodput = offered")
	xs, ys := make([]float64, len(k.Curve)), make([]float64, len(k.Curve))
	for i, s := range k.Curve {
		xs[i], ys[i] = s.RPS, s.GoodputRPS
	}
	p.series(xs, ys, style{colGoodput, "", 2}, "goodput")
	for _, s := range k.Curve {
		stepMarker(p, s, s.GoodputRPS)
	}
	passFailKeys(p, "step passed", "step failed")
	return p.svg("offered rate (requests per second, constant-rate steps)", "goodput per second")
}

// kneeLatencyChart: p50 and p99 against offered rate on a log axis, where the flat part and
// the queue-driven climb past the knee are both readable.
func kneeLatencyChart(k *capacity.Knee) string {
	x1, xt := rateAxis(k)
	lo, hi := math.Inf(1), 0.0
	for _, s := range k.Curve {
		for _, v := range []float64{s.P50, s.P99} {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	elo, ehi := decades(lo, hi)
	p := newPlot("Latency against offered rate (log scale)", 0, x1, math.Pow(10, float64(elo)), math.Pow(10, float64(ehi)), true)
	p.xticks, p.yticks = xt, logTicks(elo, ehi)
	kneeMarks(p, k)
	xs := make([]float64, len(k.Curve))
	p50, p99 := make([]float64, len(k.Curve)), make([]float64, len(k.Curve))
	for i, s := range k.Curve {
		xs[i], p50[i], p99[i] = s.RPS, s.P50, s.P99
	}
	p.series(xs, p50, style{colP50, "", 1.6}, "p50")
	p.series(xs, p99, style{colP99, "", 2}, "p99")
	for _, s := range k.Curve {
		stepMarker(p, s, s.P99)
	}
	passFailKeys(p, "p99 of a passing step", "p99 of a failing step")
	return p.svg("offered rate (requests per second, constant-rate steps)", "latency")
}

// sizeTicks are round surge sizes within [lo, hi] for a log axis, thinned to at most nine.
func sizeTicks(lo, hi float64, unit func(float64) string) []tick {
	var ts []tick
	// From 0.1: the cuts of a capacity-drop map are shares below 1.
	for mag := 0.1; mag <= 1000; mag *= 10 {
		for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8} {
			if v := m * mag; v >= lo && v <= hi {
				ts = append(ts, tick{v, unit(v)})
			}
		}
	}
	for len(ts) > 9 {
		var half []tick
		for i := 0; i < len(ts); i += 2 {
			half = append(half, ts[i])
		}
		ts = half
	}
	return ts
}

// tippingChart: surge duration (log x) against surge size (log y, × baseline), one series per
// policy at its own small x offset so that policies probed at the same duration stay apart.
// Each policy's boundary lies between its largest recovered size (dashed) and its smallest
// tipped size (solid), shaded between them; every probe is a point, green if it recovered and
// red if it tipped, shaped by policy.
func tippingChart(res *capacity.Result) string {
	unit, what := sizeUnit(res)
	minD, maxD := math.Inf(1), 0.0
	lo, hi := math.Inf(1), 0.0
	durs := map[float64]bool{}
	for _, m := range res.Maps {
		for _, b := range m.Boundaries {
			if b.DurationSeconds <= 0 {
				continue
			}
			durs[b.DurationSeconds] = true
			minD, maxD = min(minD, b.DurationSeconds), max(maxD, b.DurationSeconds)
			for _, v := range []float64{b.RecoversAt, b.TipsAt} {
				if v > 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			for _, pt := range b.Probes {
				if pt.Size > 0 {
					lo, hi = min(lo, pt.Size), max(hi, pt.Size)
				}
			}
		}
	}
	if maxD == 0 {
		minD, maxD = 1, 10
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	// Both axes are logarithmic: the search bisects sizes in log space, and durations are
	// usually spread by factors (2 s, 5 s, 10 s).
	x0, x1 := math.Log10(minD), math.Log10(maxD)
	pad := max((x1-x0)*0.12, 0.15)
	y0, y1 := lo/1.25, hi*1.25
	p := newPlot("Tipping map", x0-pad, x1+pad, y0, y1, true)
	p.height = 380
	p.yticks = sizeTicks(y0, y1, unit)
	for _, d := range slices.Sorted(maps.Keys(durs)) {
		p.xticks = append(p.xticks, tick{math.Log10(d), fmtDur(d)})
	}
	n := float64(len(res.Maps))
	for i, m := range res.Maps {
		col := policyColor(i)
		dx := (float64(i) - (n-1)/2) * policyGap
		off := p.shift(dx)
		var xs, rec, tip []float64
		for _, b := range m.Boundaries {
			if b.DurationSeconds <= 0 {
				continue
			}
			x := math.Log10(b.DurationSeconds)
			xs = append(xs, x+off)
			rec = append(rec, positiveOrNaN(b.RecoversAt))
			tip = append(tip, positiveOrNaN(b.TipsAt))
		}
		// The band between consecutive durations where both ends of the boundary are known,
		// and a bracket at each such duration, so a single duration still shows its interval.
		for j := range xs {
			if math.IsNaN(rec[j]) || math.IsNaN(tip[j]) {
				continue
			}
			w := p.shift(policyGap * 0.3)
			p.area([]float64{xs[j] - w, xs[j] + w, xs[j] + w, xs[j] - w}, []float64{rec[j], rec[j], tip[j], tip[j]}, 0, col, 0.35)
			if j+1 < len(xs) && !math.IsNaN(rec[j+1]) && !math.IsNaN(tip[j+1]) {
				p.area([]float64{xs[j], xs[j+1], xs[j+1], xs[j]}, []float64{rec[j], rec[j+1], tip[j+1], tip[j]}, 0, col, 0.12)
			}
		}
		p.series(xs, rec, style{col, "5 3", 2}, "")
		p.series(xs, tip, style{col, "", 2.5}, "")
		p.key(glyph(i)+" "+mapLabel(m), style{col, "", 2.5})
	}
	// Markers last, over every policy's lines.
	for i, m := range res.Maps {
		col := policyColor(i)
		dx := (float64(i) - (n-1)/2) * policyGap
		for _, b := range m.Boundaries {
			if b.DurationSeconds <= 0 {
				continue
			}
			x := math.Log10(b.DurationSeconds)
			if b.TipsAt == 0 && b.RecoversAt > 0 && b.Complete {
				// Nothing tipped up to the largest size tried: the boundary is above it. The
				// label goes above the marker, where the policy's lines (heading to the next
				// duration) are not.
				fmt.Fprintf(&p.marks, `<text x="%s" y="%s" class="mark" fill="%s" text-anchor="middle">none tipped up to %s</text>`,
					f1(p.px(x)+dx), f1(p.py(b.RecoversAt)-markerR-6), col, esc(unit(b.RecoversAt)))
			}
			for _, pt := range b.Probes {
				fill, v := colPass, "recovered"
				if pt.Tipped {
					fill, v = colFail, pt.Verdict
				}
				if pt.RecoverySeconds != nil && !pt.Tipped {
					v += fmt.Sprintf(" %.0f s after the surge", *pt.RecoverySeconds)
				}
				p.marker(x, pt.Size, dx, i, fill, col, fmt.Sprintf("%s, %s %s of %s: %s", mapLabel(m), fmtDur(b.DurationSeconds), what, unit(pt.Size), v))
			}
		}
	}
	p.key("largest that recovered (dashed)", style{"#333333", "5 3", 2})
	p.key("smallest that tipped (solid)", style{"#333333", "", 2.5})
	p.key("probe recovered", style{colPass, "", 8})
	p.key("probe tipped", style{colFail, "", 8})
	if res.Trigger == capacity.TriggerCapacityDrop {
		return p.svg("cut duration (log scale)", "share of the capacity cut (log)")
	}
	return p.svg("surge duration (log scale)", fmt.Sprintf("surge size × baseline %s req/s (log)", fmtRate(res.BaselineRPS)))
}

func positiveOrNaN(v float64) float64 {
	if v > 0 {
		return v
	}
	return math.NaN()
}
