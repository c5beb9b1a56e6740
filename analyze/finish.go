package analyze

import (
	"errors"
	"fmt"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormtest/stormtest/results"
)

// pacingPrecision is the lag p99 a generator that keeps up stays under (docs/performance.md);
// past it the run is near what the generator can pace, which is worth saying even when the lag
// is small next to the SLO.
const pacingPrecision = time.Millisecond

// partialShare: the first window with traffic counts as partial (and is not judged) when its
// first request came later than this share of the window.
const partialShare = 0.1

// Finish closes the analysis and builds the report. t is the file's trailer, nil when it
// had none; damage is the error that stopped reading early, nil when the file read cleanly.
// Call it once, after the last Add.
func (a *Analyzer) Finish(t *results.Trailer, damage error) *Report {
	a.closeAll()
	s := a.series()
	triggers, triggerWarnings := a.triggers(t)
	for _, tr := range triggers {
		if tr.used {
			s.triggers = append(s.triggers, triggerWindow{name: tr.Name, start: seconds(tr.StartSeconds), end: seconds(tr.EndSeconds)})
		}
	}
	p := judgeParams{
		tolerance: a.opt.Tolerance,
		minCount:  a.opt.MinCount,
		sustain:   a.opt.Sustain,
		grace:     a.opt.GraceFor(&a.h.Profile),
		slo:       a.slo,
		capacity:  a.opt.Capacity,
		band:      a.opt.Band,
	}
	j := judge(s, p)

	r := &Report{
		Verdict:      j.verdict,
		Evidence:     j.evidence,
		Target:       a.h.Target,
		Profile:      a.h.Profile.Name,
		Start:        a.h.Start,
		SLO:          a.slo,
		Gate:         a.h.Profile.Gate,
		Requests:     a.requests,
		Attempts:     a.attempts,
		Successes:    a.successes,
		Goodput:      a.goodput,
		Wasted:       a.wasted,
		TriggerPhase: j.triggerPhase,
		Latency: LatencySummary{
			Percentiles: summarize(a.all),
			ServiceTime: summarize(a.svc),
			Lag:         summarize(a.lag),
		},
		Errors:    make(map[string]uint64),
		Protocols: make(map[string]uint64),
	}
	r.DurationSeconds = a.duration(t).Seconds()
	if t != nil {
		r.UnsentRetries = t.UnsentRetries
		r.RedirectHops = t.RedirectHops
		r.Connections = t.Connections
		for k, v := range t.Protocols {
			r.Protocols[k] = v
		}
	}
	r.TLSInsecure = a.h.Profile.Transport.Insecure()
	r.Engine, r.EngineReason = a.h.Engine, a.h.EngineReason
	r.Amplification = safeDiv(float64(a.attempts), float64(a.requests))
	if j.hasAmpAfter {
		r.AmplificationAfterTrigger = &j.ampAfter
	}
	at := func(i int) *float64 {
		if i < 0 {
			return nil
		}
		v := s.dur(i).Seconds()
		return &v
	}
	r.OnsetSeconds = at(j.onset)
	r.TriggerEndSeconds = at(j.triggerEnd)
	if j.recovery >= 0 && j.triggerEnd >= 0 {
		r.RecoverySeconds = at(j.recovery - j.triggerEnd)
	}
	for k := results.KindTimeout; int(k) < numKinds; k++ {
		if n := a.kinds[k]; n > 0 {
			r.Errors[k.String()] = n
		}
	}
	r.Failures = s.failures
	r.Phases = a.phaseStats(s.phases, a.ranFor(t))
	r.Hysteresis = j.hysteresis
	r.Vulnerable = j.vulnerable
	r.Groups = a.groupStats()
	if sentence := a.groupsAfterTrigger(r.Groups, j.triggerEnd); sentence != "" {
		r.Evidence = append(r.Evidence, sentence)
	}
	r.Windows = a.windowReport(j.state)
	r.Triggers = make([]TriggerReport, len(triggers))
	for i, tr := range triggers {
		r.Triggers[i] = tr.TriggerReport
	}
	r.TargetMetrics, r.TargetScrapes = a.targetReport(s.target, s.phases)
	r.Warnings = append(append([]string(nil), a.warnings...), a.finishWarnings(t, damage, j, r)...)
	if r.TLSInsecure {
		r.Warnings = append(r.Warnings, "TLS certificates were not verified (--insecure, transport.tls.insecure): "+
			"the run measured whatever answered at the target's address")
	}
	r.Warnings = append(r.Warnings, a.targetWarnings(t)...)
	r.Warnings = append(r.Warnings, triggerWarnings...)
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return r
}

