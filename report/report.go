// Package report renders analysed runs as one self-contained HTML page: the verdict in plain
// words, then charts drawn as inline SVG on the server, so the file opens offline, from a CI
// artefact or an e-mail attachment, with no script and nothing fetched.
package report

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/stormtest/stormtest/analyze"
)

// Write renders reps as one HTML page. One report is one run; with several, the charts
// overlay them (the earlier runs dashed, the last solid: "before" and "after") and each gets
// its banner. titles name the runs in the same order; missing or empty titles default to
// "before"/"after" for two runs and "run N" otherwise.
func Write(w io.Writer, reps []*analyze.Report, titles []string) error {
	if len(reps) == 0 {
		return errors.New("report: no analysis to render")
	}
	runs := make([]run, len(reps))
	for i, rep := range reps {
		if rep == nil {
			return fmt.Errorf("report: analysis %d is nil", i+1)
		}
		title := ""
		if i < len(titles) {
			title = titles[i]
		}
		if title == "" && len(reps) > 1 {
			title = fmt.Sprintf("run %d", i+1)
			if len(reps) == 2 {
				title = [2]string{"before", "after"}[i]
			}
		}
		runs[i] = run{rep: rep, title: title, win: windowSeconds(rep)}
		if i < len(reps)-1 {
			// Distinct patterns for every earlier run; with two, the "before" run is dashed.
			runs[i].dash = [...]string{"7 4", "2 3", "10 3 2 3"}[i%3]
		}
	}
	data := page{Title: pageTitle(runs)}
	for _, r := range runs {
		data.Runs = append(data.Runs, banner(r))
	}
	if len(runs) > 1 {
		data.Overlay = "Charts overlay the runs: " + overlayKey(runs) + "."
	}
	data.Charts = []chart{
		{"Load and goodput", "Intended (first attempts), offered (with retries) and goodput per second, with the profile's phases shaded. " +
			"Offered pulling away from intended while goodput falls is the retry feedback loop; goodput staying down after the intended rate is back is metastability.",
			template.HTML(rateChart(runs))},
	}
	// The target's own metrics sit right under the load they answer to, on the same axis.
	data.Charts = append(data.Charts, targetCharts(runs)...)
	data.Charts = append(data.Charts, []chart{
		{"Latency", "Per-window p50, p99, p99.9 and maximum of attempt latency (from the intended start), log scale.",
			template.HTML(latencyChart(runs))},
		{"Latency distribution per phase", "HDR percentile plot: latency against percentile on a 1/(1−p) axis, one line per phase; the tail's nines are spread a decade apart.",
			template.HTML(distributionChart(runs))},
		{"Errors by kind", "Failed attempts per second by kind, counted when they ended.",
			template.HTML(errorChart(runs))},
		{"Attempts per client group", "Requests' first attempts and retries per client group; the label is attempts per request (and after the trigger, for mixes).",
			template.HTML(groupChart(runs))},
	}...)
	return pageTmpl.Execute(w, data)
}

func pageTitle(runs []run) string {
	t := "stormtest report: " + runs[0].rep.Profile
	if len(runs) > 1 {
		t += " (" + overlayKey(runs) + ")"
	}
	return t
}

func overlayKey(runs []run) string {
	s := ""
	for i, r := range runs {
		if i > 0 {
			s += ", "
		}
		how := "solid"
		if r.dash != "" {
			how = "dashed"
		}
		s += r.title + " " + how
	}
	return s
}

type page struct {
	Title   string
	Overlay string
	Runs    []runBanner
	Charts  []chart
}

type chart struct {
	Title   string
	Caption string
	SVG     template.HTML // built by plot.svg, every text in it escaped
}

type runBanner struct {
	Title    string
	Verdict  string
	Class    string
	Headline string
	Evidence []string
	Warnings []string
	Facts    []fact
	Phases   []phaseRow
}

type fact struct{ Name, Value string }

type phaseRow struct {
	Name, Span, Intended, Offered, Goodput, Errors, Amp, P50, P99, P999, Max string
}

