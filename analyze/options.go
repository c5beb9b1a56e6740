package analyze

import (
	"fmt"
	"math"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// Options tune the analysis. Zero fields take the defaults of DefaultOptions.
type Options struct {
	// Window is the width of one time bucket of the per-window series.
	Window time.Duration
	// Tolerance is the fraction by which goodput may miss the intended load and still be
	// judged healthy.
	Tolerance float64
	// MinCount is how many intended requests a health judgement needs; the judging window
	// is widened (up to maxWiden windows) until it has them.
	MinCount int
	// Sustain is how many consecutive judgements it takes to call onset or recovery.
	Sustain int
	// Grace is how long after the trigger ended the run must stay failed to be called
	// metastable. Zero means max(10s, 5 × the client timeout): a plain overload takes a
	// while to drain the queue it built (the demo's run without retries needs ~7 s), and
	// calling that metastable would be a false alarm.
	Grace time.Duration
	// Capacity is the target's capacity in requests/s, when known (from a capacity run):
	// it makes the vulnerable note of a stable run exact. 0: estimate it from the run.
	Capacity float64
	// Band is how close two first-attempt rates must be (a fraction) to count as the same
	// load when the hysteresis check compares before and after a surge.
	Band float64
	// LagWarn: a generator lag p99 above this warns that the generator, not the target,
	// may have been the bottleneck. 0 means max(5ms, 10 % of the SLO): on 2 cores the
	// generator's lag p99 is 1–2 ms while it keeps up and climbs past 40 ms before any fixed
	// 50 ms line would notice (docs/performance.md), and what matters is how much of the SLO
	// the lag eats.
	LagWarn time.Duration
}

// maxWiden bounds how many windows one health judgement may span: wider than this and a
// judgement would average over too much history to locate onset or recovery.
const maxWiden = 10

// DefaultOptions are the options stormtest uses unless told otherwise.
func DefaultOptions() Options {
	return Options{
		Window:    time.Second,
		Tolerance: 0.10,
		MinCount:  30,
		Sustain:   3,
		Band:      0.2,
	}
}

// withDefaults fills zero fields with defaults. Other values out of range are left for
// Validate to refuse (Files does), not silently replaced; New still replaces them, as it
// cannot return an error.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Window == 0 {
		o.Window = d.Window
	}
	if o.Tolerance == 0 {
		o.Tolerance = d.Tolerance
	}
	if o.MinCount == 0 {
		o.MinCount = d.MinCount
	}
	if o.Sustain == 0 {
		o.Sustain = d.Sustain
	}
	if o.Band == 0 {
		o.Band = d.Band
	}
	return o
}

// safe is withDefaults with every out-of-range field replaced by its default too, for New,
// which cannot refuse them: Files has validated them already.
func (o Options) safe() Options {
	o = o.withDefaults()
	d := DefaultOptions()
	if o.Window < MinWindow || o.Window > MaxWindow {
		o.Window = d.Window
	}
	if !(o.Tolerance > 0 && o.Tolerance < 1) {
		o.Tolerance = d.Tolerance
	}
	if o.MinCount < 1 || o.MinCount > MaxMinCount {
		o.MinCount = d.MinCount
	}
	if o.Sustain < 1 || o.Sustain > MaxSustain {
		o.Sustain = d.Sustain
	}
	if !(o.Band > 0 && o.Band < 1) {
		o.Band = d.Band
	}
	return o
}

// lagWarn resolves the automatic lag warning threshold for an SLO.
func (o Options) lagWarn(slo time.Duration) time.Duration {
	if o.LagWarn > 0 {
		return o.LagWarn
	}
	return max(5*time.Millisecond, slo/10)
}

// GraceFor resolves the grace period for a run of profile p: Grace when set, else the
// automatic one, max(10s, 5 × p's longest client timeout), long enough for retries of the
// slowest clients to keep a failure going. The capacity search calls it too, so that a
// surge's after-phase lasts as long as the analysis that judges it requires.
func (o Options) GraceFor(p *profiles.Profile) time.Duration {
	if o.Grace > 0 {
		return o.Grace
	}
	return max(10*time.Second, 5*p.LongestTimeout())
}

// Bounds on the options, checked by Validate. The analysis keeps counters for every window
// of the run and a latency histogram (~180 KB) for every window still open (lateSlack
// long), so the window's width is what its memory grows with: --window 1ns ran out of
// memory. A profile's run is at most profiles.MaxDuration (24h), so MinWindow keeps the run
// to 864 000 windows and the open ones to about a hundred histograms.
const (
	MinWindow   = 100 * time.Millisecond
	MaxWindow   = time.Hour
	MaxSustain  = 100
	MaxMinCount = 1_000_000
)

// boundsNote ends every bound error, so that the message says where the bounds are listed.
const boundsNote = `, see "Bounds" in README.md`

// Validate reports the first option out of its bounds, as one line naming the flag that sets
// it and the bound. Zero means the default for Window, Tolerance, MinCount, Sustain and Band
// when Options are built in code (Files fills them in first), but not at the command line,
// where a flag given as 0 is refused rather than silently replaced.
func (o Options) Validate() error {
	between := func(x, lo, hi float64) bool { return x > lo && x < hi } // false for NaN
	switch {
	case o.Window < MinWindow:
		return fmt.Errorf("--window %s is too narrow (expected at least %s: MinWindow%s)", o.Window, MinWindow, boundsNote)
	case o.Window > MaxWindow:
		return fmt.Errorf("--window %s is too wide (expected at most %s: MaxWindow%s)", o.Window, MaxWindow, boundsNote)
	case !between(o.Tolerance, 0, 1):
		return fmt.Errorf("--tolerance %v is not in (0, 1) (expected the fraction of intended load goodput may miss, such as 0.1)", o.Tolerance)
	case !between(o.Band, 0, 1):
		return fmt.Errorf("--band %v is not in (0, 1) (expected how close two rates must be, as a fraction, such as 0.2)", o.Band)
	case o.MinCount < 1 || o.MinCount > MaxMinCount:
		return fmt.Errorf("--min-count %d is out of range (expected 1 to %d requests per judgement: MaxMinCount%s)", o.MinCount, MaxMinCount, boundsNote)
	case o.Sustain < 1 || o.Sustain > MaxSustain:
		return fmt.Errorf("--sustain %d is out of range (expected 1 to %d consecutive judgements: MaxSustain%s)", o.Sustain, MaxSustain, boundsNote)
	case o.Grace < 0 || o.Grace > time.Duration(profiles.MaxDuration):
		return fmt.Errorf("--grace %s is out of range (expected 0 (automatic) to %s: profiles.MaxDuration%s)", o.Grace, profiles.MaxDuration, boundsNote)
	case o.LagWarn < 0 || o.LagWarn > time.Duration(profiles.MaxDuration):
		return fmt.Errorf("lag warning %s is out of range (expected 0 (automatic) to %s: profiles.MaxDuration%s)", o.LagWarn, profiles.MaxDuration, boundsNote)
	case !(o.Capacity >= 0 && o.Capacity <= profiles.MaxRate) || math.IsNaN(o.Capacity):
		return fmt.Errorf("--capacity %v is out of range (expected 0 (estimate) to %d requests/s: profiles.MaxRate%s)", o.Capacity, profiles.MaxRate, boundsNote)
	}
	return nil
}
