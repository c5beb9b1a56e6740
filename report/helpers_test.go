package report

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

var t0 = time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)

// synthHeader is a 60 s Monday-morning-like profile: a baseline, a surge, and the baseline
// again, with 1 s timeouts, up to 3 attempts and a 500 ms SLO.
func synthHeader() results.Header {
	return testfix.Header(t0, "synthetic-monday",
		testfix.Phase("baseline", 20, 100), testfix.Phase("surge", 10, 300), testfix.Phase("after", 30, 100))
}

// synthRecords simulates a run of synthHeader against a target that fails during the surge
// and, when metastable, keeps failing afterwards (held down by the retries); otherwise it
// recovers a few seconds after the surge. Successes take a few ms with a heavy tail, failures
// time out after 1 s or are refused, and are retried at once. Sorted by end, as a writer
// would produce them.
func synthRecords(metastable bool) (results.Header, []results.Record) {
	h := synthHeader()
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []results.Record
	var id uint64
	sec := 0
	for pi, ph := range h.Profile.Phases {
		secs := int(time.Duration(ph.Duration) / time.Second)
		for s := range secs {
			okShare := 1.0
			switch {
			case pi == 1:
				okShare = 0.15
			case pi == 2 && metastable:
				okShare = 0.1
			case pi == 2 && s < 5:
				okShare = 0.3 + 0.14*float64(s)
			}
			n := int(*ph.Rate)
			for k := range n {
				id++
				first := t0.UnixNano() + int64(sec+s)*int64(time.Second) + int64(k)*int64(time.Second)/int64(n)
				intended := first
				for try := 1; try <= 3; try++ {
					r := results.Record{RequestID: id, Attempt: uint8(try), Phase: uint8(pi), Group: uint8(k % 2),
						Intended: intended, SendLag: time.Duration(50+rng.IntN(200)) * time.Microsecond,
						RequestAge: time.Duration(intended - first)}
					if rng.Float64() < okShare {
						tail := math.Pow(rng.Float64(), 12) * 300
						r.Kind, r.Code = results.KindOK, 200
						r.ServiceTime = time.Duration((3 + 4*rng.Float64() + tail) * float64(time.Millisecond))
						recs = append(recs, r)
						break
					}
					if rng.IntN(10) == 0 {
						r.Kind, r.Code, r.ServiceTime, r.Error = results.Kind5xx, 503, 2*time.Millisecond, ""
					} else {
						r.Kind, r.ServiceTime, r.Error = results.KindTimeout, time.Second, "timeout"
					}
					recs = append(recs, r)
					intended = r.End()
				}
			}
		}
		sec += secs
	}
	testfix.SortByEnd(recs)
	return h, recs
}

// synthReport analyses synthRecords as analyze.Files would.
func synthReport(t testing.TB, metastable bool) *analyze.Report {
	t.Helper()
	h, recs := synthRecords(metastable)
	a := analyze.New(h, analyze.DefaultOptions())
	for i := range recs {
		a.Add(&recs[i])
	}
	end := t0.Add(62 * time.Second)
	return a.Finish(&results.Trailer{End: end, Attempts: uint64(len(recs))}, nil)
}

// hourReport is an hour of one-second windows with noisy series, built directly (analysing an
// hour of records would dominate the benchmark): the size and speed of the biggest page a
// normal run makes.
func hourReport(verdict string) *analyze.Report {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 3600
	onset, trig := 1800.0, 2400.0
	rep := &analyze.Report{
		Verdict: verdict, Evidence: []string{"goodput fell to 8 % of intended at 1800 s", "offered stayed 3.1× intended after the trigger"},
		Warnings: []string{}, Profile: "hour", Target: "http://example.invalid", Start: t0, DurationSeconds: n,
		OnsetSeconds: &onset, TriggerEndSeconds: &trig,
		Phases: []analyze.PhaseStats{
			{Name: "baseline", StartSeconds: 0, EndSeconds: 1700},
			{Name: "surge", StartSeconds: 1700, EndSeconds: 2400},
			{Name: "after", StartSeconds: 2400, EndSeconds: n},
		},
		Groups: []analyze.GroupStats{{Name: "web", Requests: 500000, Attempts: 1200000, Amplification: 2.4}},
	}
	for i := range rep.Phases {
		for p := 0.0; p < 99.9999; p = 100 - (100-p)*0.87 {
			rep.Phases[i].Distribution = append(rep.Phases[i].Distribution,
				analyze.PercentilePoint{Percentile: p, ValueMS: 5 * (1 + float64(i)) / math.Sqrt(1-p/100+1e-6)})
		}
		rep.Phases[i].Distribution = append(rep.Phases[i].Distribution, analyze.PercentilePoint{Percentile: 100, ValueMS: 5000})
	}
	for i := range n {
		t := float64(i)
		intended := 100 + 5*rng.NormFloat64()
		if t >= 1700 && t < 2400 {
			intended *= 3
		}
		good, offered := intended, intended*(1+0.02*rng.Float64())
		if t >= onset {
			good, offered = intended*0.08*rng.Float64(), intended*3*(1+0.1*rng.NormFloat64())
		}
		w := analyze.Window{
			T: t, IntendedRPS: intended, OfferedRPS: offered, GoodputRPS: good, ErrorRPS: offered - good,
			P50: 5 + rng.Float64(), P99: 40 * (1 + rng.Float64()), P999: 200 * (1 + rng.Float64()), Max: 1000 * (1 + rng.Float64()),
			Errors: map[string]uint64{"timeout": uint64(offered - good), "5xx": uint64(rng.IntN(10))},
		}
		rep.Windows = append(rep.Windows, w)
	}
	return rep
}
