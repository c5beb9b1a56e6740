package analyze

import "time"

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

// withDefaults fills zero (or nonsensical) fields with defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Window <= 0 {
		o.Window = d.Window
	}
	if o.Tolerance <= 0 || o.Tolerance >= 1 {
		o.Tolerance = d.Tolerance
	}
	if o.MinCount <= 0 {
		o.MinCount = d.MinCount
	}
	if o.Sustain <= 0 {
		o.Sustain = d.Sustain
	}
	if o.Band <= 0 || o.Band >= 1 {
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

// grace resolves the automatic grace period for a client timeout.
func (o Options) grace(clientTimeout time.Duration) time.Duration {
	if o.Grace > 0 {
		return o.Grace
	}
	return max(10*time.Second, 5*clientTimeout)
}
