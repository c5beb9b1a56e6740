package report

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/analyze"
)

func targetSeries(series, typ, unit string, pts ...[2]float64) analyze.TargetSeries {
	return analyze.TargetSeries{Endpoint: "http://t/metrics", Series: series, Name: series, Type: typ, Unit: unit, Points: pts}
}

// TestTargetCharts: the target's series get a chart each, right under the load chart, the
// series the evidence quotes first; a failed scrape is a gap in the line, and two runs
// against different endpoints overlay by series name.
func TestTargetCharts(t *testing.T) {
	rep := synthReport(t, true)
	rep.TargetMetrics = []analyze.TargetSeries{
		targetSeries("app_build", "gauge", "", [2]float64{1, 1}, [2]float64{2, 1}),
		targetSeries("queue_depth", "gauge", "", [2]float64{1, 0}, [2]float64{2, 5}, [2]float64{3, 50}, [2]float64{9, 80}, [2]float64{10, 90}),
		targetSeries("served_total", "counter", "/s", [2]float64{1, 100}, [2]float64{2, 120}),
	}
	rep.Evidence = append(rep.Evidence, "the target's own metrics, around the collapse at t=10 s: `queue_depth` rose from 0 at t=1 s to 90 at t=10 s")
	page := render(t, []*analyze.Report{rep}, nil)
	svgs := checkPage(t, page)
	if len(svgs) != chartCount+3 {
		t.Fatalf("%d charts, want %d + 3 target series", len(svgs), chartCount)
	}
	var labels []string
	for _, s := range svgs {
		labels = append(labels, s.label)
	}
	if !strings.HasPrefix(labels[0], "Load and goodput") || labels[1] != "queue_depth" || labels[2] != "app_build" || labels[3] != "served_total" {
		t.Fatalf("chart order %q: want the load chart, then the quoted series, then the others", labels)
	}
	if svgs[1].paths == 0 {
		t.Error("the queue chart draws nothing")
	}
	text := html.UnescapeString(page)
	for _, want := range []string{"Target: queue_depth", "counter (rate /s)", "per second"} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The 6 s without a scrape (3 → 9) is a gap: the queue's line has two pieces.
	q := targetChart([]run{{rep: rep, win: 1}}, "queue_depth")
	m := regexp.MustCompile(`<path d="([^"]*)" fill="none" stroke="` + colTarget + `"`).FindStringSubmatch(q)
	if m == nil || strings.Count(m[1], "M") != 2 {
		t.Errorf("the queue's line is not broken at the failed scrapes:\n%s", q)
	}

	other := synthReport(t, false)
	other.TargetMetrics = []analyze.TargetSeries{targetSeries("queue_depth", "gauge", "", [2]float64{1, 0}, [2]float64{2, 1})}
	other.TargetMetrics[0].Endpoint = "http://other/metrics"
	svgs = checkPage(t, render(t, []*analyze.Report{rep, other}, nil))
	for _, s := range svgs {
		if s.label == "queue_depth" && (s.paths < 2 || s.dashed < 1) {
			t.Errorf("the queue of both runs is not overlaid: %+v", s)
		}
	}
}
