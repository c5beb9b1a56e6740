package analyze

import (
	"fmt"
	"strconv"
	"time"
)

// Thresholds for naming the sustaining effect.
const (
	// retryAmplification: attempts per first attempt at or above this after the trigger
	// means retries multiplied the load.
	retryAmplification = 1.2
	// abandonedShare: timeouts at or above this share of errors after the trigger means
	// clients gave up on work the server likely went on doing.
	abandonedShare = 0.5
)

func (js judgedSeries) stableEvidence(judged int) []string {
	if judged == 0 {
		return []string{fmt.Sprintf("no window had %d intended requests within %d windows: too few requests to judge",
			js.p.minCount, maxWiden)}
	}
	worst, worstAt := 2.0, -1
	for i, st := range js.state {
		if st == unjudged {
			continue
		}
		t := js.spanSums(i)
		if r := t.goodput / t.intended; r < worst {
			worst, worstAt = r, i
		}
	}
	return []string{fmt.Sprintf("goodput kept within %s of the intended load in %d judged windows (lowest %s at t=%s s)",
		pct(js.p.tolerance), judged, pct(worst), secs(js.at(worstAt)))}
}

func (js judgedSeries) collapseSentence(onset int) string {
	t := js.spanSums(onset)
	d := js.s.dur(t.windows).Seconds()
	return fmt.Sprintf("goodput collapsed at t=%s s: %s rps against %s rps intended (%s)",
		secs(js.at(onset)), rps(t.goodput/d), rps(t.intended/d), pct(t.goodput/t.intended))
}

func (js judgedSeries) neverHealthySentence(onset int) string {
	return fmt.Sprintf("goodput met the intended load in no judged window before t=%s s: the target was overloaded "+
		"from the start, so there is no level it served well to come back to", secs(js.at(onset)))
}

func (js judgedSeries) neverDownSentence(onset int, level float64) string {
	last := len(js.rate) - 1
	return fmt.Sprintf("the first-attempt rate never came back down to the %s rps served well before t=%s s "+
		"(still %s rps at t=%s s): the trigger never ended, so the run cannot show whether the failure would persist",
		rps(level), secs(js.at(onset)), rps(js.rate[last]), secs(js.at(last)))
}

func (js judgedSeries) triggerSentence(onset, end int, level float64, phase string) string {
	if end == onset {
		return fmt.Sprintf("the first-attempt rate never rose above the %s rps served well before the collapse: "+
			"the trigger was not a load surge but, likely, lost capacity on the target; its end is invisible "+
			"to the load generator, so persistence is counted from the collapse", rps(level))
	}
	s := ""
	if p, ok := js.s.phase(phase); ok {
		s = fmt.Sprintf("the trigger was phase %q (%s–%s s); ", p.name, secs(p.start), secs(p.end))
	}
	return s + fmt.Sprintf("it ended at t=%s s: from then on the first-attempt rate stayed at or below %s rps (+%s), "+
		"the level served well before the collapse", secs(js.at(end)), rps(level), pct(js.p.tolerance))
}

// afterSentences describe windows [end, stop): what offered load, goodput and amplification
// did after the trigger, and which sustaining effect the data supports.
func (js judgedSeries) afterSentences(onset, end, stop int, after totals) []string {
	if after.windows == 0 || after.intended == 0 {
		return nil
	}
	d := js.s.dur(after.windows).Seconds()
	rel := "stayed above"
	if after.offered <= after.goodput {
		rel = "did not exceed"
	}
	out := []string{fmt.Sprintf("after the trigger (t=%s–%s s) offered load averaged %s rps and %s goodput, which averaged %s rps against %s rps intended",
		secs(js.at(end)), secs(js.at(stop)), rps(after.offered/d), rel, rps(after.goodput/d), rps(after.intended/d))}

	amp := after.offered / after.intended
	peak, peakAt := 0.0, -1
	for i := onset; i < stop && i < len(js.state); i++ {
		if js.state[i] == unjudged {
			continue
		}
		t := js.spanSums(i)
		if a := t.offered / t.intended; a > peak {
			peak, peakAt = a, i
		}
	}
	s := fmt.Sprintf("amplification after the trigger: %.2f attempts per request", amp)
	if peakAt >= 0 {
		s += fmt.Sprintf(" (peak %.2f at t=%s s)", peak, secs(js.at(peakAt)))
	}
	if js.s.maxAttempts > 0 {
		s += fmt.Sprintf("; clients allow %d", js.s.maxAttempts)
	}
	out = append(out, s)

	var effects []string
	if amp >= retryAmplification {
		effects = append(effects, fmt.Sprintf("sustaining effect: retries: each request cost %.2f attempts, "+
			"so the target saw more load than before the trigger although first attempts were back to normal", amp))
	}
	if after.errors > 0 && after.timeout/after.errors >= abandonedShare {
		effects = append(effects, fmt.Sprintf("sustaining effect: abandoned work: timeouts were %s of errors, "+
			"clients gave up while the server likely kept working on their requests", pct(after.timeout/after.errors)))
	}
	if len(effects) == 0 {
		effects = append(effects, fmt.Sprintf("sustaining effect: neither retries (%.2f attempts per request) nor timeouts "+
			"(%s of errors) explain it: the target appears to have lost capacity (restart loop, cold cache, a queue that "+
			"never drains)", amp, pct(safeDiv(after.timeout, after.errors))))
	}
	return append(out, effects...)
}

func (js judgedSeries) recoverySentence(end, recovery int) string {
	return fmt.Sprintf("goodput recovered at t=%s s, %s s after the trigger ended: plain overload",
		secs(js.at(recovery)), secs(js.s.dur(recovery-end)))
}

func (js judgedSeries) metastableSentence(end, stop int) string {
	return fmt.Sprintf("did not recover in %s s after the trigger ended (to t=%s s), past the grace period of %s s: "+
		"the failure sustains itself", secs(js.s.dur(stop-end)), secs(js.at(stop)), secs(js.p.grace))
}

func (js judgedSeries) inconclusiveSentence(failedFor time.Duration) string {
	return fmt.Sprintf("not recovered %s s after the trigger, less than the grace period %s s: inconclusive",
		secs(max(failedFor, 0)), secs(js.p.grace))
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func rps(x float64) string {
	if x >= 10 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 0, 64) + "%" }

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
