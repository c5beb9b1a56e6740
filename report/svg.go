package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in viewBox units. The SVGs scale to the page width; the plot area is what
// downsampling counts pixel columns in.
const (
	chartW      = 1100.0
	chartH      = 320.0
	marginLeft  = 64.0
	marginRight = 16.0
	marginTop   = 12.0
	marginBot   = 34.0
)

// style is how one series is drawn.
type style struct {
	color string
	dash  string // SVG stroke-dasharray; "" for solid
	width float64
}

// tick is an axis position with its label.
type tick struct {
	v     float64
	label string
}

type legendItem struct {
	label string
	st    style
}

// plot is one chart under construction: axes in data units, then drawing calls, then svg().
// The y axis is linear or log10; a log axis takes data values and drops those ≤ 0.
type plot struct {
	title          string
	x0, x1, y0, y1 float64
	ylog           bool
	height         float64

	bg, fg, marks strings.Builder
	legend        []legendItem
	xticks        []tick
	yticks        []tick
	drawn         int // data paths with at least one segment
}

func newPlot(title string, x0, x1, y0, y1 float64, ylog bool) *plot {
	if !(x1 > x0) {
		x1 = x0 + 1
	}
	if !(y1 > y0) {
		y1 = y0 + 1
	}
	p := &plot{title: title, x0: x0, x1: x1, y0: y0, y1: y1, ylog: ylog, height: chartH}
	if ylog {
		p.y0, p.y1 = math.Log10(y0), math.Log10(y1)
	}
	return p
}

func (p *plot) plotW() float64 { return chartW - marginLeft - marginRight }
func (p *plot) plotH() float64 { return p.height - marginTop - marginBot }

func (p *plot) px(x float64) float64 {
	return marginLeft + (x-p.x0)/(p.x1-p.x0)*p.plotW()
}

// py maps a data value to a y coordinate; NaN when it cannot be drawn (≤ 0 on a log axis).
func (p *plot) py(y float64) float64 {
	if p.ylog {
		if y <= 0 {
			return math.NaN()
		}
		y = math.Log10(y)
	}
	f := (y - p.y0) / (p.y1 - p.y0)
	// Clamp a little outside the plot so that off-scale values still show as touching the edge.
	f = min(max(f, -0.02), 1.02)
	return marginTop + (1-f)*p.plotH()
}

// band shades [x0, x1) across the plot's height with a label at its top.
func (p *plot) band(x0, x1 float64, fill, label string) {
	a, b := p.px(max(x0, p.x0)), p.px(min(x1, p.x1))
	if b <= a {
		return
	}
	fmt.Fprintf(&p.bg, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`,
		f1(a), f1(marginTop), f1(b-a), f1(p.plotH()), fill)
	if label != "" && b-a > 24 {
		fmt.Fprintf(&p.bg, `<text x="%s" y="%s" class="band" text-anchor="middle">%s</text>`,
			f1((a+b)/2), f1(marginTop+12), esc(clip(label, int((b-a)/6.5))))
	}
}

// shade marks [x0, x1) across the plot's height translucently over the phase bands, with a
// label at its foot, so a trigger window reads as something that happened during a phase. A
// window of no length is drawn 2 pixels wide.
func (p *plot) shade(x0, x1 float64, fill, label string) {
	a, b := p.px(max(x0, p.x0)), p.px(min(x1, p.x1))
	if x1 < p.x0 || x0 > p.x1 {
		return
	}
	b = max(b, a+2)
	fmt.Fprintf(&p.bg, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.35" class="trigger"/>`,
		f1(a), f1(marginTop), f1(b-a), f1(p.plotH()), fill)
	if label != "" {
		fmt.Fprintf(&p.bg, `<text x="%s" y="%s" class="band" fill="%s">%s</text>`,
			f1(a+3), f1(marginTop+p.plotH()-5), fill, esc(clip(label, max(int((b-a)/6.5), 32))))
	}
}

