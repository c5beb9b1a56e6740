package report

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/capacity"
)

// synthCapacity is a finished search against a 400 req/s target: an 8-step knee curve over
// two repeats, and tipping maps for two policies at three durations, built by hand (the
// sentences as capacity writes them) so the page's figures are known.
func synthCapacity() *capacity.Result {
	rec := func(s float64) *float64 { return &s }
	step := func(rps, good, p50, p99, errs float64, rep int, pass bool) capacity.Step {
		return capacity.Step{RPS: rps, Repeat: rep, GoodputRPS: good, ErrorRate: errs, P50: p50, P99: p99, Pass: pass}
	}
	ok := func(size, after float64) capacity.SurgePoint {
		return capacity.SurgePoint{Size: size, Verdict: "overloaded", RecoverySeconds: rec(after)}
	}
	stable := func(size float64) capacity.SurgePoint { return capacity.SurgePoint{Size: size, Verdict: "stable"} }
	tipped := func(size float64) capacity.SurgePoint {
		return capacity.SurgePoint{Size: size, Verdict: "metastable", Tipped: true}
	}
	return &capacity.Result{
		Target: "http://127.0.0.1:18080", Profile: "monday-morning",
		Knee: &capacity.Knee{
			RPS: 395.3, LowRPS: 390, HighRPS: 407.7,
			Repeats: []capacity.Bracket{{Good: 395.3, Bad: 400}, {Good: 390, Bad: 407.7}},
			Curve: []capacity.Step{
				step(320, 320, 21, 22, 0, 0, true),
				step(390, 390, 24, 29, 0, 1, true),
				step(395.3, 395.3, 36, 55, 0, 0, true),
				step(400, 400, 66, 118, 0, 0, false),
				step(407.7, 408, 90, 150, 0, 1, false),
				step(440, 440, 212, 424, 0, 0, false),
				step(480, 319.7, 379, 740, 0.12, 0, false),
				step(640, 162.7, 968, 1002, 0.61, 0, false),
			},
		},
		BaselineFraction: 0.5, BaselineRPS: 197.7,
		Maps: []capacity.Map{
			{Policy: "immediate", Boundaries: []capacity.Boundary{
				{DurationSeconds: 2, RecoversAt: 2.68, TipsAt: 3.28, Complete: true,
					Probes:   []capacity.SurgePoint{tipped(6), stable(1.2), ok(2.68, 1), tipped(4.01), tipped(3.28)},
					Sentence: "at 50 % load (197.7 req/s), a 3.28× surge for 2 s does not recover with immediate retries (2.68× does)"},
				{DurationSeconds: 5, RecoversAt: 1.9, TipsAt: 2.2, Complete: true,
					Probes:   []capacity.SurgePoint{tipped(6), ok(1.2, 2), tipped(2.68), ok(1.9, 4), tipped(2.2)},
					Sentence: "at 50 % load (197.7 req/s), a 2.2× surge for 5 s does not recover with immediate retries (1.9× does)"},
				{DurationSeconds: 10, TipsAt: 1.2, Complete: true,
					Probes:   []capacity.SurgePoint{tipped(6), tipped(1.2)},
					Sentence: "at 50 % load (197.7 req/s), even a 1.2× surge for 10 s does not recover with immediate retries"},
			}},
			{Policy: "budget", Boundaries: []capacity.Boundary{
				{DurationSeconds: 2, RecoversAt: 6, Complete: true,
					Probes:   []capacity.SurgePoint{ok(6, 3)},
					Sentence: "at 50 % load (197.7 req/s), surges up to 6× for 2 s recover with budgeted retries"},
				{DurationSeconds: 5, RecoversAt: 4.01, TipsAt: 4.9, Complete: true,
					Probes:   []capacity.SurgePoint{tipped(6), ok(1.2, 1), ok(2.68, 2), ok(4.01, 5), tipped(4.9)},
					Sentence: "at 50 % load (197.7 req/s), a 4.9× surge for 5 s does not recover with budgeted retries (4.01× does)"},
				{DurationSeconds: 10, RecoversAt: 2.68, TipsAt: 3.28, Complete: true,
					Probes:   []capacity.SurgePoint{tipped(6), ok(1.2, 2), ok(2.68, 7), tipped(4.01), tipped(3.28)},
					Sentence: "at 50 % load (197.7 req/s), a 3.28× surge for 10 s does not recover with budgeted retries (2.68× does)"},
			}},
		},
		Comparison: []string{"2 s surges: immediate tips at 3.28×, budget recovers up to 6×: budget takes at least 1.8× the surge immediate does"},
		Warnings:   []string{"a 3s step with a p99 threshold of 100ms cannot see an overload of less than 3 %"},
		Complete:   true, ProbesRun: 31, ProbesReused: 12, ElapsedSeconds: 402,
	}
}

