package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/analyze"
)

// chartCount is how many charts a page has: rates, latency, HDR distribution, errors, groups.
const chartCount = 5

func render(t testing.TB, reps []*analyze.Report, titles []string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, reps, titles); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// svgInfo is what checkPage found in one chart.
type svgInfo struct {
	label  string
	paths  int // paths with a non-empty d
	dashed int // data paths drawn dashed
}

// checkPage parses the page strictly as XML (it is written to be XHTML-compatible), so any
// unclosed or misnested element, bad attribute or stray "<"/"&" fails, and returns the charts.
func checkPage(t *testing.T, page string) []svgInfo {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	var svgs []svgInfo
	depth, svgDepth := 0, -1
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			attr := func(name string) string {
				for _, a := range e.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch e.Name.Local {
			case "svg":
				if svgDepth >= 0 {
					t.Fatal("nested <svg>")
				}
				svgDepth = depth
				svgs = append(svgs, svgInfo{label: attr("aria-label")})
			case "path":
				if svgDepth < 0 {
					t.Fatal("<path> outside an <svg>")
				}
				if strings.TrimSpace(attr("d")) != "" {
					svgs[len(svgs)-1].paths++
					if attr("stroke-dasharray") != "" {
						svgs[len(svgs)-1].dashed++
					}
				}
			case "script", "link", "iframe", "img", "object", "embed":
				t.Errorf("page has a <%s> element: it must be self-contained and script-free", e.Name.Local)
			}
			for _, a := range e.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Value))
				if (a.Name.Local == "src" || a.Name.Local == "href") && (strings.Contains(v, "//") || strings.HasPrefix(v, "http")) {
					t.Errorf("external reference %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			if depth == svgDepth {
				svgDepth = -1
			}
			depth--
		}
	}
	if regexp.MustCompile(`(?i)url\(|@import`).MatchString(page) {
		t.Error("page CSS fetches something (url() or @import)")
	}
	return svgs
}

