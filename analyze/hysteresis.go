package analyze

import (
	"fmt"
	"math"
	"slices"
)

// Hysteresis compares how the target served the same first-attempt rate before a surge and
// after it: a target that recovers serves it as well after as before; a metastable one does not.
// It needs no phase labels, so it works on pasted curves and merged runs alike.
type Hysteresis struct {
	// LevelRPS is the first-attempt rate after the trigger, compared with windows before the
	// collapse whose rate was within the band of it.
	LevelRPS float64 `json:"level_rps"`
	// GoodputBefore and GoodputAfter are goodput ÷ intended at that rate before the collapse
	// and from the trigger's end on (until recovery, or to the end of the run).
	GoodputBefore float64 `json:"goodput_before"`
	GoodputAfter  float64 `json:"goodput_after"`
}

// hysteresis measures goodput at the post-trigger rate before the collapse and after the
// trigger, over windows [end, stop). ok is false when either side has too few requests, or no
// window before the collapse ran at a comparable rate.
func (js judgedSeries) hysteresis(onset, end, stop int) (Hysteresis, bool) {
	after := js.sums(end, stop)
	if after.intended < float64(js.p.minCount) || after.windows == 0 {
		return Hysteresis{}, false
	}
	level := after.intended / js.s.dur(after.windows).Seconds()
	var intended, goodput float64
	for i := js.s.skip; i < onset; i++ {
		if js.state[i] == unjudged || math.Abs(js.rate[i]-level) > js.p.band*level {
			continue
		}
		intended += js.s.intended[i]
		goodput += js.s.goodput[i]
	}
	if intended < float64(js.p.minCount) {
		return Hysteresis{}, false
	}
	return Hysteresis{LevelRPS: level, GoodputBefore: goodput / intended, GoodputAfter: after.goodput / after.intended}, true
}

func (js judgedSeries) hysteresisSentence(h Hysteresis) string {
	gap := "the same as"
	switch d := h.GoodputBefore - h.GoodputAfter; {
	case d > js.p.tolerance:
		gap = "far worse than"
	case d > 0:
		gap = "a little worse than"
	}
	return fmt.Sprintf("hysteresis: at the same first-attempt rate (~%s rps, ±%s) goodput was %s of intended before the "+
		"collapse and %s after the trigger: %s before", rps(h.LevelRPS), pct(js.p.band), pct(h.GoodputBefore),
		pct(h.GoodputAfter), gap)
}

// knee is how near the target came to its capacity in a stable run: p99 at or above this
// share of the SLO means queueing had begun.
const knee = 0.5

// vulnerability says whether a stable run's margin was thin: whether the typical first-attempt
// rate, multiplied by the attempts the clients allow, would exceed the target's capacity, the
// one given (Options.Capacity) or the goodput the run saw where p99 climbed past half the SLO.
// Without either, capacity is unknown and nothing is claimed.
func (js judgedSeries) vulnerability() (string, bool) {
	if js.s.maxAttempts < 2 {
		return "", false
	}
	var rates []float64
	for i, st := range js.state {
		if st != unjudged {
			rates = append(rates, js.rate[i])
		}
	}
	if len(rates) == 0 {
		return "", false
	}
	slices.Sort(rates)
	typical := rates[len(rates)/2]
	storm := typical * float64(js.s.maxAttempts)

	capacity, source := js.p.capacity, "the capacity given"
	if capacity <= 0 {
		at := -1
		for i, st := range js.state {
			if st == unjudged || i >= len(js.s.p99) || js.p.slo <= 0 {
				continue
			}
			if js.s.p99[i] < knee*float64(js.p.slo.Milliseconds()) {
				continue
			}
			t := js.spanSums(i)
			if g := t.goodput / js.s.dur(t.windows).Seconds(); g > capacity {
				capacity, at = g, i
			}
		}
		if at < 0 {
			return "", false
		}
		source = fmt.Sprintf("what the target served near its knee (p99 %s ms, %s of the SLO, at t=%s s)",
			rps(js.s.p99[at]), pct(js.s.p99[at]/float64(js.p.slo.Milliseconds())), secs(js.at(at)))
	}
	if storm <= capacity {
		return "", false
	}
	return fmt.Sprintf("vulnerable: stable, but with a thin margin: at the typical %s rps, clients that try up to %d times "+
		"could offer %s rps, more than the %s rps of %s; a trigger that made them retry could tip it into a retry storm",
		rps(typical), js.s.maxAttempts, rps(storm), rps(capacity), source), true
}
