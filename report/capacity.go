package report

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/stormtest/stormtest/capacity"
)

// WriteCapacity renders a capacity search as one self-contained HTML page, in the style of
// Write: a banner with the knee, the baseline and whether the search finished; the knee
// search's latency curve (the hockey stick) as two charts sharing the rate axis; the tipping
// map, one series per retry policy; and the tables and sentences Result.WriteText prints.
// A partial Result (a search stopped by its budget, or a knee given with --knee) renders what
// it holds and leaves out the charts it has no data for.
func WriteCapacity(w io.Writer, res *capacity.Result) error {
	if res == nil {
		return errors.New("report: no capacity result to render")
	}
	data := capPage{
		Title:  "stormtest capacity: " + res.Profile,
		Banner: capBanner(res),
	}
	if k := res.Knee; k != nil && len(k.Curve) > 0 {
		data.KneeCharts = []chart{
			{"Throughput against offered rate", "Goodput of each constant-rate knee step (clients without retries), " +
				"each step marked pass or fail; the knee is the vertical line, its interval shaded. " +
				"Goodput leaving the diagonal is the target saturating.",
				template.HTML(throughputChart(k))},
			{"Latency against offered rate", "p50 and p99 of each step, log scale, the p99 marked pass or fail: " +
				"latency turning upwards at the knee is the hockey stick.",
				template.HTML(kneeLatencyChart(k))},
		}
		for _, s := range k.Curve {
			verdict := "pass"
			if !s.Pass {
				verdict = "FAIL"
			}
			data.Curve = append(data.Curve, curveRow{
				Rate: fmtRate(s.RPS), Repeat: strconv.Itoa(s.Repeat + 1), Goodput: fmt.Sprintf("%.1f", s.GoodputRPS),
				P50: fmt.Sprintf("%.0f", s.P50), P99: fmt.Sprintf("%.0f", s.P99),
				Errors: fmt.Sprintf("%.1f %%", 100*s.ErrorRate), Verdict: verdict, Fail: !s.Pass,
			})
		}
	}
	if len(res.Maps) > 0 {
		title := "Tipping map"
		if res.Trigger == capacity.TriggerCapacityDrop {
			title = "Capacity-drop map"
		}
		data.MapChart = &chart{title,
			mapDescription(res),
			template.HTML(tippingChart(res))}
		for i, m := range res.Maps {
			pm := policyMap{Policy: mapLabel(m), Glyph: glyph(i), Color: policyColor(i)}
			for _, b := range m.Boundaries {
				pm.Sentences = append(pm.Sentences, b.Sentence)
				pm.Rows = append(pm.Rows, boundaryRow(b, res))
			}
			data.Maps = append(data.Maps, pm)
		}
	}
	data.Comparison = res.Comparison
	return capTmpl.Execute(w, data)
}

type capPage struct {
	Title      string
	Banner     capBannerData
	KneeCharts []chart
	Curve      []curveRow
	MapChart   *chart
	Maps       []policyMap
	Comparison []string
}

type capBannerData struct {
	Class    string
	Knee     string
	Headline string
	Baseline string
	Status   string
	Warnings []string
	Facts    []fact
}

type curveRow struct {
	Rate, Repeat, Goodput, P50, P99, Errors, Verdict string
	Fail                                             bool
}

type policyMap struct {
	Policy    string
	Glyph     string
	Color     string
	Sentences []string
	Rows      []bRow
}

type bRow struct{ Duration, Recovers, Tips, Probes string }