func TestWriteOneRun(t *testing.T) {
	rep := synthReport(t, true)
	if rep.Verdict != analyze.Metastable {
		t.Fatalf("synthetic run judged %s, want metastable (evidence %q)", rep.Verdict, rep.Evidence)
	}
	page := render(t, []*analyze.Report{rep}, nil)
	svgs := checkPage(t, page)
	if len(svgs) != chartCount {
		t.Fatalf("%d <svg> charts, want %d", len(svgs), chartCount)
	}
	for _, s := range svgs {
		if s.paths == 0 {
			t.Errorf("chart %q draws no path", s.label)
		}
	}
	for _, want := range []string{
		`<div class="verdict">metastable</div>`,
		"Metastable: goodput collapsed at",
		"no recovery: metastable",
		"onset ", "trigger end ",
		"baseline", "surge", "after", // phase bands and table
		"99.9%", // HDR axis
		"timeout", "5xx", "web", "batch",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	text := html.UnescapeString(page)
	for _, ev := range rep.Evidence {
		if !strings.Contains(text, ev) {
			t.Errorf("page lacks the evidence %q", ev)
		}
	}
}

func TestWriteBeforeAfter(t *testing.T) {
	before, after := synthReport(t, true), synthReport(t, false)
	if after.Verdict != analyze.Overloaded {
		t.Fatalf("recovering synthetic run judged %s, want overloaded (evidence %q)", after.Verdict, after.Evidence)
	}
	page := render(t, []*analyze.Report{before, after}, []string{"retries", "no retries"})
	svgs := checkPage(t, page)
	if len(svgs) != chartCount {
		t.Fatalf("%d <svg> charts, want %d", len(svgs), chartCount)
	}
	for _, s := range svgs {
		if s.dashed == 0 || s.dashed == s.paths {
			t.Errorf("chart %q: %d of %d paths dashed; want the before run dashed and the after run solid", s.label, s.dashed, s.paths)
		}
	}
	for _, want := range []string{
		`<div class="verdict">metastable</div>`, `<div class="verdict">overloaded</div>`,
		"retries (dashed)", "no retries (solid)", "recovered ",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestWriteRejectsNothing(t *testing.T) {
	if err := Write(io.Discard, nil, nil); err == nil {
		t.Error("Write with no report succeeded")
	}
	if err := Write(io.Discard, []*analyze.Report{nil}, nil); err == nil {
		t.Error("Write with a nil report succeeded")
	}
}

// TestEmptyRunRenders: a run with no records (an aborted attack) still gets a page.
func TestEmptyRunRenders(t *testing.T) {
	rep := &analyze.Report{Verdict: analyze.Stable, Warnings: []string{"too few requests to judge"}}
	page := render(t, []*analyze.Report{rep}, nil)
	if n := len(checkPage(t, page)); n != chartCount {
		t.Fatalf("%d charts, want %d", n, chartCount)
	}
	if !strings.Contains(page, "no data") || !strings.Contains(page, "warning: too few requests") {
		t.Error("empty run: no \"no data\" note or warning shown")
	}
}

// TestAnalyzeDistributionAndP999 checks the two fields the page draws from analyze: each
// phase's percentile spectrum and the per-window p99.9.
func TestAnalyzeDistributionAndP999(t *testing.T) {
	rep := synthReport(t, true)
	for _, ph := range rep.Phases {
		d := ph.Distribution
		if len(d) < 20 || len(d) > 101 {
			t.Fatalf("phase %s: %d distribution points", ph.Name, len(d))
		}
		if d[0].Percentile != 0 || d[len(d)-1].Percentile != 100 || d[len(d)-1].ValueMS != ph.Max {
			t.Errorf("phase %s: spectrum runs %v to %v, want 0 to 100 (= max %v)", ph.Name, d[0], d[len(d)-1], ph.Max)
		}
		for i := 1; i < len(d); i++ {
			if d[i].Percentile <= d[i-1].Percentile || d[i].ValueMS < d[i-1].ValueMS {
				t.Fatalf("phase %s: spectrum not increasing at %d: %v then %v", ph.Name, i, d[i-1], d[i])
			}
		}
		for _, p := range d {
			if math.Abs(p.Percentile-99) < 1e-9 && math.Abs(p.ValueMS-ph.P99) > ph.P99*0.002 {
				t.Errorf("phase %s: p99 %v in the spectrum, %v in the phase", ph.Name, p.ValueMS, ph.P99)
			}
		}
	}
	withP999 := 0
	for _, w := range rep.Windows {
		if w.P999 < w.P99 || w.P999 > w.Max {
			t.Fatalf("window %v: p99 %v, p99.9 %v, max %v", w.T, w.P99, w.P999, w.Max)
		}
		if w.P999 > 0 {
			withP999++
		}
	}
	if withP999 < len(rep.Windows)/2 {
		t.Errorf("only %d of %d windows have a p99.9", withP999, len(rep.Windows))
	}
}

// TestSeriesDownsamples: an hour of points draws at most two per pixel column.
func TestSeriesDownsamples(t *testing.T) {
	p := newPlot("t", 0, 3600, 0, 1, false)
	xs, ys := make([]float64, 3600), make([]float64, 3600)
	for i := range xs {
		xs[i], ys[i] = float64(i), 0.5+0.4*math.Sin(float64(i))
	}
	p.series(xs, ys, style{"#000", "", 1}, "")
	svg := p.svg("x", "y")
	d := regexp.MustCompile(` d="([^"]*)"`).FindStringSubmatch(svg)
	if d == nil {
		t.Fatal("no path")
	}
	pts := strings.Count(d[1], "L") + strings.Count(d[1], "M")
	if max := 2 * int(p.plotW()+1); pts > max || pts < int(p.plotW()) {
		t.Errorf("%d points drawn for 3600 values, want between %d and %d", pts, int(p.plotW()), max)
	}
}

// TestSeriesKeepsSpikes: a one-window spike survives downsampling (min/max per column, not
// averaging or decimation).
func TestSeriesKeepsSpikes(t *testing.T) {
	p := newPlot("t", 0, 3600, 0, 1, false)
	xs, ys := make([]float64, 3600), make([]float64, 3600)
	for i := range xs {
		xs[i], ys[i] = float64(i), 0.5
	}
	ys[1234], ys[2345] = 0.95, 0.05
	p.series(xs, ys, style{"#000", "", 1}, "")
	svg := p.svg("x", "y")
	for _, v := range []float64{0.95, 0.05} {
		if !strings.Contains(svg, ","+f1(p.py(v))) {
			t.Errorf("spike to %v (y=%s) lost", v, f1(p.py(v)))
		}
	}
}

// TestSeriesBreaksOnGaps: NaN and (on a log axis) zero values split the line.
func TestSeriesBreaksOnGaps(t *testing.T) {
	p := newPlot("t", 0, 10, 1, 1000, true)
	p.series([]float64{0, 1, 2, 3, 4, 5}, []float64{10, 20, 0, 30, math.NaN(), 40}, style{"#000", "", 1}, "")
	svg := p.svg("x", "y")
	if n := strings.Count(svg, "M"); n < 3 {
		t.Errorf("%d subpaths, want 3 (split at the zero and the NaN): %s", n, svg)
	}
}

func TestHourReportSize(t *testing.T) {
	before, after := hourReport(analyze.Metastable), hourReport(analyze.Overloaded)
	for _, reps := range [][]*analyze.Report{{after}, {before, after}} {
		page := render(t, reps, nil)
		if len(page) > 2<<20 {
			t.Errorf("%d runs of an hour: page is %d bytes, want under 2 MiB", len(reps), len(page))
		}
		t.Logf("%d runs of an hour: %d KiB", len(reps), len(page)>>10)
		checkPage(t, page)
	}
}

// BenchmarkWriteHour renders two overlaid hour-long runs (7200 windows): should stay well
// under a second per page.
func BenchmarkWriteHour(b *testing.B) {
	reps := []*analyze.Report{hourReport(analyze.Metastable), hourReport(analyze.Overloaded)}
	var size int
	for range b.N {
		var cw countWriter
		if err := Write(&cw, reps, nil); err != nil {
			b.Fatal(err)
		}
		size = int(cw)
	}
	b.ReportMetric(float64(size), "bytes/page")
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestBannerWithoutEvidence is issue 11 on the page: a down or inconclusive run gets a headline
// of its own that says the run cannot show stability, not the "Verdict: …" fallback.
func TestBannerWithoutEvidence(t *testing.T) {
	cases := []struct {
		verdict string
		want    string
	}{
		{analyze.Down, "Down: next to nothing was served"},
		{analyze.Inconclusive, "Inconclusive: too little evidence"},
	}
	for _, tc := range cases {
		t.Run(tc.verdict, func(t *testing.T) {
			rep := &analyze.Report{Verdict: tc.verdict, Evidence: []string{"no request was served (100 % HTTP 503)"}}
			page := render(t, []*analyze.Report{rep}, nil)
			for _, want := range []string{tc.want, `class="run ` + tc.verdict, "100 % HTTP 503"} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

// TestTriggerWindowShaded: a run with a profile trigger shades its window on every chart over
// time, labelled with its name.
func TestTriggerWindowShaded(t *testing.T) {
	rep := synthReport(t, true)
	rep.Triggers = []analyze.TriggerReport{{Name: "db-outage", StartSeconds: 21, EndSeconds: 27}}
	page := render(t, []*analyze.Report{rep}, nil)
	if n := strings.Count(page, `class="trigger"`); n < 3 {
		t.Errorf("%d shaded trigger windows, want one on each chart over time (at least 3)", n)
	}
	if !strings.Contains(page, "trigger db-outage") {
		t.Errorf("the trigger window is not labelled")
	}
	rep.Triggers = nil
	if page := render(t, []*analyze.Report{rep}, nil); strings.Contains(page, `class="trigger"`) {
		t.Errorf("a run without triggers has a shaded trigger window")
	}
}
