// Package compare sets two runs of the same profile side by side (before and after a
// maintenance change) and says whether the service lost capacity: per-phase deltas of
// goodput, latency and error rate, and the measured capacity of each run.
package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/internal/numfmt"
)

// DefaultFailOnRegression is the capacity loss, in percent, that counts as a regression by
// default. Two runs of one profile on the same staging setup differ by a few percent from
// noise (scheduling, jitter, warm caches); 10 % stays clear of that and still flags a pool
// cut by a fifth, let alone halved.
const DefaultFailOnRegression = 10.0

// SpanWindows is how many consecutive windows a capacity measurement averages: enough that
// one lucky second does not count as capacity, short enough to catch a brief plateau.
const SpanWindows = 3

// Run is one side of a comparison.
type Run struct {
	// Label names the run in messages (its results file).
	Label string
	// Report is the run's analysis; its SLO (the profile's latency bound, 0 when the profile
	// has none) is what capacity is measured under.
	Report *analyze.Report
}

// Options tune Compare.
type Options struct {
	// FailOnRegression is the largest capacity loss, in percent of before's, that is not a
	// regression.
	FailOnRegression float64
}

// Capacity is a run's measured capacity: the highest goodput sustained within the SLO. It
// is the maximum, over every span of SpanWindows consecutive windows whose p99 latency is
// each within the SLO, of the span's mean goodput rps. Without an SLO every span counts.
type Capacity struct {
	RPS float64 `json:"rps"`
	// AtSeconds is the start of the best span; null when no span qualified.
	AtSeconds *float64 `json:"at_s"`
	// Spans counts the spans that qualified; 0 means capacity could not be measured (every
	// span broke the SLO, or the run had fewer than SpanWindows windows) and RPS is 0.
	Spans int `json:"spans"`
}

// MeasureCapacity computes the Capacity of a window series under an SLO (0: none).
func MeasureCapacity(windows []analyze.Window, slo time.Duration) Capacity {
	var c Capacity
	limit := math.Inf(1)
	if slo > 0 {
		limit = float64(slo) / float64(time.Millisecond)
	}
	for i := 0; i+SpanWindows <= len(windows); i++ {
		span := windows[i : i+SpanWindows]
		if slices.ContainsFunc(span, func(w analyze.Window) bool { return w.P99 > limit }) {
			continue
		}
		var sum float64
		for _, w := range span {
			sum += w.GoodputRPS
		}
		mean := sum / SpanWindows
		c.Spans++
		if c.AtSeconds == nil || mean > c.RPS {
			at := span[0].T
			c.RPS, c.AtSeconds = mean, &at
		}
	}
	return c
}

// Side is one run's summary in a Comparison.
type Side struct {
	Label    string   `json:"label"`
	Verdict  string   `json:"verdict"`
	Capacity Capacity `json:"capacity"`
}

// Row is one metric of one phase (or of the whole run, phase "(run)") before and after.
type Row struct {
	Phase  string  `json:"phase"`
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"` // "ms", "rps" or "ratio"
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// DeltaPct is (after − before) / before × 100; null when before is 0 and after is not.
	DeltaPct *float64 `json:"delta_pct"`
}

// RunPhase is the Row.Phase of whole-run figures.
const RunPhase = "(run)"

// Comparison is the result of Compare: stormtest compare's JSON format.
type Comparison struct {
	Profile string  `json:"profile"`
	SLOMs   float64 `json:"slo_ms"` // 0: the profile has no SLO
	// FailOnRegression is the threshold applied, in percent.
	FailOnRegression float64 `json:"fail_on_regression_pct"`
	// Regression is true when after's capacity is below before's by more than
	// FailOnRegression percent, whatever the verdicts.
	Regression bool `json:"regression"`
	// Summary is the regression verdict as one sentence, with a note for a side judged down
	// or inconclusive.
	Summary string `json:"summary"`
	// CapacityDeltaPct is the change of measured capacity; null when before's is 0.
	CapacityDeltaPct *float64 `json:"capacity_delta_pct"`
	Before           Side     `json:"before"`
	After            Side     `json:"after"`
	Rows             []Row    `json:"rows"`
}

// ErrDifferentProfiles is wrapped by Compare's error for runs that cannot be compared.
var ErrDifferentProfiles = errors.New("not runs of the same profile")