// vline marks x with a vertical line and a label; row staggers labels that would overlap.
func (p *plot) vline(x float64, st style, label string, row int) {
	if x < p.x0 || x > p.x1 {
		return
	}
	X := p.px(x)
	fmt.Fprintf(&p.marks, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`,
		f1(X), f1(marginTop), f1(X), f1(marginTop+p.plotH()), st.color, f1(st.width), dashAttr(st.dash))
	p.label(X, marginTop+26+float64(row)*13, st.color, label)
}

// label writes a marker label next to X, flipped to the left near the right edge.
func (p *plot) label(X, Y float64, color, text string) {
	anchor, dx := "start", 4.0
	if X > chartW-marginRight-160 {
		anchor, dx = "end", -4
	}
	fmt.Fprintf(&p.marks, `<text x="%s" y="%s" class="mark" fill="%s" text-anchor="%s">%s</text>`,
		f1(X+dx), f1(Y), color, anchor, esc(text))
}

// note writes text at the top right of the plot area (e.g. "no recovery").
func (p *plot) note(row int, color, text string) {
	fmt.Fprintf(&p.marks, `<text x="%s" y="%s" class="mark" fill="%s" text-anchor="end">%s</text>`,
		f1(chartW-marginRight-6), f1(marginTop+26+float64(row)*13), color, esc(text))
}

// key adds a legend entry that is not a series (e.g. how a run is dashed).
func (p *plot) key(label string, st style) { p.legend = append(p.legend, legendItem{label, st}) }

// series draws y(x) as a path, downsampled to at most two points (the column's minimum and
// maximum, in the order they occur) per plot pixel column, so an hour of one-second windows
// costs no more than a minute's worth beyond the plot's width. NaN values, and values ≤ 0 on
// a log axis, break the line. xs must be ascending.
func (p *plot) series(xs, ys []float64, st style, label string) {
	if label != "" {
		p.legend = append(p.legend, legendItem{label, st})
	}
	var d []byte
	segs := 0
	col := math.MinInt
	type pt struct{ x, y float64 }
	var lo, hi pt // the current column's extremes in screen space (hi: smallest Y)
	var loFirst, open, have bool
	flush := func() {
		if !have {
			return
		}
		a, b := lo, hi
		if !loFirst {
			a, b = hi, lo
		}
		for i, q := range []pt{a, b} {
			if i == 1 && q == a {
				break
			}
			cmd := byte('L')
			if !open {
				cmd, open = 'M', true
				segs++
			}
			d = append(d, cmd)
			d = strconv.AppendFloat(d, round1(q.x), 'f', -1, 64)
			d = append(d, ',')
			d = strconv.AppendFloat(d, round1(q.y), 'f', -1, 64)
		}
		have = false
	}
	for i := range xs {
		if i >= len(ys) || xs[i] < p.x0 || xs[i] > p.x1 {
			continue
		}
		X := p.px(xs[i])
		Y := math.NaN()
		if !math.IsNaN(ys[i]) {
			Y = p.py(ys[i])
		}
		if math.IsNaN(Y) {
			flush()
			open = false
			continue
		}
		c := int(X)
		if c != col || !have {
			flush()
			col = c
			lo, hi, loFirst, have = pt{X, Y}, pt{X, Y}, true, true
			continue
		}
		// Screen Y grows downwards: "lo" is the largest Y.
		if Y > lo.y {
			lo = pt{X, Y}
			loFirst = false
		}
		if Y < hi.y {
			hi = pt{X, Y}
			loFirst = true
		}
	}
	flush()
	if segs == 0 {
		return
	}
	p.drawn++
	fmt.Fprintf(&p.fg, `<path d="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s/>`,
		d, st.color, f1(st.width), dashAttr(st.dash))
}

// bar draws a filled rectangle in data coordinates.
func (p *plot) bar(x0, x1, y0, y1 float64, fill, stroke, dash string) {
	a, b := p.px(x0), p.px(x1)
	top, bot := p.py(y1), p.py(y0)
	if math.IsNaN(top) || math.IsNaN(bot) || b <= a {
		return
	}
	p.drawn++
	fmt.Fprintf(&p.fg, `<path d="M%s,%sH%sV%sH%sZ" fill="%s" stroke="%s"%s/>`,
		f1(a), f1(bot), f1(b), f1(top), f1(a), fill, stroke, dashAttr(dash))
}

// text writes a label in data coordinates.
func (p *plot) text(x, y float64, anchor, class, s string) {
	fmt.Fprintf(&p.marks, `<text x="%s" y="%s" class="%s" text-anchor="%s">%s</text>`,
		f1(p.px(x)), f1(p.py(y)), class, anchor, esc(s))
}

