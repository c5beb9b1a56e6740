// Package capacity measures how much load a target takes and how much of a surge it survives:
// the knee (the highest constant rate whose goodput stays within the SLO, with clients that do
// not retry, so that retries do not shape it) and a tipping map (for each surge duration, the
// surge size above a baseline load beyond which the target no longer recovers with a given
// client retry policy: Huang et al.'s boundary between overload and metastable failure).
//
// The search logic (Search) talks to the target only through a Prober, so it can be tested
// with a fake whose boundary is known, without real time. HTTPProber is the real one: each
// probe is a short attack analysed in-process by package analyze. Every completed probe is
// kept in a State, saved after each probe, so an interrupted search resumes without repeating
// what it already measured.
package capacity

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/profiles"
)

// Probe kinds.
const (
	// KindStep is a constant-rate attack without retries: one point of the latency curve.
	KindStep = "step"
	// KindSurge is baseline, surge, baseline again, with one retry policy: one point of the
	// tipping map.
	KindSurge = "surge"
	// KindSettle checks that the target is healthy at a low load before the next probe. It is
	// never stored: it describes the target's state now, not a property of the target.
	KindSettle = "settle"
	// KindCut is baseline load throughout, with the target's capacity cut by Size (a
	// fraction) for Duration by trigger calls: one point of a capacity-drop map.
	KindCut = "cut"
)

// TriggerCapacityDrop names the capacity-loss trigger of Config.Trigger.
const TriggerCapacityDrop = "capacity-drop"

// Probe is one measurement the search asks for.
type Probe struct {
	Kind string `json:"kind"`
	// Rate is the step's constant rate, the surge's baseline, or the settle probe's rate
	// (first attempts per second).
	Rate float64 `json:"rate"`
	// Duration is the step's, the surge's or the settle probe's length.
	Duration profiles.Duration `json:"duration"`
	// Size is the surge's rate as a multiple of Rate (surges), or the share of the target's
	// capacity cut (cuts).
	Size float64 `json:"size,omitempty"`
	// Policy names the client retry policy of a surge (see Policies).
	Policy string `json:"policy,omitempty"`
	// Repeat tells repeated steps at the same rate apart: 0 for the first.
	Repeat int `json:"repeat,omitempty"`
	// Warm and Grace are the baseline before and after a surge.
	Warm  profiles.Duration `json:"warm,omitempty"`
	Grace profiles.Duration `json:"grace,omitempty"`
}

// Key identifies a probe in a State: two probes with the same key measure the same thing.
// Rates and sizes are rounded so that a float computed again on resume gives the same key.
func (p Probe) Key() string {
	k := p.Kind + " rate=" + strconv.FormatFloat(p.Rate, 'f', 2, 64) + " for=" + p.Duration.String()
	if p.Kind == KindCut {
		k += " cut=" + strconv.FormatFloat(p.Size, 'f', 3, 64) + " policy=" + p.Policy +
			" warm=" + p.Warm.String() + " grace=" + p.Grace.String()
	}
	if p.Kind == KindSurge {
		k += " size=" + strconv.FormatFloat(p.Size, 'f', 3, 64) + " policy=" + p.Policy +
			" warm=" + p.Warm.String() + " grace=" + p.Grace.String()
	}
	if p.Repeat > 0 {
		k += " repeat=" + strconv.Itoa(p.Repeat)
	}
	return k
}

// probeOverhead is what a probe costs beyond its schedule: starting the generator and waiting
// for attempts in flight (bounded by the client timeout, which Cost adds separately).
const probeOverhead = 500 * time.Millisecond

// Cost is how long the probe is expected to take, for the time budget.
func (p Probe) Cost(clientTimeout time.Duration) time.Duration {
	d := time.Duration(p.Duration)
	if p.Kind == KindSurge || p.Kind == KindCut {
		d += time.Duration(p.Warm) + time.Duration(p.Grace)
	}
	return d + probeOverhead + clientTimeout
}

func (p Probe) String() string {
	switch p.Kind {
	case KindCut:
		return fmt.Sprintf("cut %s of the capacity for %s at %s req/s (%s)", cutPct(p.Size), p.Duration, rate(p.Rate), p.Policy)
	case KindSurge:
		return fmt.Sprintf("surge %.3g× of %s req/s for %s (%s)", p.Size, rate(p.Rate), p.Duration, p.Policy)
	case KindStep:
		s := fmt.Sprintf("step %s req/s for %s", rate(p.Rate), p.Duration)
		if p.Repeat > 0 {
			s += fmt.Sprintf(" (repeat %d)", p.Repeat)
		}
		return s
	}
	return fmt.Sprintf("settle at %s req/s for %s", rate(p.Rate), p.Duration)
}

// Outcome is what a probe measured. Steps and settle probes fill the rates and latencies;
// surges fill Verdict too.
type Outcome struct {
	IntendedRPS float64 `json:"intended_rps"`
	GoodputRPS  float64 `json:"goodput_rps"`
	// ErrorRate is failed attempts ÷ attempts.
	ErrorRate float64 `json:"error_rate"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	// Verdict is analyze's verdict of a surge: stable, overloaded, metastable, down or
	// inconclusive.
	Verdict string `json:"verdict,omitempty"`
	// RecoverySeconds is how long a surge took to recover after it ended (nil: it did not).
	RecoverySeconds *float64 `json:"recovery_seconds,omitempty"`
	// Ready is set by a settle probe that asked a readiness URL instead of sending load.
	Ready *bool `json:"ready,omitempty"`
	// Detail is one line on what was seen (a surge's evidence, a readiness answer).
	Detail string `json:"detail,omitempty"`
}

// Tipped reports whether a surge left the target metastable. An overload whose recovery
// analyze could not confirm within the grace is counted as tipped too, and so is a surge
// judged down (nothing served) or inconclusive (too little evidence): the search treats the
// unproven as unsafe, and the map says which probes those were.
func (o Outcome) Tipped() bool {
	switch o.Verdict {
	case analyze.Metastable, analyze.Down, analyze.Inconclusive:
		return true
	case analyze.Overloaded:
		return o.RecoverySeconds == nil
	}
	return false
}

// Prober runs probes against a target.
type Prober interface {
	// Probe runs p and reports what it measured. An error means nothing was measured (the
	// probe was interrupted or could not run); it is not an unhealthy target.
	Probe(ctx context.Context, p Probe) (Outcome, error)
}

// rate formats a request rate compactly: 160, 37.5.
func rate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }
