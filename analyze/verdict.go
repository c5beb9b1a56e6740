package analyze

import "time"

// series is what judge sees of a run: counts per window, window 0 starting at time zero.
// Keeping it free of records and histograms is what lets the verdict be tested on synthetic
// series.
type series struct {
	window   time.Duration
	intended []float64 // first attempts, by intended start
	offered  []float64 // all attempts, by actual send time
	goodput  []float64 // successes within the SLO, by end time
	errors   []float64 // failed attempts, by end time
	timeouts []float64 // attempts the client gave up on, by end time
	// lagged counts first attempts the generator sent so late (by intended start) that the
	// lag alone could cost them the SLO: when they explain a window's missing goodput, the
	// window says something about the generator, not the target, and is not judged.
	lagged []float64
	// p99 is each window's p99 latency in ms (0 when empty), for spotting a run that came
	// near the target's capacity.
	p99 []float64
	// skip: windows before this are not judged. They precede the traffic, or the first
	// window with traffic saw only part of it, and judging that would call a slow start a
	// collapse. Judging spans never reach back before it either.
	skip        int
	phases      []span
	maxAttempts int // the clients' attempt limit, 0 when unknown
	failures    []Failure
	// target is the target's own metrics scraped during the run (target.go), quoted as
	// evidence where they line up with a collapse; they never change the verdict.
	target []targetSeries
	// triggers are the profile's trigger windows (capacity cuts, a database refusing
	// connections…): changes the generator made and knows the times of, so that a collapse
	// they explain is not credited to the rate curve.
	triggers []triggerWindow
}

// triggerWindow is one trigger on the run's timeline.
type triggerWindow struct {
	name       string
	start, end time.Duration
}

// span is one profile phase on the run's timeline.
type span struct {
	name       string
	start, end time.Duration
}

// judgeParams are the Options judge needs, resolved.
type judgeParams struct {
	tolerance float64
	minCount  int
	sustain   int
	grace     time.Duration
	// slo is the goodput latency bound (0: none); capacity is a known capacity in rps (0:
	// estimate it from the run); band is how close two first-attempt rates must be to count as
	// the same load when comparing before and after a surge.
	slo      time.Duration
	capacity float64
	band     float64
}

// generatorShare: a window whose missing goodput is at least this much explained by requests
// the generator sent late is not judged.
const generatorShare = 0.5

// Health states of one window.
const (
	unjudged  int8 = 0
	healthy   int8 = 1
	unhealthy int8 = -1
)

// judgement is judge's answer. Indices are window numbers, -1 when there is none.
type judgement struct {
	verdict      string
	evidence     []string
	state        []int8
	onset        int
	triggerEnd   int
	recovery     int
	level        float64 // L: the highest first-attempt rate served well before onset, rps
	ampAfter     float64 // attempts per first attempt after the trigger ended
	hasAmpAfter  bool
	triggerPhase string
	judged       int // how many windows could be judged
	genLimited   int // windows not judged because the generator's lag explains their failure
	hysteresis   *Hysteresis
	vulnerable   bool
}

// judgedSeries is the per-window view judge works on: the judging span of every window and the
// sums over it.
type judgedSeries struct {
	s     series
	p     judgeParams
	from  []int     // first window of the span judging window i; -1 when not judged
	rate  []float64 // smoothed first-attempt rate at i, rps
	state []int8
	// genLimited marks windows left unjudged because the generator's lag explains them.
	genLimited []bool
}

// downShare: a run whose goodput is at most this share of its requests served next to
// nothing, and is down whatever the windows say: judging needs no windows when (almost) every
// request failed.
const downShare = 0.01

// judge decides the verdict from per-window series. First, whether the run can support a
// judgement at all: goodput at most downShare of the requests is down. Then find onset
// (Sustain unhealthy judgements in a row). None: stable, provided the judged windows show it
// (enough of them, and not mostly failed), else inconclusive. Else the level L served well
// before onset (none: overloaded from the start), the trigger's end (the first-attempt rate
// back at or below L·(1+Tolerance) for good; never: overloaded, the trigger never ended) and
// whether goodput recovered after it (overloaded) or stayed failed for the grace period
// (metastable; less time left than that: overloaded, the recovery unproven).
//
// Where the target's own metrics line up with a collapse (a gauge pinned at its maximum, a
// steady climb from about the collapse on), one more evidence sentence quotes them.
func judge(s series, p judgeParams) judgement {
	j := judgeLoad(s, p)
	// A climb lines up with the failure if it holds while the failure does: to the end of
	// the run, or, when goodput recovered, until the trigger ended and the queue could drain.
	hold := -1
	if j.recovery >= 0 {
		hold = j.triggerEnd
	}
	if sentence := s.targetEvidence(j.onset, hold); sentence != "" {
		j.evidence = append(j.evidence, sentence)
	}
	return j
}

// judgeLoad is judge from the load generator's series alone.
func judgeLoad(s series, p judgeParams) judgement {
	js := judgeWindows(s, p)
	j := judgement{state: js.state, onset: -1, triggerEnd: -1, recovery: -1}
	for i, st := range js.state {
		if st != unjudged {
			j.judged++
		}
		if js.genLimited[i] {
			j.genLimited++
		}
	}
	all := js.sums(0, len(s.intended))
	if all.intended == 0 {
		j.verdict = Inconclusive
		j.evidence = []string{"no requests were sent: there is nothing to judge; check the profile's rates and that the attack ran"}
		return j
	}
	if all.goodput <= downShare*all.intended {
		j.verdict = Down
		j.evidence = js.downEvidence(all)
		return j
	}
	j.onset = js.streak(0, unhealthy)
	if j.onset < 0 {
		if why := js.tooLittleEvidence(j.judged); why != nil {
			j.verdict = Inconclusive
			j.evidence = why
			return j
		}
		j.verdict = Stable
		j.evidence = js.stableEvidence(j.judged)
		if sentence, ok := js.vulnerability(); ok {
			j.vulnerable = true
			j.evidence = append(j.evidence, sentence)
		}
		return j
	}
	j.triggerPhase = s.phaseAt(js.at(j.onset))
	collapse := js.collapseSentence(j.onset)

	level, haveLevel := js.servedLevel(j.onset)
	j.level = level
	if !haveLevel {
		j.verdict = Overloaded
		j.evidence = []string{collapse, js.neverHealthySentence(j.onset)}
		return j
	}

	j.triggerEnd = js.triggerEnd(j.onset, j.level)
	tw, haveTrigger := js.triggerAt(j.onset)
	if haveTrigger {
		// The trigger is known: it lasts to the end of its window (or of the load surge, if
		// the rate curve also stayed up longer).
		j.triggerPhase = tw.name
		if j.triggerEnd >= 0 {
			j.triggerEnd = max(j.triggerEnd, js.windowAt(tw.end))
		}
	}
	if j.triggerEnd < 0 {
		j.verdict = Overloaded
		j.evidence = []string{collapse, js.neverDownSentence(j.onset, j.level)}
		return j
	}

	j.recovery = js.streak(j.triggerEnd, healthy)
	stop := js.lastJudged() + 1
	if j.recovery >= 0 {
		stop = j.recovery
	}
	after := js.sums(j.triggerEnd, stop)
	if after.intended > 0 {
		j.ampAfter, j.hasAmpAfter = after.offered/after.intended, true
	}
	if haveTrigger {
		j.evidence = []string{collapse, js.triggerWindowSentence(tw, j.triggerEnd)}
	} else {
		j.evidence = []string{collapse, js.triggerSentence(j.onset, j.triggerEnd, j.level, j.triggerPhase)}
	}
	j.evidence = append(j.evidence, js.afterSentences(j.onset, j.triggerEnd, stop, after)...)
	if h, ok := js.hysteresis(j.onset, j.triggerEnd, stop); ok {
		j.hysteresis = &h
		j.evidence = append(j.evidence, js.hysteresisSentence(h))
	}

	switch failedFor := s.dur(stop - j.triggerEnd); {
	case j.recovery >= 0:
		j.verdict = Overloaded
		j.evidence = append(j.evidence, js.recoverySentence(j.triggerEnd, j.recovery))
	case failedFor >= p.grace:
		j.verdict = Metastable
		j.evidence = append(j.evidence, js.metastableSentence(j.triggerEnd, stop))
	default:
		j.verdict = Overloaded
		j.evidence = append(j.evidence, js.inconclusiveSentence(failedFor))
	}
	return j
}

// judgeWindows judges every window: healthy when goodput over the smallest span ending at it
// that holds MinCount intended requests (at most maxWiden windows) is within Tolerance of the
// intended load. Spans never reach back into a partial first window.
func judgeWindows(s series, p judgeParams) judgedSeries {
	n := len(s.intended)
	js := judgedSeries{s: s, p: p, from: make([]int, n), rate: make([]float64, n), state: make([]int8, n), genLimited: make([]bool, n)}
	first := s.skip
	secs := s.window.Seconds()
	for i := range n {
		js.from[i] = -1
		js.rate[i] = s.intended[i] / secs
		if i < first {
			continue
		}
		var intended, goodput, lagged float64
		for k := i; k >= first && k > i-maxWiden; k-- {
			intended += s.intended[k]
			goodput += s.goodput[k]
			if s.lagged != nil {
				lagged += s.lagged[k]
			}
			if intended >= float64(p.minCount) {
				js.from[i] = k
				js.rate[i] = intended / (float64(i-k+1) * secs)
				switch {
				case goodput >= (1-p.tolerance)*intended:
					js.state[i] = healthy
				case lagged >= generatorShare*(intended-goodput):
					// The generator sent most of the missing requests too late to
					// make the SLO: its failure, not the target's.
					js.genLimited[i] = true
				default:
					js.state[i] = unhealthy
				}
				break
			}
		}
	}
	return js
}

