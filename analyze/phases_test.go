package analyze

import (
	"math"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

// TestPhaseRatesCoverOnlyWhatRan: a run stopped early (Ctrl-C, or killed without a trailer)
// must divide each phase's counts by the part of it that ran, not by its planned length:
// 50/s stopped 2 s into a 10 s phase is 50/s, not 10/s; a phase never reached has no rate.
func TestPhaseRatesCoverOnlyWhatRan(t *testing.T) {
	cases := []struct {
		name     string
		secs     [3]int // seconds of traffic in each phase (10 s each planned)
		trailer  *results.Trailer
		wantEnds [3]float64
		wantRPS  [3]float64
	}{
		{"complete", [3]int{10, 10, 10}, &results.Trailer{End: t0.Add(30 * time.Second)}, [3]float64{10, 20, 30}, [3]float64{50, 50, 50}},
		{"interrupted in the second phase", [3]int{10, 2, 0}, &results.Trailer{End: t0.Add(12 * time.Second), Interrupted: true}, [3]float64{10, 12, 12}, [3]float64{50, 50, 0}},
		{"interrupted in the first phase", [3]int{5, 0, 0}, &results.Trailer{End: t0.Add(5 * time.Second), Interrupted: true}, [3]float64{5, 5, 5}, [3]float64{50, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := New(testHeader(testfix.Phase("warm", 10, 50), testfix.Phase("peak", 10, 50), testfix.Phase("cool", 10, 50)), DefaultOptions())
			var st []stretch
			for i, s := range tc.secs {
				if s > 0 {
					st = append(st, stretch{secs: s, rps: 50, phase: uint8(i), okShare: 1})
				}
			}
			recs := synth(st...)
			for i := range recs {
				a.Add(&recs[i])
			}
			tr := *tc.trailer
			tr.Attempts = uint64(len(recs))
			r := a.Finish(&tr, nil)
			for i, ps := range r.Phases {
				if math.Abs(ps.EndSeconds-tc.wantEnds[i]) > 0.01 {
					t.Errorf("phase %s ends at %.2f s, want %.2f", ps.Name, ps.EndSeconds, tc.wantEnds[i])
				}
				if math.IsNaN(ps.IntendedRPS) || math.Abs(ps.IntendedRPS-tc.wantRPS[i]) > 0.5 {
					t.Errorf("phase %s intended %.2f/s, want %.0f/s", ps.Name, ps.IntendedRPS, tc.wantRPS[i])
				}
				if tc.wantRPS[i] > 0 && math.Abs(ps.GoodputRPS-ps.IntendedRPS) > 0.5 {
					t.Errorf("phase %s goodput %.2f/s, want its intended %.2f/s", ps.Name, ps.GoodputRPS, ps.IntendedRPS)
				}
			}
		})
	}
}
