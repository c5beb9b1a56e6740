package gate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/analyze"
)

func TestParse(t *testing.T) {
	cases := []struct {
		expr    string
		want    Threshold // Expr is not compared
		wantErr []string  // substrings of the error; nil for a valid expression
	}{
		{"p99<500ms", Threshold{Metric: P99, Op: LT, Value: 500}, nil},
		{" peak : p99 <= 1.5s ", Threshold{Phase: "peak", Metric: P99, Op: LE, Value: 1500}, nil},
		{"p50>=250us", Threshold{Metric: P50, Op: GE, Value: 0.25}, nil},
		{"max>2m", Threshold{Metric: Max, Op: GT, Value: 120000}, nil},
		{"p90==10ms", Threshold{Metric: P90, Op: EQ, Value: 10}, nil},
		{"p999!=0s", Threshold{Metric: P999, Op: NE, Value: 0}, nil},
		{"error_rate<0.1%", Threshold{Metric: ErrorRate, Op: LT, Value: 0.001}, nil},
		{"error_rate<=0.001", Threshold{Metric: ErrorRate, Op: LE, Value: 0.001}, nil},
		{"goodput_ratio>0.99", Threshold{Metric: GoodputRatio, Op: GT, Value: 0.99}, nil},
		{"base:goodput_ratio>=99%", Threshold{Phase: "base", Metric: GoodputRatio, Op: GE, Value: 0.99}, nil},
		{"amplification<1.2", Threshold{Metric: Amplify, Op: LT, Value: 1.2}, nil},
		{"goodput_rps>=400", Threshold{Metric: GoodputRPS, Op: GE, Value: 400}, nil},
		{"after:intended_rps>0", Threshold{Phase: "after", Metric: IntendedRPS, Op: GT, Value: 0}, nil},
		{"verdict!=metastable", Threshold{Metric: Verdict, Op: NE, Verdict: "metastable"}, nil},
		{"verdict==stable", Threshold{Metric: Verdict, Op: EQ, Verdict: "stable"}, nil},
		{"a:b:p99<1s", Threshold{Phase: "a:b", Metric: P99, Op: LT, Value: 1000}, nil},

		{"p99", Threshold{}, []string{`"p99"`, "no operator", "[phase:]metric OP value"}},
		{"p99=500ms", Threshold{}, []string{"bad operator", "<, <=, >, >=, ==, !="}},
		{"p99=<500ms", Threshold{}, []string{"bad operator"}},
		{"p99<<500ms", Threshold{}, []string{"more than one operator"}},
		{"p98<500ms", Threshold{}, []string{`unknown metric "p98"`, "p50, p90"}},
		{"<500ms", Threshold{}, []string{`unknown metric ""`}},
		{":p99<500ms", Threshold{}, []string{"empty phase name"}},
		{"p99<500", Threshold{}, []string{`"500" has no unit`, "300ms or 1.5s"}},
		{"p99<fast", Threshold{}, []string{`"fast" is not a latency`}},
		{"p99<-1s", Threshold{}, []string{"negative"}},
		{"p99<", Threshold{}, []string{"no value after <"}},
		{"peak:p90<1s", Threshold{}, []string{"p90 is reported for the whole run only"}},
		{"error_rate<5", Threshold{}, []string{`"5" is outside 0–1`, "0.1%"}},
		{"error_rate<150%", Threshold{}, []string{"outside 0–1"}},
		{"error_rate<lots", Threshold{}, []string{"not a ratio"}},
		{"goodput_rps>many", Threshold{}, []string{"not a number"}},
		{"amplification<-1", Threshold{}, []string{"negative"}},
		{"amplification<NaN", Threshold{}, []string{"not a number"}},
		{"verdict<stable", Threshold{}, []string{"verdict takes == or !="}},
		{"verdict==broken", Threshold{}, []string{`unknown verdict "broken"`, "stable, overloaded, metastable, down or inconclusive"}},
		{"verdict!=down", Threshold{Metric: Verdict, Op: NE, Verdict: "down"}, nil},
		{"verdict==inconclusive", Threshold{Metric: Verdict, Op: EQ, Verdict: "inconclusive"}, nil},
		{"p99<1s\nmax<2s", Threshold{}, []string{`"p99<1s\nmax<2s"`}},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := Parse(tc.expr)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				got.Expr = ""
				if got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
				// The canonical form parses back to the same threshold.
				again, err := Parse(got.String())
				again.Expr = ""
				if err != nil || again != got {
					t.Errorf("String() %q parses back to %+v, %v", got.String(), again, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed as %+v, want an error", got)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.Contains(msg, "threshold ") {
				t.Errorf("error %q does not name the expression", msg)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestParseAll(t *testing.T) {
	ths, err := ParseAll([]string{"p99<1s", "verdict!=metastable"})
	if err != nil || len(ths) != 2 || ths[1].Expr != "verdict!=metastable" {
		t.Fatalf("%+v, %v", ths, err)
	}
	if _, err := ParseAll([]string{"p99<1s", "p99<1"}); err == nil || !strings.Contains(err.Error(), `"p99<1"`) {
		t.Fatalf("want the second expression named, got %v", err)
	}
}

// testReport is a hand-built run: 1000 requests, 1250 attempts (50 failed), 900 goodput,
// over two phases lasting 10 s in all.
func testReport() *analyze.Report {
	return &analyze.Report{
		Verdict:         analyze.Overloaded,
		Profile:         "test",
		DurationSeconds: 12,
		Requests:        1000,
		Attempts:        1250,
		Successes:       1200,
		Goodput:         900,
		Amplification:   1.25,
		Latency:         analyze.LatencySummary{Percentiles: analyze.Percentiles{P50: 20, P90: 80, P99: 400, P999: 900, Max: 1200}},
		Errors:          map[string]uint64{"timeout": 40, "5xx": 10},
		Phases: []analyze.PhaseStats{
			{Name: "base", StartSeconds: 0, EndSeconds: 4, IntendedRPS: 100, OfferedRPS: 100, GoodputRPS: 100, ErrorRPS: 0, Amplification: 1, P50: 5, P99: 10, P999: 15, Max: 20},
			{Name: "peak", StartSeconds: 4, EndSeconds: 10, IntendedRPS: 100, OfferedRPS: 125, GoodputRPS: 50, ErrorRPS: 25, Amplification: 1.25, P50: 100, P99: 600, P999: 950, Max: 1200},
		},
	}
}

func TestEvaluate(t *testing.T) {
	rep := testReport()
	cases := []struct {
		expr     string
		pass     bool
		observed string
	}{
		// Every metric, whole run.
		{"p50<=20ms", true, "20ms"},
		{"p90<80ms", false, "80ms"},
		{"p99<500ms", true, "400ms"},
		{"p999<900ms", false, "900ms"},
		{"max<=1.2s", true, "1.2s"},
		{"error_rate<=4%", true, "4%"}, // 50 / 1250
		{"error_rate<4%", false, "4%"},
		{"error_rate<0.04", false, "4%"},
		{"goodput_ratio>=0.9", true, "90%"}, // 900 / 1000
		{"goodput_ratio>0.9", false, "90%"},
		{"amplification==1.25", true, "1.25x"},
		{"amplification!=1.25", false, "1.25x"},
		{"goodput_rps>=90", true, "90/s"},    // 900 over the 10 s schedule, not the 12 s run
		{"intended_rps==100", true, "100/s"}, // 1000 over 10 s
		{"verdict!=metastable", true, "overloaded"},
		{"verdict==stable", false, "overloaded"},
		{"verdict==overloaded", true, "overloaded"},
		// Phase scoping: the same metric differs by phase.
		{"base:p99<500ms", true, "10ms"},
		{"peak:p99<500ms", false, "600ms"},
		{"peak:p50==100ms", true, "100ms"},
		{"peak:p999>=950ms", true, "950ms"},
		{"peak:max>1.2s", false, "1.2s"},
		{"peak:error_rate==20%", true, "20%"}, // 25 / 125
		{"base:error_rate==0", true, "0%"},
		{"peak:goodput_ratio<0.5", false, "50%"},
		{"peak:amplification<=1.25", true, "1.25x"},
		{"peak:goodput_rps<50", false, "50/s"},
		{"peak:intended_rps>=100", true, "100/s"},
		// Boundaries with each operator at p99 = 400 ms.
		{"p99<400ms", false, "400ms"},
		{"p99<=400ms", true, "400ms"},
		{"p99>400ms", false, "400ms"},
		{"p99>=400ms", true, "400ms"},
		{"p99==400ms", true, "400ms"},
		{"p99!=400ms", false, "400ms"},
		{"p99<400.001ms", true, "400ms"},
		{"p99>399.999ms", true, "400ms"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(rep, []Threshold{th}); err != nil {
				t.Fatal(err)
			}
			res := Evaluate(rep, []Threshold{th})
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if r.Pass != tc.pass || r.ObservedText != tc.observed || r.Err != nil {
				t.Errorf("pass %v observed %q err %v; want pass %v observed %q", r.Pass, r.ObservedText, r.Err, tc.pass, tc.observed)
			}
			if !strings.Contains(r.Message(), tc.expr) || !strings.Contains(r.Message(), tc.observed) {
				t.Errorf("message %q lacks the expression or the observed value", r.Message())
			}
		})
	}
}

func TestUnknownPhase(t *testing.T) {
	rep := testReport()
	th, err := Parse("peek:p99<500ms")
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(rep, []Threshold{th})
	if !errors.Is(err, ErrUnknownPhase) || !strings.Contains(err.Error(), `"peek"`) || !strings.Contains(err.Error(), "base, peak") {
		t.Fatalf("Validate: %v; want an unknown-phase error naming base, peak", err)
	}
	// Evaluated anyway, it fails: a gate must not pass by not looking.
	r := Evaluate(rep, []Threshold{th})[0]
	if r.Pass || r.Err == nil {
		t.Fatalf("unknown phase evaluated as %+v", r)
	}
}

// An empty run has nothing to measure: ratios are undefined and must fail, whatever the
// operator.
func TestEmptyRunFails(t *testing.T) {
	rep := &analyze.Report{Verdict: analyze.Stable}
	for _, expr := range []string{"error_rate<1%", "error_rate!=1%", "goodput_ratio>=0", "amplification<2", "goodput_rps>=0"} {
		th, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		r := Evaluate(rep, []Threshold{th})[0]
		if r.Pass || !math.IsNaN(r.Observed) || !strings.Contains(r.ObservedText, "n/a") {
			t.Errorf("%s on an empty run: %+v", expr, r)
		}
	}
}

func TestWriteJUnit(t *testing.T) {
	rep := testReport()
	ths, err := ParseAll([]string{"p99<500ms", "peak:p99<500ms", "verdict!=metastable", "error_rate<1%"})
	if err != nil {
		t.Fatal(err)
	}
	ths = append(ths, Threshold{Expr: "gone:p99<1s", Phase: "gone", Metric: P99, Op: LT, Value: 1000})
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, "stormtest gate test", Evaluate(rep, ths)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if !strings.HasPrefix(buf.String(), "<?xml") {
		t.Errorf("no XML declaration:\n%s", buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d test suites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != "stormtest gate test" || s.Tests != 5 || s.Failures != 3 || s.Errors != 0 || s.Time != "0" || doc.Tests != 5 || doc.Failures != 3 {
		t.Errorf("suite attributes %+v / %d %d", s, doc.Tests, doc.Failures)
	}
	wantFail := map[string]string{
		"peak:p99<500ms": "600ms",
		"error_rate<1%":  "4%",
		"gone:p99<1s":    "unknown phase",
	}
	for _, c := range s.Cases {
		if c.Time != "0" {
			t.Errorf("%s: time %q", c.Name, c.Time)
		}
		want, fail := wantFail[c.Name]
		switch {
		case fail && c.Failure == nil:
			t.Errorf("%s: no <failure>", c.Name)
		case !fail && c.Failure != nil:
			t.Errorf("%s: unexpected failure %q", c.Name, c.Failure.Message)
		case fail && !strings.Contains(c.Failure.Message, want):
			t.Errorf("%s: failure message %q lacks %q", c.Name, c.Failure.Message, want)
		}
	}
	if len(s.Cases) != 5 {
		t.Errorf("%d test cases, want 5", len(s.Cases))
	}
}

// TestVerdictWithoutEvidence is issue 11: a run judged down or inconclusive must fail every
// verdict threshold, whatever its operator, unless the user allows that verdict; the result
// says why. Naming the verdict itself (verdict==down) is such an allowance.
func TestVerdictWithoutEvidence(t *testing.T) {
	cases := []struct {
		verdict  string
		expr     string
		allow    Allow
		pass     bool
		observed []string
	}{
		{analyze.Down, "verdict==stable", Allow{}, false, []string{"down", "--allow-down", "nothing served"}},
		{analyze.Down, "verdict!=metastable", Allow{}, false, []string{"down", "--allow-down"}},
		{analyze.Down, "verdict!=overloaded", Allow{}, false, []string{"down"}},
		{analyze.Down, "verdict!=metastable", Allow{Inconclusive: true}, false, []string{"--allow-down"}},
		{analyze.Down, "verdict!=metastable", Allow{Down: true}, true, []string{"down"}},
		{analyze.Down, "verdict==stable", Allow{Down: true}, false, []string{"down"}},
		{analyze.Down, "verdict==down", Allow{}, true, []string{"down"}},
		{analyze.Down, "verdict!=down", Allow{}, false, []string{"down"}},
		{analyze.Inconclusive, "verdict==stable", Allow{}, false, []string{"inconclusive", "--allow-inconclusive", "nothing served"}},
		{analyze.Inconclusive, "verdict!=metastable", Allow{}, false, []string{"inconclusive", "--allow-inconclusive"}},
		{analyze.Inconclusive, "verdict!=metastable", Allow{Down: true}, false, []string{"--allow-inconclusive"}},
		{analyze.Inconclusive, "verdict!=metastable", Allow{Inconclusive: true}, true, []string{"inconclusive"}},
		{analyze.Inconclusive, "verdict==inconclusive", Allow{}, true, []string{"inconclusive"}},
		{analyze.Stable, "verdict==stable", Allow{}, true, []string{"stable"}},
	}
	for _, tc := range cases {
		t.Run(tc.verdict+" "+tc.expr, func(t *testing.T) {
			rep := &analyze.Report{Verdict: tc.verdict, Evidence: []string{"nothing served"}}
			th, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			r := EvaluateAllowing(rep, []Threshold{th}, tc.allow)[0]
			if r.Pass != tc.pass {
				t.Errorf("pass %v, want %v: %s", r.Pass, tc.pass, r.Message())
			}
			for _, want := range tc.observed {
				if !strings.Contains(r.Message(), want) {
					t.Errorf("message %q lacks %q", r.Message(), want)
				}
			}
			if tc.allow == (Allow{}) {
				if strict := Evaluate(rep, []Threshold{th})[0]; strict.Pass != r.Pass {
					t.Errorf("Evaluate %v but EvaluateAllowing without allowances %v", strict.Pass, r.Pass)
				}
			}
		})
	}
}