// Compare sets after against before. It refuses runs of different profiles (by name, phase
// names or SLO): their figures would not measure the same thing.
func Compare(before, after Run, opt Options) (*Comparison, error) {
	if before.Report == nil || after.Report == nil {
		return nil, errors.New("compare: missing report")
	}
	if !(opt.FailOnRegression >= 0) || math.IsInf(opt.FailOnRegression, 0) {
		return nil, fmt.Errorf("compare: fail-on-regression %g%% is not a percentage of at least 0", opt.FailOnRegression)
	}
	b, a := before.Report, after.Report
	if b.Profile != a.Profile {
		return nil, fmt.Errorf("compare: %s ran profile %q but %s ran %q: %w",
			before.Label, b.Profile, after.Label, a.Profile, ErrDifferentProfiles)
	}
	if bn, an := phaseNames(b), phaseNames(a); !slices.Equal(bn, an) {
		return nil, fmt.Errorf("compare: %s has phases %v but %s has %v: %w",
			before.Label, bn, after.Label, an, ErrDifferentProfiles)
	}
	if b.SLO != a.SLO {
		return nil, fmt.Errorf("compare: %s has SLO %s but %s has %s, so capacity would be measured differently: %w",
			before.Label, b.SLO, after.Label, a.SLO, ErrDifferentProfiles)
	}
	c := &Comparison{
		Profile:          b.Profile,
		SLOMs:            float64(b.SLO) / float64(time.Millisecond),
		FailOnRegression: opt.FailOnRegression,
		Before:           Side{Label: before.Label, Verdict: b.Verdict, Capacity: MeasureCapacity(b.Windows, b.SLO)},
		After:            Side{Label: after.Label, Verdict: a.Verdict, Capacity: MeasureCapacity(a.Windows, a.SLO)},
	}
	bc, ac := c.Before.Capacity.RPS, c.After.Capacity.RPS
	c.CapacityDeltaPct = delta(bc, ac)
	loss := 0.0
	if bc > 0 {
		loss = (bc - ac) / bc * 100
	}
	// A loss equal to the allowance, up to floating-point rounding, is within it.
	c.Regression = loss > opt.FailOnRegression+1e-9
	switch {
	case c.Regression:
		c.Summary = fmt.Sprintf("REGRESSION: measured capacity fell %s%% (%s → %s req/s), more than the %s%% allowed",
			numfmt.Trim(loss, 1), numfmt.Trim(bc, 1), numfmt.Trim(ac, 1), numfmt.Trim(opt.FailOnRegression, 1))
	case c.Before.Capacity.Spans == 0:
		c.Summary = fmt.Sprintf("no regression measurable: %s had no %d-window span within the SLO, so it has no capacity to lose",
			before.Label, SpanWindows)
	default:
		c.Summary = fmt.Sprintf("no capacity regression: measured capacity %s → %s req/s (%s%%), within the %s%% allowed",
			numfmt.Trim(bc, 1), numfmt.Trim(ac, 1), signed(*c.CapacityDeltaPct), numfmt.Trim(opt.FailOnRegression, 1))
	}
	// A side judged down or inconclusive cannot show the service coping, whatever its
	// capacity figure: say so, so that "no capacity regression" is not read as all clear.
	for _, side := range []struct {
		label string
		rep   *analyze.Report
	}{{before.Label, b}, {after.Label, a}} {
		if v := side.rep.Verdict; v == analyze.Down || v == analyze.Inconclusive {
			c.Summary += fmt.Sprintf("; note: %s was judged %s", side.label, v)
			if len(side.rep.Evidence) > 0 {
				c.Summary += " (" + side.rep.Evidence[0] + ")"
			}
		}
	}
	c.Rows = rows(b, a)
	return c, nil
}

func phaseNames(r *analyze.Report) []string {
	out := make([]string, len(r.Phases))
	for i, p := range r.Phases {
		out[i] = p.Name
	}
	return out
}

// rows lists the whole run first, then each phase: goodput, p50, p99, p999, error rate.
func rows(b, a *analyze.Report) []Row {
	var out []Row
	add := func(phase, metric, unit string, bv, av float64) {
		out = append(out, Row{Phase: phase, Metric: metric, Unit: unit, Before: bv, After: av, DeltaPct: delta(bv, av)})
	}
	add(RunPhase, "goodput_rps", "rps", runGoodputRPS(b), runGoodputRPS(a))
	add(RunPhase, "p50", "ms", b.Latency.P50, a.Latency.P50)
	add(RunPhase, "p99", "ms", b.Latency.P99, a.Latency.P99)
	add(RunPhase, "p999", "ms", b.Latency.P999, a.Latency.P999)
	add(RunPhase, "error_rate", "ratio", runErrorRate(b), runErrorRate(a))
	for i := range b.Phases {
		pb, pa := &b.Phases[i], &a.Phases[i]
		add(pb.Name, "goodput_rps", "rps", pb.GoodputRPS, pa.GoodputRPS)
		add(pb.Name, "p50", "ms", pb.P50, pa.P50)
		add(pb.Name, "p99", "ms", pb.P99, pa.P99)
		add(pb.Name, "p999", "ms", pb.P999, pa.P999)
		add(pb.Name, "error_rate", "ratio", safeDiv(pb.ErrorRPS, pb.OfferedRPS), safeDiv(pa.ErrorRPS, pa.OfferedRPS))
	}
	return out
}

// runGoodputRPS is goodput per second of the profile's schedule, as phase rates are.
func runGoodputRPS(r *analyze.Report) float64 {
	secs := r.DurationSeconds
	if n := len(r.Phases); n > 0 {
		secs = r.Phases[n-1].EndSeconds - r.Phases[0].StartSeconds
	}
	return safeDiv(float64(r.Goodput), secs)
}

func runErrorRate(r *analyze.Report) float64 {
	var failed uint64
	for _, n := range r.Errors {
		failed += n
	}
	return safeDiv(float64(failed), float64(r.Attempts))
}

// safeDiv is 0 for nothing over nothing: a phase without attempts had no errors.
func safeDiv(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func delta(before, after float64) *float64 {
	var d float64
	switch {
	case before != 0:
		d = (after - before) / math.Abs(before) * 100
	case after == 0:
		d = 0
	default:
		return nil
	}
	return &d
}