// streak returns the first window at or after from that starts a run of Sustain judged
// windows in the given state (unjudged windows in between neither count nor break it).
func (js judgedSeries) streak(from int, want int8) int {
	start, count := -1, 0
	for i := from; i < len(js.state); i++ {
		switch js.state[i] {
		case unjudged:
			continue
		case want:
			if count == 0 {
				start = i
			}
			count++
			if count >= js.p.sustain {
				return start
			}
		default:
			count = 0
		}
	}
	return -1
}

// servedLevel is L, the highest smoothed first-attempt rate served well before onset. A level
// counts when it was held for Sustain healthy judgements in a row (the lowest rate of such a
// run), so a surge that a queue absorbed for a window or two before collapsing is not taken
// for a level the target can serve. Fewer healthy judgements than that: the plain highest.
func (js judgedSeries) servedLevel(onset int) (float64, bool) {
	var best, plain float64
	haveBest, havePlain := false, false
	var run []int // judged windows of the current healthy run, newest last
	for i := 0; i < onset; i++ {
		switch js.state[i] {
		case unjudged:
			continue
		case unhealthy:
			run = run[:0]
			continue
		}
		if !havePlain || js.rate[i] > plain {
			plain, havePlain = js.rate[i], true
		}
		run = append(run, i)
		if len(run) < js.p.sustain {
			continue
		}
		low := js.rate[i]
		for _, k := range run[len(run)-js.p.sustain:] {
			low = min(low, js.rate[k])
		}
		if !haveBest || low > best {
			best, haveBest = low, true
		}
	}
	if haveBest {
		return best, true
	}
	return plain, havePlain
}

// triggerEnd is the first window after onset from which the smoothed first-attempt rate
// stays at or below level·(1+Tolerance) to the end of the run; -1 when it never does.
func (js judgedSeries) triggerEnd(onset int, level float64) int {
	limit := level * (1 + js.p.tolerance)
	n := len(js.rate)
	end := onset
	for i := n - 1; i >= onset; i-- {
		if js.rate[i] > limit {
			end = i + 1
			break
		}
	}
	if end >= n {
		return -1
	}
	return end
}

// triggerAt is the trigger window that explains a collapse at window onset: of the windows
// that began before the collapse was confirmed (Sustain windows after onset), the one that
// began last, unless it had ended more than the grace before the collapse (then it was not
// the cause).
func (js judgedSeries) triggerAt(onset int) (triggerWindow, bool) {
	confirmed := js.at(onset + js.p.sustain)
	var best triggerWindow
	found := false
	for _, tw := range js.s.triggers {
		if tw.start > confirmed || tw.end+js.p.grace < js.at(onset) {
			continue
		}
		if !found || tw.start >= best.start {
			best, found = tw, true
		}
	}
	return best, found
}

// windowAt is the first window that starts at or after t.
func (js judgedSeries) windowAt(t time.Duration) int {
	w := js.s.window
	return int((t + w - 1) / w)
}

// lastJudged is the last judged window that still had first attempts of its own. Windows
// after the schedule's end hold only the drain of earlier requests: they may be judged (their
// span reaches back), but they would stretch "how long it stayed failed" and dilute the
// after-trigger averages with windows that had no intended load.
func (js judgedSeries) lastJudged() int {
	for i := len(js.state) - 1; i >= 0; i-- {
		if js.state[i] != unjudged && js.s.intended[i] > 0 {
			return i
		}
	}
	return -1
}

// totals are sums of the series over a range of windows.
type totals struct {
	windows                                     int
	intended, offered, goodput, errors, timeout float64
}

func (js judgedSeries) sums(from, to int) totals {
	var t totals
	for i := max(from, 0); i < to && i < len(js.s.intended); i++ {
		t.windows++
		t.intended += js.s.intended[i]
		t.offered += js.s.offered[i]
		t.goodput += js.s.goodput[i]
		t.errors += js.s.errors[i]
		t.timeout += js.s.timeouts[i]
	}
	return t
}

// spanSums are the sums over the span that judged window i.
func (js judgedSeries) spanSums(i int) totals {
	if js.from[i] < 0 {
		return js.sums(i, i+1)
	}
	return js.sums(js.from[i], i+1)
}

// at is the start of window i.
func (js judgedSeries) at(i int) time.Duration { return js.s.dur(i) }

func (s series) dur(windows int) time.Duration { return time.Duration(windows) * s.window }

// phaseAt names the phase in force at t, "" when none is.
func (s series) phaseAt(t time.Duration) string {
	for _, p := range s.phases {
		if t >= p.start && t < p.end {
			return p.name
		}
	}
	return ""
}

func (s series) phase(name string) (span, bool) {
	for _, p := range s.phases {
		if p.name == name {
			return p, true
		}
	}
	return span{}, false
}
