package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestFormatEveryCommand: analyze, compare, capacity and gate take --format the same way; a
// format a command cannot render is bad input, one line and exit 2, before any work (capacity
// never dials its unreachable target); the older --json flags still mean --format json.
func TestFormatEveryCommand(t *testing.T) {
	run := writeSynthRun(t, synthRun{profile: "ci", baseLat: 10 * time.Millisecond, peakLat: 40 * time.Millisecond})
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"analyze text", []string{"analyze", "--format", "text", run}, exitOK, []string{"STABLE: "}},
		{"analyze markdown", []string{"analyze", "--format", "markdown", run}, exitOK, []string{"### stormtest: **STABLE**"}},
		{"analyze json alias", []string{"analyze", "--json", run}, exitOK, []string{`"verdict": "stable"`}},
		{"analyze html", []string{"analyze", "--format", "html", run}, exitUsage, []string{`analyze: --format "html": expected text, json or markdown`}},
		{"compare html", []string{"compare", "--format", "html", run, run}, exitUsage, []string{`compare: --format "html": expected text, json or markdown`}},
		{"gate text", []string{"gate", "--threshold", "p99<500ms", run}, exitOK, []string{"PASS  p99<500ms", "PASS: 1 of 1"}},
		{"gate json", []string{"gate", "--format", "json", "--threshold", "p99<500ms", "--threshold", "peak:p50<40ms", run}, exitFail,
			[]string{`"pass": false`, `"passed": 1`, `"expr": "peak:p50<40ms"`, `"phase": "peak"`, `"observed_text": "40ms"`}},
		{"gate markdown", []string{"gate", "--format", "markdown", "--threshold", "p99<500ms", run}, exitUsage, []string{`gate: --format "markdown": expected text or json`}},
		{"capacity markdown", []string{"capacity", "--target", "http://127.0.0.1:1", "--format", "markdown"}, exitUsage, []string{`capacity: --format "markdown": expected text or json`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkExit(t, tc.code, tc.want, tc.args...)
		})
	}
	code, stdout, stderr := runGateCLI(t, "gate", "--format", "json", "--threshold", "p99<500ms", run)
	var v struct {
		Pass       bool
		Thresholds []struct{ Observed *float64 }
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != exitOK || !v.Pass || len(v.Thresholds) != 1 || v.Thresholds[0].Observed == nil {
		t.Errorf("gate --format json: exit %d, %+v (%v)\n%s%s", code, v, err, stdout, stderr)
	}
}
