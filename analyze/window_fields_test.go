package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/cpustat"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

// TestWindowInFlightLagAndErrorKinds follows three hand-made attempts through the series:
// in-flight at each window's end, the worst generator lag among the window's sends, and
// failures by kind where they ended.
func TestWindowInFlightLagAndErrorKinds(t *testing.T) {
	h := testHeader(testfix.Phase("only", 4, 1))
	a := New(h, DefaultOptions())
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	recs := []results.Record{
		// Sent at 0.5 s (lag 20 ms), ends at 2.6 s: in flight at the ends of windows 0 and 1.
		{RequestID: 1, Attempt: 1, Kind: results.KindTimeout, Intended: at(480 * time.Millisecond),
			SendLag: 20 * time.Millisecond, ServiceTime: 2100 * time.Millisecond, Error: "timeout"},
		// Sent at 0.2 s, ends at 0.3 s: never in flight at a window's end.
		{RequestID: 2, Attempt: 1, Kind: results.KindOK, Code: 200, Intended: at(200 * time.Millisecond),
			SendLag: time.Millisecond, ServiceTime: 100 * time.Millisecond},
		// Sent at 1.9 s (lag 300 ms), refused at 2.1 s.
		{RequestID: 3, Attempt: 1, Kind: results.KindRefused, Intended: at(1600 * time.Millisecond),
			SendLag: 300 * time.Millisecond, ServiceTime: 200 * time.Millisecond, Error: "connection refused"},
	}
	for i := range recs {
		a.Add(&recs[i])
	}
	rep := a.Finish(nil, nil)
	want := []struct {
		inFlight uint64
		lagMax   float64
		errors   map[string]uint64
	}{
		{1, 20, nil},
		{2, 300, nil},
		{0, 0, map[string]uint64{"timeout": 1, "refused": 1}},
	}
	if len(rep.Windows) < len(want) {
		t.Fatalf("%d windows, want at least %d", len(rep.Windows), len(want))
	}
	for i, w := range want {
		got := rep.Windows[i]
		if got.InFlight != w.inFlight || got.LagMax != w.lagMax || len(got.Errors) != len(w.errors) {
			t.Errorf("window %d: in flight %d, lag max %v ms, errors %v; want %d, %v, %v", i, got.InFlight, got.LagMax, got.Errors, w.inFlight, w.lagMax, w.errors)
		}
		for k, n := range w.errors {
			if got.Errors[k] != n {
				t.Errorf("window %d: %d %s errors, want %d", i, got.Errors[k], k, n)
			}
		}
	}
}

func TestAddCPUWarnsWhenTheGeneratorSaturated(t *testing.T) {
	samples := func(busy ...float64) []cpustat.Sample {
		var s []cpustat.Sample
		for i, b := range busy {
			s = append(s, cpustat.Sample{T: float64(i + 1), Machine: b})
		}
		return s
	}
	cases := []struct {
		name    string
		samples []cpustat.Sample
		warn    bool
	}{
		{"idle", samples(0.1, 0.2, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.2, 0.1), false},
		{"one busy second is noise", samples(0.1, 0.95, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.2, 0.1), false},
		{"saturated for 3 of 10 s", samples(0.1, 0.95, 0.97, 0.99, 0.1, 0.1, 0.2, 0.3, 0.2, 0.1), true},
		{"unknown samples do not count", samples(-1, -1, -1, 0.95, 0.95), true},
		{"no samples", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := New(testHeader(testfix.Phase("only", 10, 10)), DefaultOptions())
			recs := synth(stretch{secs: 10, rps: 10, okShare: 1, tries: 1})
			for i := range recs {
				a.Add(&recs[i])
			}
			a.AddCPU("gen-0.st", tc.samples)
			rep := a.Finish(nil, nil)
			warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "CPU-saturated")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v: %q", warned, tc.warn, rep.Warnings)
			}
			if len(tc.samples) > 2 && tc.samples[2].Machine >= 0 {
				if c := rep.Windows[2].MachineCPU; c == nil || *c != tc.samples[2].Machine {
					t.Errorf("window 2 machine CPU %v, want the sample taken at t=3 s (%v)", c, tc.samples[2].Machine)
				}
			}
		})
	}
}

// TestRepeatedPhaseSpansAllItsPlays: a phase with repeat: 3 lasts three of its durations, and
// the phase after it starts there.
func TestRepeatedPhaseSpansAllItsPlays(t *testing.T) {
	rep := testfix.Phase("waves", 2, 10)
	rep.Repeat = 3
	h := testHeader(rep, testfix.Phase("after", 4, 10))
	a := New(h, DefaultOptions())
	recs := synth(stretch{secs: 6, rps: 10, okShare: 1, tries: 1}, stretch{secs: 4, rps: 10, phase: 1, okShare: 1, tries: 1})
	for i := range recs {
		a.Add(&recs[i])
	}
	r := a.Finish(nil, nil)
	if len(r.Phases) != 2 || r.Phases[0].EndSeconds != 6 || r.Phases[1].StartSeconds != 6 || r.Phases[1].EndSeconds != 10 {
		t.Fatalf("phases %+v: want waves 0–6 s and after 6–10 s", r.Phases)
	}
	if r.Phases[0].IntendedRPS != 10 {
		t.Errorf("waves intended %.1f rps, want 10 (60 requests over 6 s)", r.Phases[0].IntendedRPS)
	}
}