// capBanner states what the search found and how far it got, in the words WriteText uses.
func capBanner(res *capacity.Result) capBannerData {
	b := capBannerData{Class: "complete", Warnings: res.Warnings}
	switch k := res.Knee; {
	case k == nil:
		b.Knee = "knee not measured"
	case k.Given:
		b.Knee = "knee " + fmtRate(k.RPS) + " req/s"
		b.Headline = "Given with --knee, not measured: the knee search was skipped."
	case k.AtLeast:
		b.Knee = "knee ≥ " + fmtRate(k.RPS) + " req/s"
		b.Headline = "No step failed up to the maximum rate: the knee is at least this."
	case len(k.Repeats) > 0:
		b.Knee = "knee " + fmtRate(k.RPS) + " req/s"
		b.Headline = fmt.Sprintf("Between %s and %s req/s over %d repeats: the highest constant rate served within the SLO by clients that do not retry.",
			fmtRate(k.LowRPS), fmtRate(k.HighRPS), len(k.Repeats))
	default:
		b.Knee = "knee not found"
		b.Headline = "The search stopped before the knee was bracketed."
	}
	if len(res.Maps) > 0 {
		var pols []string
		for _, m := range res.Maps {
			pols = append(pols, m.Policy)
		}
		b.Baseline = fmt.Sprintf("Tipping maps at a baseline of %s req/s (%s of the knee), for the policies %s.",
			fmtRate(res.BaselineRPS), fmtPercent(res.BaselineFraction), strings.Join(pols, ", "))
	} else {
		b.Baseline = "No tipping map (run with --policies to map surges)."
	}
	if res.Complete {
		b.Status = "Search complete."
	} else {
		b.Class = "incomplete"
		b.Status = "INCOMPLETE: " + res.Stopped
	}
	b.Facts = []fact{
		{"target", res.Target},
		{"profile", res.Profile},
		{"probes run", strconv.Itoa(res.ProbesRun)},
		{"reused from the state file", strconv.Itoa(res.ProbesReused)},
		{"elapsed", fmt.Sprintf("%.0f s", res.ElapsedSeconds)},
	}
	return b
}

// boundaryRow is one line of a policy's table, as WriteText prints it.
func boundaryRow(b capacity.Boundary, res *capacity.Result) bRow {
	fmtSize, _ := sizeUnit(res)
	r := bRow{Duration: fmtDur(b.DurationSeconds), Recovers: "–", Tips: "–"}
	if b.RecoversAt > 0 {
		r.Recovers = fmtSize(b.RecoversAt)
	}
	if b.TipsAt > 0 {
		r.Tips = fmtSize(b.TipsAt)
	} else if b.Complete {
		r.Tips = "> " + fmtSize(b.RecoversAt)
	}
	var ps []string
	for _, p := range b.Probes {
		v := "recovered"
		if p.Tipped {
			v = p.Verdict
		}
		ps = append(ps, fmtSize(p.Size)+": "+v)
	}
	r.Probes = strings.Join(ps, ", ")
	return r
}

// mapLabel names a map: its policy, and its baseline when maps have their own (capacity-drop
// maps at several base loads).
func mapLabel(m capacity.Map) string {
	if m.BaselineRPS > 0 {
		return fmt.Sprintf("%s at %s req/s", m.Policy, fmtRate(m.BaselineRPS))
	}
	return m.Policy
}

// sizeUnit formats the map's y values: surge sizes (×), or the cuts of a capacity-drop map
// (%), with the word for one.
func sizeUnit(res *capacity.Result) (func(float64) string, string) {
	if res.Trigger == capacity.TriggerCapacityDrop {
		return fmtCut, "cut"
	}
	return fmtSize, "surge"
}

func mapDescription(res *capacity.Result) string {
	if res.Trigger == capacity.TriggerCapacityDrop {
		return "Constant baseline load while the target's capacity is cut by a share (trigger calls) for a duration: " +
			"green probes recovered, red ones did not. Per policy and baseline, the boundary lies between the largest cut that recovered (dashed) " +
			"and the smallest that tipped (solid), shaded between them."
	}
	return fmt.Sprintf("Surges of a size (× the baseline of %s req/s) for a duration, then the baseline again: "+
		"green probes recovered, red ones did not (metastable, or overloaded without recovery). "+
		"Per policy, the boundary lies between the largest surge that recovered (dashed) and the smallest that tipped (solid), shaded between them.",
		fmtRate(res.BaselineRPS))
}

