package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs the demo as `make demo` does and checks that what it prints is what the
// mechanism did: the retrying run stays down after the peak and the analyzer says metastable;
// the run without retries drains its queue and the analyzer says overloaded, with a recovery
// time.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s real-time run")
	}
	var out bytes.Buffer
	dir := t.TempDir()
	outcomes, err := Run(context.Background(), Options{Dir: dir}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	retrying, noRetry := outcomes[0], outcomes[1]
	for _, o := range outcomes {
		if (o.Report.Verdict == "metastable") != o.TargetStillFailing() {
			t.Errorf("%s: analyzer says %s, target as the load ended: %+v (SLO %s)\n%s",
				o.Title, o.Report.Verdict, o.Target, o.SLO, out.String())
		}
	}
	if retrying.Report.Verdict != "metastable" || noRetry.Report.Verdict != "overloaded" {
		t.Fatalf("demo shows %s / %s, want metastable / overloaded\n%s", retrying.Report.Verdict, noRetry.Report.Verdict, out.String())
	}
	if noRetry.Report.RecoverySeconds == nil {
		t.Errorf("the run without retries has no recovery time")
	}
	if retrying.Target.Abandoned == 0 {
		t.Errorf("the retrying run did no wasted work: the sustaining effect the demo claims is absent")
	}
	if html, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !strings.Contains(string(html), "<svg") {
		t.Errorf("demo did not write its HTML report: %v", err)
	} else if !strings.Contains(string(html), "Target: simservice_queue_depth") || !strings.Contains(string(html), "Target: simservice_pool_in_use") {
		t.Errorf("the demo's report does not chart the target's side")
	}
	// Both sides: the analyzer quotes the target's own metrics where they line up with the
	// collapse: the database pool pinned at its 8 connections, and the queue climbing.
	quote := ""
	for _, e := range retrying.Report.Evidence {
		if strings.HasPrefix(e, "the target's own metrics") {
			quote = e
		}
	}
	for _, want := range []string{"`simservice_pool_in_use` was at its maximum (8) from t=", "`simservice_queue_depth` rose from "} {
		if !strings.Contains(quote, want) {
			t.Errorf("the retrying run's evidence does not say %q; it quotes the target as %q", want, quote)
		}
	}
	// The demo is about the target: the generator in the same process must keep up with the
	// retry storm, or the verdicts say as much about it as about the target. Its lag p99 was
	// 0.5–1.5 s in both runs when the pacers' nanosleeps held the machine's two processors
	// (attack/clock.go), and 6–15 ms since; the analysis warns from 50 ms.
	for _, o := range outcomes {
		if lag := o.Report.Latency.Lag.P99; lag > 50 {
			t.Errorf("%s: generator lag p99 %.1f ms: the generator, not the target, was the bottleneck", o.Title, lag)
		}
	}
	// A scrape may time out (1 s) while the in-process target is collapsing under 20 000
	// connections on the same two cores: the analysis reports those instants as gaps, as a
	// real Prometheus would miss them. Nearly all of the series must be there.
	for _, o := range outcomes {
		if n := len(o.Report.TargetScrapes); n != 1 || o.Report.TargetScrapes[0].Scrapes < 30 || o.Report.TargetScrapes[0].Gaps > 2 {
			t.Errorf("%s: scrapes of the target: %+v", o.Title, o.Report.TargetScrapes)
		}
	}
	for _, want := range []string{"metastable", "overloaded", "amplification", "p99", "report.html"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q\n%s", want, out.String())
		}
	}
}
