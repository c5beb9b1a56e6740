package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// A capacity loss at constant load: the rate curve cannot say when the trigger ended, a
// recorded trigger window can.
func TestJudgeTakesTheTriggerWindow(t *testing.T) {
	down := seg{intended: 100, offered: 100, goodput: 0, errors: 100}
	cut := []triggerWindow{{name: "db-outage", start: 10 * time.Second, end: 15 * time.Second}}
	tests := []struct {
		name         string
		s            series
		triggers     []triggerWindow
		verdict      string
		triggerEnd   int
		recovery     int
		triggerPhase string
	}{
		{"recovers 3 s after the window", build(n(calm, 10), n(down, 8), n(calm, 12)), cut, Overloaded, 15, 18, "db-outage"},
		{"without the window: counted from the collapse", build(n(calm, 10), n(down, 8), n(calm, 12)), nil, Overloaded, 10, 18, ""},
		{"stays down after the window", build(n(calm, 10), n(down, 20)), cut, Metastable, 15, -1, "db-outage"},
		// Down for 8 s past the collapse but only 3 past the window: under the 5 s grace,
		// the window keeps this from being called metastable.
		{"window ends late: no verdict of persistence yet", build(n(calm, 10), n(down, 11)), []triggerWindow{{name: "long", start: 10 * time.Second, end: 18 * time.Second}}, Overloaded, 18, -1, "long"},
		{"a window long before the collapse is not its trigger", build(n(calm, 20), n(down, 8), n(calm, 10)), []triggerWindow{{name: "early", start: 2 * time.Second, end: 4 * time.Second}}, Overloaded, 20, 28, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			s.triggers = tt.triggers
			j := judge(s, defaultParams())
			if j.verdict != tt.verdict || j.triggerEnd != tt.triggerEnd || j.recovery != tt.recovery || j.triggerPhase != tt.triggerPhase {
				t.Fatalf("verdict %s, trigger end %d, recovery %d, trigger %q; want %s, %d, %d, %q\n%s",
					j.verdict, j.triggerEnd, j.recovery, j.triggerPhase, tt.verdict, tt.triggerEnd, tt.recovery, tt.triggerPhase, strings.Join(j.evidence, "\n"))
			}
			if tt.triggerPhase != "" && !strings.Contains(strings.Join(j.evidence, " "), "the trigger was "+tt.triggerPhase) {
				t.Errorf("evidence does not name the trigger: %v", j.evidence)
			}
		})
	}
}

func TestTriggerReportsFromTheTrailer(t *testing.T) {
	prof := profiles.Profile{Triggers: []profiles.Trigger{
		{Name: "cut", At: profiles.Duration(10 * time.Second), For: profiles.Duration(5 * time.Second),
			Start: profiles.Call{URL: "/a"}, Stop: &profiles.Call{URL: "/b"}},
		{Name: "chaos", At: profiles.Duration(20 * time.Second), For: profiles.Duration(3 * time.Second), Start: profiles.Call{URL: "http://x/y"}},
	}}
	a := &Analyzer{h: results.Header{Profile: prof}}
	trailer := &results.Trailer{Triggers: []results.TriggerCall{
		{Trigger: 0, Name: "cut", Action: "start", FiredSeconds: 10.004, OK: true, Status: 200},
		{Trigger: 1, Name: "chaos", Action: "start", FiredSeconds: 20.001, Status: 500, Error: "HTTP 500"},
		{Trigger: 0, Name: "cut", Action: "stop", FiredSeconds: 15.002, OK: true, Status: 200},
	}}
	got, warnings := a.triggers(trailer)
	if len(got) != 2 || !got[0].used || got[0].StartSeconds != 10.004 || got[0].EndSeconds != 15.002 || len(got[0].Calls) != 2 {
		t.Fatalf("cut: %+v", got[0])
	}
	if got[1].used || !got[1].Failed || len(warnings) != 1 || !strings.Contains(warnings[0], "chaos: its start call failed (HTTP 500)") {
		t.Fatalf("a failed start: %+v, warnings %q", got[1], warnings)
	}
	if line := got[1].Line(); !strings.Contains(line, "FAILED: HTTP 500") {
		t.Errorf("line %q", line)
	}
	// No trailer: the schedule, said so.
	got, warnings = a.triggers(nil)
	if !got[0].Scheduled || got[0].StartSeconds != 10 || got[0].EndSeconds != 15 || len(warnings) != 2 {
		t.Errorf("without a trailer: %+v, %q", got[0], warnings)
	}
}
