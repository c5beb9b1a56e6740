package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/attack"
)

// seeds are the seeds each scenario runs with: STORMTEST_SEEDS (e.g. "1,2,3" for the full
// suite, `make test-scenarios`), 1 by default (`make test`).
func seeds(t *testing.T) []uint64 {
	env := os.Getenv("STORMTEST_SEEDS")
	if env == "" {
		return []uint64{1}
	}
	var out []uint64
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("STORMTEST_SEEDS=%q: %v", env, err)
		}
		out = append(out, n)
	}
	return out
}

// TestSuite runs every labelled scenario against a fresh built-in target. Each must get its
// verdict, the verdict must agree with the target's own view as the load ended, and a healthy
// scenario must never raise an alarm, whatever the seed. Runs go two at a time: more would
// make the 2-core machine the bottleneck (the analysis would say so).
func TestSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs of about 30 s each")
	}
	for _, sc := range Suite() {
		for _, seed := range seeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", sc.Name, seed), func(t *testing.T) {
				t.Parallel()
				p, tc, err := sc.Parse(seed)
				if err != nil {
					t.Fatal(err)
				}
				o, err := Run(context.Background(), tc, p, filepath.Join(t.TempDir(), "run.st"), new(attack.Progress))
				if err != nil {
					t.Fatal(err)
				}
				rep := o.Report
				detail := fmt.Sprintf("\nevidence: %s\nwarnings: %s\ntarget as the load ended: %+v",
					strings.Join(rep.Evidence, " | "), strings.Join(rep.Warnings, " | "), o.Target)
				if sc.Want != "" && rep.Verdict != sc.Want {
					t.Errorf("verdict %s, want %s (%s)%s", rep.Verdict, sc.Want, sc.Why, detail)
				}
				if (rep.Verdict == "metastable") != o.TargetStillFailing() {
					t.Errorf("analyzer says %s but the target %s failing as the load ended%s", rep.Verdict,
						map[bool]string{true: "was still", false: "was no longer"}[o.TargetStillFailing()], detail)
				}
				if sc.Healthy && rep.Verdict != "stable" {
					t.Errorf("false alarm on a healthy scenario: %s%s", rep.Verdict, detail)
				}
				t.Logf("%s seed %d: %s", sc.Name, seed, rep.Verdict)
			})
		}
	}
}