// series extracts judge's input from the window counters.
func (a *Analyzer) series() series {
	n := len(a.wins)
	s := series{
		window:      a.opt.Window,
		intended:    make([]float64, n),
		lagged:      make([]float64, n),
		p99:         make([]float64, n),
		offered:     make([]float64, n),
		goodput:     make([]float64, n),
		errors:      make([]float64, n),
		timeouts:    make([]float64, n),
		phases:      a.spans(),
		maxAttempts: a.mostAttempts(),
		failures:    a.failures(),
		target:      a.targetInput(),
	}
	for i, w := range a.wins {
		s.intended[i] = float64(w.intended)
		s.lagged[i] = float64(w.lagged)
		s.p99[i] = ms(w.p99)
		s.offered[i] = float64(w.offered)
		s.goodput[i] = float64(w.goodput)
		s.errors[i] = float64(w.errors)
		s.timeouts[i] = float64(w.timeouts)
	}
	if a.requests > 0 && a.firstIntended >= a.start {
		off := a.firstIntended - a.start
		s.skip = int(off / a.window)
		if float64(off%a.window) > partialShare*float64(a.window) {
			s.skip++
		}
	}
	return s
}

// spans places the profile's phases on the timeline. It walks the phase durations itself
// rather than building the profile's Schedule, which needs the rate shapes too.
func (a *Analyzer) spans() []span {
	var out []span
	var at time.Duration
	for i, p := range a.h.Profile.Phases {
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("phase %d", i+1)
		}
		d := p.Length()
		out = append(out, span{name: name, start: at, end: at + d})
		at += d
	}
	if len(out) == 0 {
		out = append(out, span{name: "run", end: time.Duration(len(a.wins)) * a.opt.Window})
	}
	return out
}

// duration is how long the run lasted: to the trailer's end when there is one, else to the
// last attempt's end.
func (a *Analyzer) duration(t *results.Trailer) time.Duration {
	if t != nil && !t.End.IsZero() && t.End.After(a.h.Start) {
		return t.End.Sub(a.h.Start)
	}
	if a.seen && a.lastEnd > a.start {
		return time.Duration(a.lastEnd - a.start)
	}
	return 0
}

// ranFor is how far into the profile a run stopped early (Ctrl-C, a failure) got, from its
// trailer's end; 0 when it ran to the end. A file without a trailer is not cut: its last
// attempt's end is only a lower bound of how long it ran.
func (a *Analyzer) ranFor(t *results.Trailer) time.Duration {
	if t == nil || !t.Interrupted {
		return 0
	}
	return a.duration(t)
}

// phaseStats computes the per-phase table. ran > 0 cuts each phase at the point the run
// stopped, so a phase's rates divide its counts by the part of it that ran: 50/s stopped 2 s
// into a 12 s phase is 50/s, not 8.3/s. A phase the run never reached gets no time and no
// rates.
func (a *Analyzer) phaseStats(spans []span, ran time.Duration) []PhaseStats {
	out := make([]PhaseStats, len(a.phases))
	for i := range a.phases {
		pa := &a.phases[i]
		sp := spans[min(i, len(spans)-1)]
		if ran > 0 {
			sp.start, sp.end = min(sp.start, ran), min(sp.end, ran)
		}
		d := (sp.end - sp.start).Seconds()
		lat := summarize(pa.lat)
		ps := PhaseStats{
			Name:          sp.name,
			StartSeconds:  sp.start.Seconds(),
			EndSeconds:    sp.end.Seconds(),
			IntendedRPS:   safeDiv(float64(pa.intended), d),
			OfferedRPS:    safeDiv(float64(pa.offered), d),
			GoodputRPS:    safeDiv(float64(pa.goodput), d),
			ErrorRPS:      safeDiv(float64(pa.errors), d),
			Amplification: safeDiv(float64(pa.offered), float64(pa.intended)),
			P50:           lat.P50,
			P99:           lat.P99,
			P999:          lat.P999,
			Max:           lat.Max,
			Errors:        kindMap(pa.kinds[:]),
			Distribution:  distribution(pa.lat),
		}
		if ps.Errors == nil {
			ps.Errors = make(map[string]uint64)
		}
		out[i] = ps
	}
	return out
}

