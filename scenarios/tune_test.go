package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/attack"
)

// TestTune prints every scenario's outcome for one seed; set STORMTEST_TUNE to a scenario
// name (or "all") to run it. It asserts nothing: it is for sizing the scenarios.
func TestTune(t *testing.T) {
	which := os.Getenv("STORMTEST_TUNE")
	if which == "" {
		t.Skip("set STORMTEST_TUNE to a scenario name or all")
	}
	for _, sc := range Suite() {
		if which != "all" && !strings.Contains(which, sc.Name) {
			continue
		}
		p, tc, err := sc.Parse(1)
		if err != nil {
			t.Fatal(err)
		}
		o, err := Run(context.Background(), tc, p, filepath.Join(t.TempDir(), sc.Name+".st"), new(attack.Progress))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("== %s: %s (want %s); target failing %v: %+v\n", sc.Name, o.Report.Verdict, sc.Want, o.TargetStillFailing(), o.Target)
		for _, e := range o.Report.Evidence {
			fmt.Println("   -", e)
		}
		for _, w := range o.Report.Warnings {
			fmt.Println("   !", w)
		}
		for _, w := range o.Report.Windows {
			fmt.Printf("   t=%2.0f int=%4.0f off=%5.0f good=%4.0f err=%4.0f\n", w.T, w.IntendedRPS, w.OfferedRPS, w.GoodputRPS, w.ErrorRPS)
		}
	}
}
