package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/analyze"
)

// TestTray runs the second outage's demo as `make demo` does. The restart loop must come
// from the fleet's mechanism: with database health checks the fleet is still replacing
// instances and serving next to nothing well after the database is back, and the analyzer
// says metastable; with process health checks the same outage only overloads it, no instance
// is replaced after the database is back, and the analyzer says overloaded with a recovery
// time. Each verdict must agree with the fleet's own view.
func TestTray(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s real-time run")
	}
	var out bytes.Buffer
	outcomes, err := RunTray(context.Background(), Options{Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	loop, fixed := outcomes[0], outcomes[1]
	for _, o := range outcomes {
		if (o.Report.Verdict == analyze.Metastable) != o.StillFailing() {
			t.Errorf("%s: analyzer says %s, fleet as the load ended: %+v, %d replacements after the database was back\n%s",
				o.Title, o.Report.Verdict, *o.Target.Fleet, o.ReplacementsAfterBack(), out.String())
		}
		// The window ends when the stop call is sent, at 11 s and a few ms: the trigger ends
		// with the first whole window after it.
		if end := o.Report.TriggerEndSeconds; o.Report.TriggerPhase != "db-outage" || end == nil || *end < 11 || *end > 12 {
			t.Errorf("%s: trigger %q ending at %v, want the db-outage window ending at 11–12 s", o.Title, o.Report.TriggerPhase, end)
		}
	}
	if loop.Report.Verdict != analyze.Metastable || fixed.Report.Verdict != analyze.Overloaded || fixed.Report.RecoverySeconds == nil {
		t.Fatalf("demo shows %s / %s (recovery %v), want metastable / overloaded with a recovery\n%s",
			loop.Report.Verdict, fixed.Report.Verdict, fixed.Report.RecoverySeconds, out.String())
	}
	// After the database is back (plus the time a healthy fleet needs to reopen its pools).
	goodShare := func(o TrayOutcome) float64 {
		var intended, good float64
		for _, w := range o.Report.Windows {
			if w.T >= o.BackSeconds+5 && w.IntendedRPS > 0 {
				intended += w.IntendedRPS
				good += w.GoodputRPS
			}
		}
		return good / intended
	}
	if g := goodShare(loop); g > 0.10 || loop.ReplacementsAfterBack() < 4 {
		t.Errorf("database health checks: goodput %.0f%% of intended and %d replacements after the database was back; want near zero and the fleet still replacing instances",
			100*g, loop.ReplacementsAfterBack())
	}
	if g := goodShare(fixed); g < 0.95 || fixed.ReplacementsAfterBack() != 0 || !fixed.Target.Healthy {
		t.Errorf("process health checks: goodput %.0f%% of intended, %d replacements after the database was back, healthy %v; want a recovered fleet",
			100*g, fixed.ReplacementsAfterBack(), fixed.Target.Healthy)
	}
	for _, want := range []string{"metastable", "overloaded", "trigger db-outage", "fleet's own view", "report.html"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q\n%s", want, out.String())
		}
	}
}