// Percentile spectrum resolution, as in HdrHistogram's percentile output: ticksPerHalf
// percentiles in each halving of the distance to 100, for at most maxHalvings halvings.
const (
	ticksPerHalf = 5
	maxHalvings  = 20 // 1 − 2⁻²⁰: beyond 99.9999, past what any run here can resolve
)

// distribution is h's percentile spectrum. It stops once fewer than one recorded value lies
// beyond the next percentile, where every further percentile is the maximum, and ends with
// 100 (the maximum), so the points' number depends only on the count and stays bounded.
func distribution(h *hdr.Histogram) []PercentilePoint {
	n := h.TotalCount()
	if n == 0 {
		return []PercentilePoint{}
	}
	var pcts []float64
	for k := range maxHalvings {
		lo, gap := 100*(1-math.Ldexp(1, -k)), 100*math.Ldexp(1, -k-1)
		if (100-lo)/100*float64(n) < 1 {
			break
		}
		for t := range ticksPerHalf {
			pcts = append(pcts, lo+gap*float64(t)/ticksPerHalf)
		}
	}
	pcts = append(pcts, 100)
	vals := h.ValueAtPercentilesSlice(pcts)
	out := make([]PercentilePoint, len(pcts))
	for i, p := range pcts {
		out[i] = PercentilePoint{Percentile: p, ValueMS: ms(vals[i])}
	}
	out[len(out)-1].ValueMS = ms(h.Max())
	return out
}

func (a *Analyzer) groupStats() []GroupStats {
	out := make([]GroupStats, len(a.groups))
	for i := range a.groups {
		g := &a.groups[i]
		name := "default"
		if i < len(a.h.Groups) {
			name = a.h.Groups[i]
		}
		out[i] = GroupStats{
			Name:          name,
			Requests:      g.requests,
			Attempts:      g.attempts,
			Amplification: safeDiv(float64(g.attempts), float64(g.requests)),
			P99:           ms(g.lat.ValueAtQuantile(99)),
		}
	}
	return out
}

func (a *Analyzer) windowReport(state []int8) []Window {
	secs := a.opt.Window.Seconds()
	out := make([]Window, len(a.wins))
	var inFlight int64
	for i, w := range a.wins {
		inFlight += int64(w.offered) - int64(w.ends)
		out[i] = Window{
			InFlight:    uint64(max(inFlight, 0)),
			LagMax:      float64(w.lagMax) / float64(time.Millisecond),
			Errors:      kindMap(w.kinds[:]),
			T:           float64(i) * secs,
			IntendedRPS: float64(w.intended) / secs,
			OfferedRPS:  float64(w.offered) / secs,
			GoodputRPS:  float64(w.goodput) / secs,
			ErrorRPS:    float64(w.errors) / secs,
			WastedRPS:   float64(w.wasted) / secs,
			P50:         ms(w.p50),
			P99:         ms(w.p99),
			P999:        ms(w.p999),
			Max:         ms(w.max),
		}
		if state[i] != unjudged {
			h := state[i] == healthy
			out[i].Healthy = &h
		}
		if w.machineCPU >= 0 {
			cpu := w.machineCPU
			out[i].MachineCPU = &cpu
		}
	}
	return out
}

