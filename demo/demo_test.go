package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/target"
)

// stillFailing is the target's own verdict, independent of the analyzer: at the end of the
// run, a request joining the queue would wait longer than the client's timeout, so no client
// could be served in time.
func stillFailing(s target.Stats, timeout time.Duration) bool {
	return s.OldestWaitMS > float64(timeout.Milliseconds())
}

// TestDemo runs the demo as `make demo` does and checks that what it prints is what the
// mechanism did: the retrying run stays down after the peak and the analyzer says metastable;
// the run without retries drains its queue and the analyzer says overloaded, with a recovery
// time.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s real-time run")
	}
	t.Parallel()
	var out bytes.Buffer
	outcomes, err := Run(context.Background(), Options{Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	retrying, noRetry := outcomes[0], outcomes[1]
	for _, o := range outcomes {
		failing := stillFailing(o.Target, o.Timeout)
		if (o.Report.Verdict == "metastable") != failing {
			t.Errorf("%s: analyzer says %s, target's oldest queued request waited %.0f ms against a %s client timeout\n%s",
				o.Title, o.Report.Verdict, o.Target.OldestWaitMS, o.Timeout, out.String())
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
	for _, want := range []string{"metastable", "overloaded", "amplification", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q\n%s", want, out.String())
		}
	}
}

// scenario runs one profile against a fresh built-in target and returns the analysis and the
// target's view at the end.
func scenario(t *testing.T, tcfg target.Config, prof *profiles.Profile) (*analyze.Report, target.Stats) {
	t.Helper()
	o, err := runOne(context.Background(), tcfg, prof, t.TempDir()+"/run.st", &attack.Progress{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analyze.Files([]string{o.File}, analyze.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return rep, o.Target
}

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

	cases := []struct {
		name    string
		target  target.Config
		profile *profiles.Profile
		want    string // "" when only agreement with the target is asserted
	}{
		{"immediate retries, wasted work", TargetConfig(), storm, "metastable"},
		{"immediate retries, abandoned work cancelled", cancelling, storm, ""},
		{"steady far below capacity", TargetConfig(), steady, "stable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, stats := scenario(t, tc.target, tc.profile)
			timeout := time.Duration(tc.profile.Client.Timeout)
			if (rep.Verdict == "metastable") != stillFailing(stats, timeout) {
				t.Errorf("analyzer says %s; target's oldest queued request waited %.0f ms (client timeout %s)\nevidence: %s",
					rep.Verdict, stats.OldestWaitMS, timeout, strings.Join(rep.Evidence, " | "))
			}
			if tc.want != "" && rep.Verdict != tc.want {
				t.Errorf("verdict %s, want %s\nevidence: %s", rep.Verdict, tc.want, strings.Join(rep.Evidence, " | "))
			}
			t.Logf("%s: %s; target: %+v", tc.name, rep.Verdict, stats)
		})
	}
}