// Numbers are written as capacity's text output writes them, so the page and the text agree
// to the digit.
func fmtRate(r float64) string    { return strconv.FormatFloat(r, 'f', -1, 64) }
func fmtSize(x float64) string    { return strconv.FormatFloat(x, 'f', -1, 64) + "×" }
func fmtDur(s float64) string     { return strconv.FormatFloat(s, 'f', -1, 64) + " s" }
func fmtPercent(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) + " %" }
func fmtCut(c float64) string     { return strconv.FormatFloat(math.Round(1000*c)/10, 'f', -1, 64) + " %" }
func glyph(i int) string          { return shapeGlyphs[i%len(shapeGlyphs)] }
func policyColor(i int) string    { return policyCols[i%len(policyCols)] }

// capCSS adds what only the capacity page has: a finished search is framed blue, a stopped
// one amber; failing rows and the stop reason stand out.
const capCSS = `.run.complete { border-color: #1f77b4; background: #eef4fa; }
.run.incomplete { border-color: #e6a100; background: #fdf6e3; }
.run.complete .verdict { color: #17599a; text-transform: none; }
.run.incomplete .verdict { color: #a66f00; text-transform: none; }
.status { font-weight: 700; margin: 4px 0; }
.run.incomplete .status { color: #a66f00; }
tr.fail td { color: #b01c1c; }
td.probes, th.probes { text-align: left; white-space: normal; }
.sentences { margin: 4px 0 8px; padding-left: 20px; }
.policy { font-weight: 700; }
`

// capTmpl is XHTML-compatible like pageTmpl: every element closed, no "<" or "&" in the CSS.
var capTmpl = template.Must(template.New("capacity").Parse(pageHead + baseCSS + capCSS + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{- with .Banner}}
<div class="runs">
<section class="run {{.Class}}">
<div class="verdict">{{.Knee}}</div>
{{- if .Headline}}
<p class="headline">{{.Headline}}</p>
{{- end}}
<p>{{.Baseline}}</p>
<p class="status">{{.Status}}</p>
{{- if .Warnings}}
<ul class="warn">{{range .Warnings}}<li>warning: {{.}}</li>{{end}}</ul>
{{- end}}
<div class="facts">{{range .Facts}}<span>{{.Name}} <b>{{.Value}}</b></span>{{end}}</div>
</section>
</div>
{{- end}}
{{- range .KneeCharts}}
<h2>{{.Title}}</h2>
<p class="caption">{{.Caption}}</p>
{{.SVG}}
{{- end}}
{{- if .Curve}}
<h2>Knee steps</h2>
<p class="caption">Constant-rate steps, clients without retries, by rate.</p>
<table>
<tr><th>rate/s</th><th>repeat</th><th>goodput/s</th><th>p50 ms</th><th>p99 ms</th><th>errors</th><th></th></tr>
{{- range .Curve}}
<tr{{if .Fail}} class="fail"{{end}}><td>{{.Rate}}</td><td>{{.Repeat}}</td><td>{{.Goodput}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.Errors}}</td><td>{{.Verdict}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- with .MapChart}}
<h2>{{.Title}}</h2>
<p class="caption">{{.Caption}}</p>
{{.SVG}}
{{- end}}
{{- range .Maps}}
<h2><span style="color: {{.Color}}">{{.Glyph}}</span> {{.Policy}}</h2>
<ul class="sentences">{{range .Sentences}}<li>{{.}}</li>{{end}}</ul>
<table>
<tr><th>surge for</th><th>recovers up to</th><th>tips from</th><th class="probes">probes (size: verdict)</th></tr>
{{- range .Rows}}
<tr><td>{{.Duration}}</td><td>{{.Recovers}}</td><td>{{.Tips}}</td><td class="probes">{{.Probes}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .Comparison}}
<h2>Policies compared</h2>
<ul class="sentences">{{range .Comparison}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
</body>
</html>
`))
