package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/target"
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
	}
	for _, want := range []string{"metastable", "overloaded", "amplification", "p99", "report.html"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q\n%s", want, out.String())
		}
	}
}

// scenario runs one profile against a fresh built-in target and returns the analysis and the
// target's view at the end.
func scenario(t *testing.T, tcfg target.Config, prof *profiles.Profile) (*analyze.Report, Outcome) {
	t.Helper()
	o, err := runOne(context.Background(), tcfg, prof, t.TempDir()+"/run.st", &attack.Progress{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analyze.Files([]string{o.File}, analyze.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return rep, o
}

// The end-to-end runs go one after another, never in parallel: on a 2-core machine, several
// generators and targets at once saturate the CPU, and then the run measures the generator (the
// analysis warns of exactly that), not the mechanism under test.

// TestScenariosAgreeWithTheTarget drives the same surge with other client behaviours and
// target knobs, and checks the verdict against the target's own state at the end rather than
// against a hoped-for outcome: whether a knob lets the system recover is the mechanism's
// business; the analyzer must agree with it.
func TestScenariosAgreeWithTheTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	storm, ok := profiles.Builtin("retry-storm")
	if !ok {
		t.Fatal("retry-storm profile missing")
	}
	steady, ok := profiles.Builtin("steady")
	if !ok {
		t.Fatal("steady profile missing")
	}
	cancelling := TargetConfig()
	cancelling.CancelAbandoned = true
	// With cancelled work the system may or may not find its way back after the peak, and
	// when it does it takes a while: a longer tail lets the mechanism settle before the
	// verdict is compared with the target.
	longStorm := *storm
	longStorm.Phases = append([]profiles.Phase(nil), storm.Phases...)
	longStorm.Phases[len(longStorm.Phases)-1].Duration = profiles.Duration(30 * time.Second)

	cases := []struct {
		name    string
		target  target.Config
		profile *profiles.Profile
		want    string // "" when only agreement with the target is asserted
	}{
		{"immediate retries, wasted work", TargetConfig(), storm, "metastable"},
		{"immediate retries, abandoned work cancelled", cancelling, &longStorm, ""},
		{"steady far below capacity", TargetConfig(), steady, "stable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, o := scenario(t, tc.target, tc.profile)
			if (rep.Verdict == "metastable") != o.TargetStillFailing() {
				t.Errorf("analyzer says %s; target as the load ended: %+v (SLO %s)\nevidence: %s",
					rep.Verdict, o.Target, o.SLO, strings.Join(rep.Evidence, " | "))
			}
			if tc.want != "" && rep.Verdict != tc.want {
				t.Errorf("verdict %s, want %s\nevidence: %s", rep.Verdict, tc.want, strings.Join(rep.Evidence, " | "))
			}
			t.Logf("%s: %s; target: %+v", tc.name, rep.Verdict, o.Target)
		})
	}
}
