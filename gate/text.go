package gate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/stormtest/stormtest/analyze"
)

// Failed is how many results failed (unevaluable ones included).
func Failed(res []Result) int {
	n := 0
	for _, r := range res {
		if !r.Pass {
			n++
		}
	}
	return n
}

// WriteText prints one line per threshold (PASS or FAIL, the expression, what was observed),
// then the run's verdict and warnings, then the outcome: what `stormtest gate` prints.
func WriteText(w io.Writer, rep *analyze.Report, res []Result) error {
	bw := bufio.NewWriter(w)
	width := 0
	for _, r := range res {
		width = max(width, len(r.Threshold.Expr))
	}
	for _, r := range res {
		state := "PASS"
		if !r.Pass {
			state = "FAIL"
		}
		fmt.Fprintf(bw, "%s  %-*s  %s %s\n", state, width, r.Threshold.Expr, r.Threshold.Metric, r.ObservedText)
	}
	fmt.Fprintf(bw, "verdict: %s (profile %s, %d requests, %d attempts)\n", rep.Verdict, rep.Profile, rep.Requests, rep.Attempts)
	for _, warn := range rep.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", warn)
	}
	failed := Failed(res)
	outcome := "PASS"
	if failed > 0 {
		outcome = "FAIL"
	}
	fmt.Fprintf(bw, "%s: %d of %d thresholds passed\n", outcome, len(res)-failed, len(res))
	return bw.Flush()
}

// jsonSummary is the JSON form of a gate's outcome (WriteJSON).
type jsonSummary struct {
	Pass       bool            `json:"pass"`
	Passed     int             `json:"passed"`
	Failed     int             `json:"failed"`
	Verdict    string          `json:"verdict"`
	Profile    string          `json:"profile"`
	Requests   uint64          `json:"requests"`
	Attempts   uint64          `json:"attempts"`
	Warnings   []string        `json:"warnings,omitempty"`
	Thresholds []jsonThreshold `json:"thresholds"`
}

type jsonThreshold struct {
	Expr   string `json:"expr"`
	Phase  string `json:"phase,omitempty"`
	Metric Metric `json:"metric"`
	// Observed is null when the value is undefined (no attempts) or could not be found.
	Observed     *float64 `json:"observed"`
	ObservedText string   `json:"observed_text"`
	Pass         bool     `json:"pass"`
	Error        string   `json:"error,omitempty"`
}

// WriteJSON prints the same outcome as WriteText as one JSON object: pass, passed, failed,
// verdict, profile, requests, attempts, warnings and one entry per threshold (expr, phase,
// metric, observed in the metric's base unit or null, observed_text, pass, error).
func WriteJSON(w io.Writer, rep *analyze.Report, res []Result) error {
	failed := Failed(res)
	s := jsonSummary{
		Pass: failed == 0, Passed: len(res) - failed, Failed: failed,
		Verdict: rep.Verdict, Profile: rep.Profile, Requests: rep.Requests, Attempts: rep.Attempts,
		Warnings: rep.Warnings, Thresholds: make([]jsonThreshold, 0, len(res)),
	}
	for _, r := range res {
		t := jsonThreshold{Expr: r.Threshold.Expr, Phase: r.Threshold.Phase, Metric: r.Threshold.Metric,
			ObservedText: r.ObservedText, Pass: r.Pass}
		if !math.IsNaN(r.Observed) && !math.IsInf(r.Observed, 0) {
			t.Observed = &r.Observed
		}
		if r.Err != nil {
			t.Error = r.Err.Error()
		}
		s.Thresholds = append(s.Thresholds, t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // thresholds are written with < and >
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("gate: write JSON: %w", err)
	}
	return nil
}