// finishWarnings lists what limits how far the report can be trusted.
func (a *Analyzer) finishWarnings(t *results.Trailer, damage error, j judgement, r *Report) []string {
	var w []string
	if limit := a.opt.lagWarn(a.slo); r.Latency.Lag.P99 > ms(micros(limit)) {
		w = append(w, fmt.Sprintf("generator lag p99 is %.1f ms (above %s): the generator, not the target, may be the "+
			"bottleneck; latencies count from the intended start, so they include this lag", r.Latency.Lag.P99, limit))
	} else if r.Latency.Lag.P99 > ms(micros(pacingPrecision)) {
		w = append(w, fmt.Sprintf("pacing precision: attempts left up to %.1f ms late (p99), past the %s a generator holds "+
			"when it keeps up (on 2 cores, up to ~5 k/s); the latencies include it, but the run was near what this "+
			"generator machine can pace", r.Latency.Lag.P99, pacingPrecision))
	}
	if j.genLimited > 0 {
		w = append(w, fmt.Sprintf("%d windows were not judged: most of the goodput they missed was requests the generator "+
			"sent more than %s late, so they say more about the generator than about the target", j.genLimited, a.lagLimit))
	}
	for _, err := range flatten(damage) {
		w = append(w, fmt.Sprintf("results cut short: %v; the analysis covers only the records before it", err))
	}
	switch {
	case t == nil:
		w = append(w, "no trailer: the results file was cut short (crash, kill -9 or a truncated copy); "+
			"the analysis covers the records up to its last complete block")
	case t.Interrupted:
		msg := fmt.Sprintf("run interrupted after %.0f s of the profile's %.0f s", r.DurationSeconds, a.scheduled().Seconds())
		if t.Reason != "" {
			msg += " (" + t.Reason + ")"
		}
		w = append(w, msg+": the verdict covers only the part that ran")
	}
	if t != nil && damage == nil && !a.trailerPartial && t.Attempts != a.attempts {
		w = append(w, fmt.Sprintf("the trailer counts %d attempts but %d were read", t.Attempts, a.attempts))
	}
	if traffic := a.windowsWithTraffic(); j.judged == 0 {
		w = append(w, fmt.Sprintf("too few requests to judge: no window gathered %d intended requests within %d windows",
			a.opt.MinCount, maxWiden))
	} else if 2*j.judged < traffic {
		w = append(w, fmt.Sprintf("too few requests to judge much of the run: only %d of %d windows with traffic "+
			"gathered %d intended requests within %d windows", j.judged, traffic, a.opt.MinCount, maxWiden))
	}
	if a.late > 0 {
		w = append(w, fmt.Sprintf("%d attempts ended more than %s before newer ones had been read; their latency "+
			"was counted in a later window", a.late, lateSlack))
	}
	if a.early > 0 {
		w = append(w, fmt.Sprintf("%d time stamps fell before the run's start; they were counted in the first window", a.early))
	}
	if a.clipped > 0 {
		w = append(w, fmt.Sprintf("%d time stamps fell more than %s after the schedule's end; they were counted in the last window",
			a.clipped, tailSlack))
	}
	if a.badPhase > 0 || a.badGroup > 0 {
		w = append(w, fmt.Sprintf("%d records name a phase and %d a client group that the header does not list; "+
			"they were counted in the last one", a.badPhase, a.badGroup))
	}
	return w
}

func (a *Analyzer) scheduled() time.Duration {
	var d time.Duration
	for _, p := range a.h.Profile.Phases {
		d += p.Length()
	}
	return d
}

func (a *Analyzer) windowsWithTraffic() int {
	n := 0
	for _, w := range a.wins {
		if w.intended > 0 {
			n++
		}
	}
	return n
}

// flatten lists the errors joined in err (errors.Join), or err itself.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}

// kindMap names the non-zero failure counts; nil when there are none.
func kindMap(kinds []uint64) map[string]uint64 {
	var m map[string]uint64
	for k := results.KindTimeout; int(k) < len(kinds); k++ {
		if n := kinds[k]; n > 0 {
			if m == nil {
				m = make(map[string]uint64)
			}
			m[k.String()] = n
		}
	}
	return m
}

// mostAttempts is the most attempts any client group allows a request.
func (a *Analyzer) mostAttempts() int {
	n := 0
	for _, g := range a.h.Profile.Groups() {
		n = max(n, g.Retry.MaxAttempts)
	}
	return n
}

// groupsAfterTrigger fills each group's amplification after the trigger ended and, for a mix,
// says which group sent what share of the attempts then: the group that kept the storm going.
func (a *Analyzer) groupsAfterTrigger(gs []GroupStats, triggerEnd int) string {
	if a.groupWins == nil || triggerEnd < 0 || triggerEnd >= len(a.groupWins) {
		return ""
	}
	sums := make([]groupWin, len(gs))
	var total uint64
	for _, w := range a.groupWins[triggerEnd:] {
		for g := range sums {
			sums[g].intended += w[g].intended
			sums[g].offered += w[g].offered
			total += w[g].offered
		}
	}
	if total == 0 {
		return ""
	}
	sentence := "after the trigger, attempts by client group:"
	for g := range gs {
		amp := safeDiv(float64(sums[g].offered), float64(sums[g].intended))
		gs[g].AmplificationAfterTrigger = &amp
		sentence += fmt.Sprintf(" %q %s of the attempts (%.2f per request);", gs[g].Name,
			pct(float64(sums[g].offered)/float64(total)), amp)
	}
	return sentence[:len(sentence)-1]
}