func renderCapacity(t testing.TB, res *capacity.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCapacity(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteCapacity(t *testing.T) {
	res := synthCapacity()
	page := renderCapacity(t, res)
	svgs := checkPage(t, page)
	if len(svgs) != 3 {
		t.Fatalf("%d <svg> charts, want 3 (throughput, latency, tipping map)", len(svgs))
	}
	// Every step and every probe is a marker path, on top of the lines.
	probes := 0
	for _, m := range res.Maps {
		for _, b := range m.Boundaries {
			probes += len(b.Probes)
		}
	}
	for i, want := range []int{len(res.Knee.Curve) + 2, len(res.Knee.Curve) + 2, probes + 4} {
		if svgs[i].paths < want {
			t.Errorf("chart %q draws %d paths, want at least %d", svgs[i].label, svgs[i].paths, want)
		}
	}
	text := html.UnescapeString(page)
	wants := []string{
		"knee 395.3 req/s", "Between 390 and 407.7 req/s over 2 repeats",
		"baseline of 197.7 req/s (50 % of the knee)", "Search complete.",
		"warning: a 3s step", "probes run <b>31</b>",
		"3.28×: metastable", "> 6×", // a probe, and a boundary with nothing tipped
		"knee 395.3 req/s (390–407.7)", // the vertical line's label
		res.Comparison[0],
	}
	for _, m := range res.Maps {
		for _, b := range m.Boundaries {
			wants = append(wants, b.Sentence)
		}
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("the template refused a value (ZgotmplZ)")
	}
	if strings.Contains(page, "INCOMPLETE") {
		t.Error("a complete search is called incomplete")
	}
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(strings.ReplaceAll(page, res.Target, "")); m != "" {
		t.Errorf("page refers to %s", m)
	}
	// Deterministic: the same result gives the same bytes (no map order leaking).
	if again := renderCapacity(t, res); again != page {
		t.Error("two renderings of one result differ")
	}
}

func TestWriteCapacityIncomplete(t *testing.T) {
	res := synthCapacity()
	res.Complete = false
	res.Stopped = "the time budget of 7m0s was spent; rerun with the same state file to go on"
	res.Maps[1].Boundaries = res.Maps[1].Boundaries[:1]
	page := renderCapacity(t, res)
	checkPage(t, page)
	if !strings.Contains(page, "INCOMPLETE: "+res.Stopped) || !strings.Contains(page, `class="run incomplete"`) {
		t.Error("an incomplete search does not show why it stopped")
	}
}

func TestWriteCapacityKneeOnly(t *testing.T) {
	res := synthCapacity()
	res.Maps, res.Comparison, res.BaselineRPS = nil, nil, 0
	page := renderCapacity(t, res)
	svgs := checkPage(t, page)
	if len(svgs) != 2 {
		t.Fatalf("%d <svg> charts, want the two knee charts", len(svgs))
	}
	if !strings.Contains(page, "No tipping map") || strings.Contains(page, "Tipping map") {
		t.Error("a knee-only result does not say it has no map")
	}

	// A knee given with --knee and no map: nothing to draw, still a page.
	given := &capacity.Result{Target: "http://x", Profile: "p", Complete: true,
		Knee: &capacity.Knee{RPS: 100, LowRPS: 100, HighRPS: 100, Given: true}}
	page = renderCapacity(t, given)
	if n := len(checkPage(t, page)); n != 0 {
		t.Errorf("%d charts for a given knee, want none", n)
	}
	if !strings.Contains(page, "knee 100 req/s") || !strings.Contains(page, "Given with --knee") {
		t.Error("a given knee is not stated")
	}
	if err := WriteCapacity(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteCapacity(nil) succeeded")
	}
}

// TestCapacityWithoutKnee: a search stopped during the knee search has no knee to mark.
func TestCapacityWithoutKnee(t *testing.T) {
	res := &capacity.Result{Target: "http://x", Profile: "p", Stopped: "interrupted",
		Knee: &capacity.Knee{Curve: synthCapacity().Knee.Curve[:2]}}
	page := renderCapacity(t, res)
	if n := len(checkPage(t, page)); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	if !strings.Contains(page, "knee not found") || !strings.Contains(page, "INCOMPLETE: interrupted") {
		t.Error("a stopped knee search is not stated")
	}
	page = renderCapacity(t, &capacity.Result{Target: "http://x", Profile: "p"})
	if !strings.Contains(page, "knee not measured") {
		t.Error("a result without a knee is not stated")
	}
}

// TestCapacitySharesStyle: the capacity page's stylesheet starts with the run report's, so
// both pages look alike; a change to one is a change to the other.
func TestCapacitySharesStyle(t *testing.T) {
	page := render(t, []*analyze.Report{{Verdict: analyze.Stable}}, nil)
	if !strings.Contains(page, "<style>\n"+baseCSS+"</style>") {
		t.Error("report.Write's stylesheet is no longer baseCSS: copy it into capacity.go")
	}
}

// TestCapacityDropPage: a capacity-drop result reads in cuts (%), one map per baseline.
func TestCapacityDropPage(t *testing.T) {
	rec := 2.0
	res := &capacity.Result{Target: "http://127.0.0.1:8080", Profile: "capacity-loss", Trigger: capacity.TriggerCapacityDrop,
		Knee: &capacity.Knee{RPS: 400, Given: true}, Complete: true, Warnings: []string{}}
	for _, base := range []float64{180, 240} {
		res.Maps = append(res.Maps, capacity.Map{Policy: "immediate", BaselineRPS: base, BaselineFraction: base / 400,
			Boundaries: []capacity.Boundary{{DurationSeconds: 4, RecoversAt: 0.5, TipsAt: 0.55, Complete: true,
				Sentence: "a 55 % capacity cut for 4 s does not recover",
				Probes:   []capacity.SurgePoint{{Size: 0.5, Verdict: "overloaded", RecoverySeconds: &rec}, {Size: 0.55, Verdict: "metastable", Tipped: true}}}}})
	}
	var b strings.Builder
	if err := WriteCapacity(&b, res); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"Capacity-drop map", "55 %", "immediate at 180 req/s", "immediate at 240 req/s", "share of the capacity cut"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "0.55×") {
		t.Errorf("a cut is shown as a surge size")
	}
}
