package analyze

import (
	"fmt"
	"strconv"
	"strings"
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

// downEvidence says how little was served and what the target answered instead: the first
// sentence carries both, since gates quote it as the reason.
func (js judgedSeries) downEvidence(all totals) []string {
	lead := "no request was served"
	if all.goodput > 0 {
		lead = "next to no request was served"
	}
	mix := failureMix(js.s.failures, all.offered)
	if mix == "" && all.offered > 0 {
		mix = fmt.Sprintf("%s of attempts failed, %s of the failures timeouts", pct(all.errors/all.offered), pct(safeDiv(all.timeout, all.errors)))
	}
	within := ""
	if js.p.slo > 0 {
		within = fmt.Sprintf(" within the SLO of %s", js.p.slo)
	}
	out := []string{fmt.Sprintf("%s (%s): goodput %.0f of %.0f requests (%s)%s over %s s; the target is down or answers only with errors",
		lead, mix, all.goodput, all.intended, pct(all.goodput/all.intended), within, secs(js.s.dur(all.windows)))}
	if failed := failedAttempts(js.s.failures, all.errors); failed < all.offered {
		out = append(out, fmt.Sprintf("the other %s of attempts succeeded, %.0f of them in time to count as goodput",
			pct(1-failed/all.offered), all.goodput))
	}
	return out
}

// failedAttempts is the number of failed attempts: from the failure kinds when known, else
// the series' error count.
func failedAttempts(fs []Failure, errors float64) float64 {
	if len(fs) == 0 {
		return errors
	}
	var n float64
	for _, f := range fs {
		n += float64(f.Attempts)
	}
	return n
}

// tooLittleEvidence says why a run with no onset cannot be called stable, nil when it can:
// fewer judged windows than it takes to call anything, judged windows covering under half of
// the windows with traffic, or judged windows that were mostly failing (without ever failing
// Sustain times in a row). Each reason says how to get enough evidence.
func (js judgedSeries) tooLittleEvidence(judged int) []string {
	need := float64(js.p.minCount) / js.s.dur(maxWiden).Seconds()
	howTo := fmt.Sprintf("run longer or raise the rate to at least %s rps (judging a window takes %d intended requests "+
		"within %s s; calling stable, %d judged windows)", rps(need), js.p.minCount, secs(js.s.dur(maxWiden)), js.p.sustain)
	traffic := 0
	var own totals // the judged windows' own counts, each window once
	healthyN, unhealthyN := 0, 0
	for i, st := range js.state {
		if js.s.intended[i] > 0 {
			traffic++
		}
		switch st {
		case unjudged:
			continue
		case healthy:
			healthyN++
		default:
			unhealthyN++
		}
		t := js.sums(i, i+1)
		own.intended += t.intended
		own.goodput += t.goodput
		own.offered += t.offered
	}
	lagged := 0
	for _, g := range js.genLimited {
		if g {
			lagged++
		}
	}
	withMix := func(s string) []string {
		if lagged > 0 {
			// Then more requests would not help: a faster generator would.
			s += fmt.Sprintf("; %d more windows were not judged because the generator sent their requests late "+
				"(see the warnings)", lagged)
		}
		out := []string{s}
		if mix := failureMix(js.s.failures, js.sums(0, len(js.state)).offered); mix != "" {
			out = append(out, "errors: "+mix+" of the attempts")
		}
		return out
	}
	switch {
	case judged == 0:
		return withMix(fmt.Sprintf("too few requests to judge: no window gathered %d intended requests within %d windows, "+
			"so the run shows neither that the target coped nor that it collapsed; %s", js.p.minCount, maxWiden, howTo))
	case judged < js.p.sustain:
		return withMix(fmt.Sprintf("too few requests to judge: only %d windows could be judged, and it takes %d in a row "+
			"to call a collapse or rule one out; %s", judged, js.p.sustain, howTo))
	case unhealthyN >= healthyN || own.goodput < (1-js.p.tolerance)*own.intended:
		return withMix(fmt.Sprintf("goodput was %s of the intended load over the %d judged windows and %d of them failed, "+
			"but never %d in a row: the target failed too often to be called stable, yet never long enough to place a "+
			"collapse; look at the errors, or run longer at a steady rate", pct(safeDiv(own.goodput, own.intended)), judged,
			unhealthyN, js.p.sustain))
	case 2*judged < traffic:
		return withMix(fmt.Sprintf("too few requests to judge most of the run: only %d of %d windows with traffic could be "+
			"judged, too little to call the whole run stable; %s", judged, traffic, howTo))
	}
	return nil
}

func (js judgedSeries) stableEvidence(judged int) []string {
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

// triggerWindowSentence names the recorded trigger that explains the collapse.
func (js judgedSeries) triggerWindowSentence(tw triggerWindow, end int) string {
	s := fmt.Sprintf("the trigger was %s (t=%.1f–%.1f s), a change the generator made to the target (the profile's triggers), not a guess from the rate curve",
		tw.name, tw.start.Seconds(), tw.end.Seconds())
	if js.at(end) > js.windowStart(tw.end) {
		s += fmt.Sprintf("; the first-attempt rate stayed above the level served well before it until t=%s s", secs(js.at(end)))
	}
	return s + fmt.Sprintf("; persistence is counted from t=%s s", secs(js.at(end)))
}

// windowStart is where the window holding t starts once rounded up to a window boundary.
func (js judgedSeries) windowStart(t time.Duration) time.Duration { return js.at(js.windowAt(t)) }

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

// failureMix names the most frequent failures with their shares of attempts: "100 % HTTP 503",
// "80 % HTTP 503, 20 % timeout"; beyond mixShown kinds the rest is summed. "" when nothing
// failed.
func failureMix(fs []Failure, attempts float64) string {
	if len(fs) == 0 || attempts <= 0 {
		return ""
	}
	var parts []string
	var rest float64
	for i, f := range fs {
		if i >= mixShown {
			rest += float64(f.Attempts)
			continue
		}
		parts = append(parts, share(float64(f.Attempts)/attempts)+" "+f.Label)
	}
	if rest > 0 {
		parts = append(parts, share(rest/attempts)+" other failures")
	}
	return strings.Join(parts, ", ")
}

// mixShown is how many failure kinds failureMix names one by one.
const mixShown = 3

// share writes a fraction as a whole percentage, "<1 %" rather than "0 %" for a few.
func share(x float64) string {
	s := strconv.FormatFloat(100*x, 'f', 0, 64)
	if s == "0" && x > 0 {
		s = "<1"
	}
	return s + " %"
}