// banner states the run's verdict in plain words, with analyze's evidence and warnings.
func banner(r run) runBanner {
	rep := r.rep
	b := runBanner{Title: r.title, Verdict: rep.Verdict, Class: rep.Verdict, Evidence: rep.Evidence, Warnings: rep.Warnings}
	secs := func(p *float64) string { return fmt.Sprintf("%.0f s", *p) }
	switch rep.Verdict {
	case analyze.Stable:
		b.Headline = "Stable: goodput kept up with the intended load for the whole run."
	case analyze.Overloaded:
		b.Headline = "Overloaded: goodput collapsed under the load"
		switch {
		case rep.RecoverySeconds != nil:
			b.Headline += ", and recovered " + secs(rep.RecoverySeconds) + " after the trigger ended."
		case rep.TriggerEndSeconds == nil:
			b.Headline += "; the trigger never ended, so recovery could not be tested."
		default:
			b.Headline += "; the run ended before recovery could be judged."
		}
	case analyze.Metastable:
		b.Headline = "Metastable: goodput collapsed"
		if rep.OnsetSeconds != nil {
			b.Headline += " at " + secs(rep.OnsetSeconds)
		}
		b.Headline += " and stayed down after the trigger ended"
		if rep.TriggerEndSeconds != nil {
			b.Headline += " at " + secs(rep.TriggerEndSeconds)
		}
		b.Headline += ": the overload sustained itself once its trigger was gone."
	case analyze.Down:
		b.Headline = "Down: next to nothing was served, whatever the load; the target is down or answers only with errors (see below for which)."
	case analyze.Inconclusive:
		b.Headline = "Inconclusive: too little evidence to call the run stable or to place a collapse; the first line below says what was missing."
	default:
		b.Class = "unknown"
		b.Headline = "Verdict: " + rep.Verdict
	}
	b.Facts = []fact{
		{"profile", rep.Profile},
		{"target", rep.Target},
		{"start", rep.Start.UTC().Format(time.RFC3339)},
		{"duration", fmt.Sprintf("%.1f s", rep.DurationSeconds)},
		{"requests", fmt.Sprint(rep.Requests)},
		{"attempts", fmt.Sprint(rep.Attempts)},
		{"amplification", fmt.Sprintf("%.2f×", rep.Amplification)},
		{"goodput", fmt.Sprint(rep.Goodput)},
		{"p99", fmtMS(rep.Latency.P99)},
	}
	if rep.AmplificationAfterTrigger != nil {
		b.Facts = append(b.Facts, fact{"amplification after trigger", fmt.Sprintf("%.2f×", *rep.AmplificationAfterTrigger)})
	}
	rate := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	for _, ph := range rep.Phases {
		b.Phases = append(b.Phases, phaseRow{
			Name: ph.Name, Span: fmt.Sprintf("%g–%g s", ph.StartSeconds, ph.EndSeconds),
			Intended: rate(ph.IntendedRPS), Offered: rate(ph.OfferedRPS), Goodput: rate(ph.GoodputRPS), Errors: rate(ph.ErrorRPS),
			Amp: fmt.Sprintf("%.2f×", ph.Amplification),
			P50: fmtMS(ph.P50), P99: fmtMS(ph.P99), P999: fmtMS(ph.P999), Max: fmtMS(ph.Max),
		})
	}
	return b
}

// pageTmpl is XHTML-compatible (every element closed) so the page also parses as XML, which
// the tests rely on to check it is well-formed. The CSS avoids "<" and "&" for the same reason.
var pageTmpl = template.Must(template.New("page").Parse(pageHead + baseCSS + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
<div class="runs">
{{- range .Runs}}
<section class="run {{.Class}}">
{{- if .Title}}<div class="runtitle">{{.Title}}</div>{{end}}
<div class="verdict">{{.Verdict}}</div>
<p class="headline">{{.Headline}}</p>
{{- if .Evidence}}
<ul>{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Warnings}}
<ul class="warn">{{range .Warnings}}<li>warning: {{.}}</li>{{end}}</ul>
{{- end}}
<div class="facts">{{range .Facts}}<span>{{.Name}} <b>{{.Value}}</b></span>{{end}}</div>
<table>
<tr><th>phase</th><th>span</th><th>intended/s</th><th>offered/s</th><th>goodput/s</th><th>errors/s</th><th>ampl.</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{- range .Phases}}
<tr><td>{{.Name}}</td><td>{{.Span}}</td><td>{{.Intended}}</td><td>{{.Offered}}</td><td>{{.Goodput}}</td><td>{{.Errors}}</td><td>{{.Amp}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.P999}}</td><td>{{.Max}}</td></tr>
{{- end}}
</table>
</section>
{{- end}}
</div>
{{- if .Overlay}}
<p class="overlay">{{.Overlay}}</p>
{{- end}}
{{- range .Charts}}
<h2>{{.Title}}</h2>
<p class="caption">{{.Caption}}</p>
{{.SVG}}
{{- end}}
</body>
</html>
`))