// svg assembles the chart. xlabel and ylabel name the axes.
func (p *plot) svg(xlabel, ylabel string) string {
	var b strings.Builder
	b.Grow(p.bg.Len() + p.fg.Len() + p.marks.Len() + 4096)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s"><title>%s</title>`,
		f1(chartW), f1(p.height+p.legendHeight()), esc(p.title), esc(p.title))
	fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" class="area"/>`,
		f1(marginLeft), f1(marginTop), f1(p.plotW()), f1(p.plotH()))
	b.WriteString(p.bg.String())
	bottom := marginTop + p.plotH()
	for _, t := range p.yticks {
		Y := p.py(t.v)
		if math.IsNaN(Y) || Y < marginTop-0.5 || Y > bottom+0.5 {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="grid"/><text x="%s" y="%s" class="tick" text-anchor="end">%s</text>`,
			f1(marginLeft), f1(Y), f1(marginLeft+p.plotW()), f1(Y), f1(marginLeft-5), f1(Y+4), esc(t.label))
	}
	for _, t := range p.xticks {
		if t.v < p.x0 || t.v > p.x1 {
			continue
		}
		X := p.px(t.v)
		// Ticks at the plot's ends are aligned inwards so their labels stay inside the chart.
		anchor := "middle"
		if X > chartW-marginRight-40 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="grid"/><text x="%s" y="%s" class="tick" text-anchor="%s">%s</text>`,
			f1(X), f1(marginTop), f1(X), f1(bottom), f1(X), f1(bottom+15), anchor, esc(t.label))
	}
	b.WriteString(p.fg.String())
	if p.drawn == 0 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="empty" text-anchor="middle">no data</text>`,
			f1(marginLeft+p.plotW()/2), f1(marginTop+p.plotH()/2))
	}
	b.WriteString(p.marks.String())
	fmt.Fprintf(&b, `<text x="%s" y="%s" class="axis" text-anchor="middle">%s</text>`,
		f1(marginLeft+p.plotW()/2), f1(p.height-4), esc(xlabel))
	fmt.Fprintf(&b, `<text x="12" y="%s" class="axis" text-anchor="middle" transform="rotate(-90 12 %s)">%s</text>`,
		f1(marginTop+p.plotH()/2), f1(marginTop+p.plotH()/2), esc(ylabel))
	// Legend below the x axis label, wrapped into as many rows as it needs.
	x, y := marginLeft, p.height+14
	for _, l := range p.legend {
		w := 34 + 6.6*float64(len([]rune(l.label)))
		if x+w > chartW-marginRight && x > marginLeft {
			x, y = marginLeft, y+18
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/><text x="%s" y="%s" class="legend">%s</text>`,
			f1(x), f1(y-4), f1(x+24), f1(y-4), l.st.color, f1(max(l.st.width, 2)), dashAttr(l.st.dash), f1(x+28), f1(y), esc(l.label))
		x += w + 10
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// legendHeight is the room the legend rows take below the chart, laid out as svg does.
func (p *plot) legendHeight() float64 {
	if len(p.legend) == 0 {
		return 0
	}
	rows, x := 1, marginLeft
	for _, l := range p.legend {
		w := 34 + 6.6*float64(len([]rune(l.label)))
		if x+w > chartW-marginRight && x > marginLeft {
			rows, x = rows+1, marginLeft
		}
		x += w + 10
	}
	return 6 + 18*float64(rows)
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}

func esc(s string) string { return html.EscapeString(s) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func f1(v float64) string { return strconv.FormatFloat(round1(v), 'f', -1, 64) }

// clip shortens s to n runes with an ellipsis, so a phase label fits its band.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}

// niceTicks returns about n round ticks (1, 2 or 5 × 10^k apart) covering [lo, hi], and the
// rounded-up top, so a linear axis ends on a tick.
func niceTicks(lo, hi float64, n int, format func(float64) string) ([]tick, float64) {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	top := math.Ceil(hi/step-1e-9) * step
	var ts []tick
	for v := math.Floor(lo/step) * step; v <= top+step/2; v += step {
		ts = append(ts, tick{v, format(v)})
	}
	return ts, top
}

// logTicks are the decades from 10^lo to 10^hi, labelled as durations in ms.
func logTicks(lo, hi int) []tick {
	var ts []tick
	for e := lo; e <= hi; e++ {
		v := math.Pow(10, float64(e))
		ts = append(ts, tick{v, fmtMS(v)})
	}
	return ts
}

// fmtMS labels a latency given in milliseconds.
func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'g', 3, 64) + " s"
	case v >= 1:
		return strconv.FormatFloat(v, 'g', 3, 64) + " ms"
	default:
		return strconv.FormatFloat(v*1000, 'g', 3, 64) + " µs"
	}
}

// fmtSeconds labels a time axis: seconds for short runs, minutes:seconds for long ones.
func fmtSeconds(long bool) func(float64) string {
	return func(v float64) string {
		if !long {
			return strconv.FormatFloat(v, 'f', -1, 64) + " s"
		}
		s := int(math.Round(v))
		if s >= 3600 {
			return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
		}
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	}
}

// fmtNum labels a linear axis: plain digits for whole numbers (no 1e+04), else 4 figures.
func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e12 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
