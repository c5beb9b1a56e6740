package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestCompareCommand(t *testing.T) {
	before := writeSynthRun(t, synthRun{profile: "maint", baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond})
	same := writeSynthRun(t, synthRun{profile: "maint", baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond})
	// Half the requests fail throughout: the goodput the service sustains is halved.
	halved := writeSynthRun(t, synthRun{profile: "maint", baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond, failEvery: 2})
	// The peak is answered beyond the SLO: goodput there is 0 and so is any span over it,
	// but the base still shows the full capacity.
	slowPeak := writeSynthRun(t, synthRun{profile: "maint", baseLat: 10 * time.Millisecond, peakLat: 700 * time.Millisecond})
	other := writeSynthRun(t, synthRun{profile: "other", baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond})

	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"same", []string{"compare", before, same}, exitOK, []string{"no capacity regression", "capacity", "peak", "goodput_rps"}},
		{"halved", []string{"compare", before, halved}, exitFail, []string{"REGRESSION: measured capacity fell 50% (50 → 25 req/s)", "-50%"}},
		{"halved within a 60% allowance", []string{"compare", "--fail-on-regression", "60", before, halved}, exitOK, []string{"no capacity regression"}},
		{"slow peak keeps capacity", []string{"compare", before, slowPeak}, exitOK, []string{"no capacity regression", "50/s at 0s", "-100%"}},
		{"markdown", []string{"compare", "--format", "markdown", before, same}, exitOK, []string{"**no capacity regression", "| phase | metric |"}},
		{"different profiles", []string{"compare", before, other}, exitUsage, []string{`"maint"`, `"other"`, "not runs of the same profile"}},
		{"one file", []string{"compare", before}, exitUsage, []string{"two results files"}},
		{"bad format", []string{"compare", "--format", "html", before, same}, exitUsage, []string{"text, json or markdown"}},
		{"negative pct", []string{"compare", "--fail-on-regression", "-1", before, same}, exitUsage, []string{"fail-on-regression"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkExit(t, tc.code, tc.want, tc.args...)
		})
	}
}

func TestCompareJSON(t *testing.T) {
	before := writeSynthRun(t, synthRun{profile: "maint", baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond})
	halved := writeSynthRun(t, synthRun{profile: "maint", baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond, failEvery: 2})
	code, stdout, stderr := runGateCLI(t, "compare", "--format", "json", before, halved)
	if code != exitFail {
		t.Fatalf("exit %d, want %d: %s", code, exitFail, stderr)
	}
	var c struct {
		Regression bool     `json:"regression"`
		Delta      *float64 `json:"capacity_delta_pct"`
		Before     struct {
			Capacity struct {
				RPS float64 `json:"rps"`
			} `json:"capacity"`
		} `json:"before"`
		After struct {
			Capacity struct {
				RPS float64 `json:"rps"`
			} `json:"capacity"`
		} `json:"after"`
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if !c.Regression || c.Before.Capacity.RPS != 50 || c.After.Capacity.RPS != 25 || c.Delta == nil || *c.Delta != -50 || len(c.Rows) != 15 {
		t.Errorf("comparison %+v", c)
	}
}