func TestWastedCountsSuccessesAfterTheDeadline(t *testing.T) {
	h := testHeader(testfix.Phase("only", 2, 1))
	h.Profile.Client.Deadline = profiles.Duration(300 * time.Millisecond)
	a := New(h, DefaultOptions())
	at := t0.Add(100 * time.Millisecond).UnixNano()
	recs := []results.Record{
		// In time: 100 ms.
		{RequestID: 1, Attempt: 1, Kind: results.KindOK, Code: 200, Intended: at, ServiceTime: 100 * time.Millisecond},
		// A retry that succeeded 400 ms into its request: its user had given up at 300 ms.
		{RequestID: 2, Attempt: 2, Kind: results.KindOK, Code: 200, Intended: at + int64(350*time.Millisecond),
			RequestAge: 350 * time.Millisecond, ServiceTime: 50 * time.Millisecond},
	}
	for i := range recs {
		a.Add(&recs[i])
	}
	r := a.Finish(nil, nil)
	if r.Wasted != 1 || r.Windows[0].WastedRPS != 1 {
		t.Fatalf("wasted %d (window 0: %v/s), want 1", r.Wasted, r.Windows[0].WastedRPS)
	}
}

// TestEvidenceNamesTheGroupThatSustainedTheStorm: in a mix where one group retries and the
// other does not, the evidence and the group stats say which one kept the load up.
func TestEvidenceNamesTheGroupThatSustainedTheStorm(t *testing.T) {
	h := testHeader(testfix.Phase("base", 30, 100), testfix.Phase("surge", 10, 300), testfix.Phase("after", 40, 100))
	cl := h.Profile.Client
	mobile, web := cl, cl
	mobile.Name, mobile.Share = "mobile", 0.5
	web.Name, web.Share = "web", 0.5
	web.Retry = profiles.Retry{Policy: profiles.PolicyNone}
	h.Profile.Clients = []profiles.Client{mobile, web}
	h.Groups = []string{"mobile", "web"}
	a := New(h, DefaultOptions())
	for _, r := range synth(
		stretch{secs: 30, rps: 100, okShare: 1, tries: 3},
		stretch{secs: 10, rps: 300, phase: 1, okShare: 0.2, tries: 3},
		stretch{secs: 40, rps: 100, phase: 2, okShare: 0.2, tries: 3},
	) {
		r.Group = uint8(r.RequestID % 2) // even ids: mobile (0), odd: web (1)
		if r.Group == 1 && r.Attempt > 1 {
			continue // web clients do not retry
		}
		a.Add(&r)
	}
	rep := a.Finish(nil, nil)
	var sentence string
	for _, e := range rep.Evidence {
		if strings.Contains(e, "by client group") {
			sentence = e
		}
	}
	if sentence == "" || strings.Index(sentence, `"mobile"`) < 0 {
		t.Fatalf("no per-group evidence: %q", rep.Evidence)
	}
	m, w := rep.Groups[0].AmplificationAfterTrigger, rep.Groups[1].AmplificationAfterTrigger
	if m == nil || w == nil || *m < 2 || *w > 1.01 {
		t.Fatalf("amplification after the trigger: mobile %v, web %v; want mobile ≥ 2 and web 1 (%s)", *m, *w, sentence)
	}
}

func TestMarkdownPutsTheVerdictFirst(t *testing.T) {
	a, _ := metastableRun()
	rep := a.Finish(nil, nil)
	var b strings.Builder
	if err := rep.Write(&b, FormatMarkdown, false); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.HasPrefix(md, "### stormtest: **METASTABLE**") || !strings.Contains(md, "| phase | span s |") ||
		!strings.Contains(md, "| surge |") || strings.Contains(md, "\x1b[") {
		t.Fatalf("markdown:\n%s", md)
	}
	var txt strings.Builder
	if err := rep.Write(&txt, FormatText, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "\x1b[") {
		t.Fatal("text with colour has no colour")
	}
	if _, err := ParseFormat("html"); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

func TestLagWarningScalesWithTheSLO(t *testing.T) {
	cases := []struct {
		slo  time.Duration
		lag  time.Duration
		warn bool
	}{
		{500 * time.Millisecond, 20 * time.Millisecond, false}, // 4 % of the SLO
		{500 * time.Millisecond, 80 * time.Millisecond, true},
		{100 * time.Millisecond, 20 * time.Millisecond, true}, // 20 % of a tight SLO
		{20 * time.Millisecond, 4 * time.Millisecond, false},  // under the 5 ms floor
		{20 * time.Millisecond, 8 * time.Millisecond, true},
	}
	for _, tc := range cases {
		h := testHeader(testfix.Phase("only", 3, 100))
		h.Profile.SLO.Latency = profiles.Duration(tc.slo)
		a := New(h, DefaultOptions())
		for _, r := range synth(stretch{secs: 3, rps: 100, okShare: 1, tries: 1}) {
			r.SendLag = tc.lag
			a.Add(&r)
		}
		rep := a.Finish(nil, nil)
		warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "generator lag p99")
		if warned != tc.warn {
			t.Errorf("SLO %v, lag %v: warned %v, want %v (%q)", tc.slo, tc.lag, warned, tc.warn, rep.Warnings)
		}
		// Below the bottleneck line but past 1 ms, the softer pacing note says so instead.
		noted := strings.Contains(strings.Join(rep.Warnings, "\n"), "pacing precision")
		if want := !tc.warn && tc.lag > time.Millisecond; noted != want {
			t.Errorf("SLO %v, lag %v: pacing note %v, want %v (%q)", tc.slo, tc.lag, noted, want, rep.Warnings)
		}
	}
}
