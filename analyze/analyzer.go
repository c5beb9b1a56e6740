package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormtest/stormtest/internal/cpustat"
	"github.com/stormtest/stormtest/results"
)

// numKinds sizes the per-kind counters; kinds beyond it (a newer file format) count as
// KindOther.
const numKinds = int(results.KindMalformed) + 1

// Bounds on the sliding set of per-window latency histograms. Records arrive in End order
// give or take a few seconds (several generator goroutines, merged files), so histograms are
// kept open for lateSlack behind the newest window; anything later goes to the oldest open
// window.
const (
	lateSlack   = 10 * time.Second
	minOpenWins = 4
	// tailSlack bounds how far past the schedule's end the series may reach, so that a
	// corrupt End time cannot make the Analyzer allocate windows for years.
	tailSlack = time.Hour
)

// winCounts are the counters kept for every window of the run.
type winCounts struct {
	intended, offered, goodput, errors, timeouts uint64
	ends                                         uint64 // attempts that ended here, for in-flight
	wasted                                       uint64 // successes after their request's deadline
	lagged                                       uint64 // first attempts sent later than lagLimit
	kinds                                        [numKinds]uint64
	lagMax                                       time.Duration // the generator's worst lag for sends here
	machineCPU                                   float64       // busiest generator machine, 0–1; -1: no sample
	p50, p99, p999, max                          int64         // µs, set when the window's histogram closes
}

// groupWin counts one client group's traffic in one window; kept only for mixes, to say which
// group sustained a storm.
type groupWin struct{ intended, offered uint64 }

type phaseAcc struct {
	intended, offered, goodput, errors uint64
	kinds                              [numKinds]uint64
	lat                                *hdr.Histogram
}

type groupAcc struct {
	requests, attempts uint64
	lat                *hdr.Histogram
}

// Analyzer accumulates attempt records of one run. It is a results.Sink: an attack writes
// into it directly (capacity's probes) and results.Copy feeds it a recorded run (Files).
// Begin it with the header (New does), feed it with Write or Add, End it with the trailer
// when the stream has one, then call Report (or Finish) once. It is not safe for concurrent
// use: the one goroutine driving the Sink calls it.
type Analyzer struct {
	h      results.Header
	opt    Options
	start  int64 // Unix ns of window 0
	window int64 // ns
	maxWin int   // windows beyond this are folded into the last one
	slo    time.Duration
	// deadlines are the client groups' request deadlines (0: none): a success that ends
	// after its request's deadline is wasted work, done for a user who had given up.
	deadlines []time.Duration
	// lagLimit: a first attempt sent this late may miss the SLO from the generator's lag
	// alone (half the SLO, or half the longest timeout without one).
	lagLimit time.Duration

	wins []winCounts
	// groupWins[w][g] splits window w's traffic by client group (mixes only).
	groupWins [][]groupWin

	// ring holds the latency histograms of windows lo..hi (by End time); window w lives in
	// ring[w%len(ring)].
	ring   []*hdr.Histogram
	lo, hi int

	phases []phaseAcc
	groups []groupAcc
	all    *hdr.Histogram // attempt latency from the intended start
	svc    *hdr.Histogram // service time
	lag    *hdr.Histogram // generator lag

	kinds [numKinds]uint64
	// failCodes counts failed attempts by HTTP status (those of an HTTP failure kind whose
	// status agrees with it), so that a report can say "HTTP 503" rather than "5xx". An
	// array, not a map, so that Add does not allocate.
	failCodes                                      [600]uint64
	requests, attempts, successes, goodput, wasted uint64
	firstIntended, lastEnd                         int64
	seen                                           bool

	late, early, clipped, badPhase, badGroup uint64

	liveHists int      // histograms allocated; bounded, whatever the number of records
	warnings  []string // added before Finish (Files: per-file problems)
	// trailerPartial: the trailer passed to Finish covers only some of the files, so its
	// counts are not compared with what was read.
	trailerPartial bool
	// trailer is what End received; nil when the stream ended without one (cut short).
	trailer *results.Trailer

	// The target's metrics (target.go): series by endpoint and name{labels}, in the order
	// first scraped, and each endpoint's scrape counts.
	target        map[string]*targetAcc
	targetOrder   []string
	targetDropped int
	scrapeStats   map[string]*scrapeAcc
	scrapeOrder   []string
}

// New prepares an Analyzer for a run with header h: NewAnalyzer and Begin in one.
func New(h results.Header, opt Options) *Analyzer {
	a := NewAnalyzer(opt)
	a.begin(h)
	return a
}

// NewAnalyzer returns an Analyzer that waits for its header: the Sink to hand an attack or
// results.Copy, which call Begin.
func NewAnalyzer(opt Options) *Analyzer {
	return &Analyzer{opt: opt.safe()} // bounded, whoever calls: a 1ns window would exhaust memory
}

// Begin implements results.Sink: it sizes the analysis for the run h describes.
func (a *Analyzer) Begin(h results.Header) error {
	if a.ring != nil {
		return fmt.Errorf("analyze: Begin called twice")
	}
	a.begin(h)
	return nil
}

// Write implements results.Sink: it is Add, which cannot fail.
func (a *Analyzer) Write(r *results.Record) error {
	a.Add(r)
	return nil
}

// End implements results.Sink: it keeps the trailer for Report, and the generator's CPU
// samples it carries.
func (a *Analyzer) End(t results.Trailer) error {
	a.trailer = &t
	a.AddCPU("", t.CPU)
	return nil
}

// Report closes the analysis of a stream driven through the Sink methods and builds the
// report: Finish with the trailer End received (none if End was not called). damage is what
// results.Copy returned as damage, nil when the stream read cleanly.
func (a *Analyzer) Report(damage error) *Report {
	return a.Finish(a.trailer, damage)
}

func (a *Analyzer) begin(h results.Header) {
	opt := a.opt
	a.h = h
	a.start = h.Start.UnixNano()
	a.window = int64(opt.Window)
	a.slo = time.Duration(h.Profile.SLO.Latency)
	a.hi = -1
	var scheduled time.Duration
	for _, p := range h.Profile.Phases {
		scheduled += p.Length()
	}
	planned := int((scheduled + opt.Window - 1) / opt.Window)
	a.maxWin = planned + int(tailSlack/opt.Window) + 1
	// Room for the schedule plus a drain tail, so that Add does not reallocate in a normal run.
	a.wins = make([]winCounts, 0, planned+int(lateSlack/opt.Window)+minOpenWins)

	open := max(minOpenWins, int(lateSlack/opt.Window)+2)
	a.ring = make([]*hdr.Histogram, open)
	for i := range a.ring {
		a.ring[i] = a.newHist()
	}
	for _, g := range h.Profile.Groups() {
		a.deadlines = append(a.deadlines, time.Duration(g.Deadline))
	}
	a.lagLimit = a.slo / 2
	if a.lagLimit <= 0 {
		a.lagLimit = a.h.Profile.LongestTimeout() / 2
	}
	a.phases = make([]phaseAcc, max(1, len(h.Profile.Phases)))
	for i := range a.phases {
		a.phases[i].lat = a.newHist()
	}
	a.groups = make([]groupAcc, max(1, len(h.Groups)))
	for i := range a.groups {
		a.groups[i].lat = a.newHist()
	}
	a.all, a.svc, a.lag = a.newHist(), a.newHist(), a.newHist()
}

// Add accounts one attempt. It does not allocate (beyond the window counters' occasional
// growth past the planned schedule) and keeps no reference to r.
func (a *Analyzer) Add(r *results.Record) {
	first := r.Attempt <= 1
	end := r.End()
	iw := a.index(r.Intended)
	sw := a.index(r.Intended + int64(r.SendLag))
	ew := a.index(end)
	a.grow(max(iw, sw, ew))

	ph := a.phase(r.Phase)
	g := a.group(r.Group)
	kind := r.Kind
	if int(kind) >= numKinds {
		kind = results.KindOther
	}

	a.attempts++
	g.attempts++
	ph.offered++
	a.wins[sw].offered++
	if a.groupWins != nil && int(r.Group) < len(a.groups) {
		a.groupWins[sw][r.Group].offered++
		if first {
			a.groupWins[iw][r.Group].intended++
		}
	}
	a.wins[ew].ends++
	if r.SendLag > a.wins[sw].lagMax {
		a.wins[sw].lagMax = r.SendLag
	}
	if first {
		a.requests++
		g.requests++
		ph.intended++
		a.wins[iw].intended++
		if a.lagLimit > 0 && r.SendLag > a.lagLimit {
			a.wins[iw].lagged++
		}
		if !a.seen || r.Intended < a.firstIntended {
			a.firstIntended = r.Intended
		}
	}
	a.kinds[kind]++
	if r.OK() {
		a.successes++
		if int(r.Group) < len(a.deadlines) {
			if d := a.deadlines[r.Group]; d > 0 && r.RequestLatency() > d {
				a.wasted++
				a.wins[ew].wasted++
			}
		}
		if a.slo <= 0 || r.RequestLatency() <= a.slo {
			a.goodput++
			ph.goodput++
			a.wins[ew].goodput++
		}
	} else {
		ph.errors++
		ph.kinds[kind]++
		if codeKind(r.Code) == kind {
			a.failCodes[r.Code]++
		}
		a.wins[ew].errors++
		a.wins[ew].kinds[kind]++
		if kind == results.KindTimeout {
			a.wins[ew].timeouts++
		}
	}
	if !a.seen || end > a.lastEnd {
		a.lastEnd = end
	}
	a.seen = true

	lat := micros(r.Latency())
	record(a.windowHist(ew), lat)
	record(ph.lat, lat)
	record(g.lat, lat)
	record(a.all, lat)
	record(a.svc, micros(r.ServiceTime))
	record(a.lag, micros(r.SendLag))
}

// index is the window holding Unix-ns time t, clamped to the series' bounds.
func (a *Analyzer) index(t int64) int {
	d := t - a.start
	if d < 0 {
		a.early++
		return 0
	}
	w := d / a.window
	if w >= int64(a.maxWin) {
		a.clipped++
		return a.maxWin - 1
	}
	return int(w)
}

// grow makes window w exist.
func (a *Analyzer) grow(w int) {
	for len(a.wins) <= w {
		a.wins = append(a.wins, winCounts{machineCPU: -1})
		if len(a.groups) > 1 {
			a.groupWins = append(a.groupWins, make([]groupWin, len(a.groups)))
		}
	}
}

// cpuSaturated is the busy fraction at which a generator machine counts as saturated: above
// it, goroutines wait for a CPU and attempts leave late.
const cpuSaturated = 0.9

// AddCPU takes the CPU samples of one generator machine (a results trailer's), to show them
// per window and to warn when the machine, not the target, may have been the bottleneck.
// Call it after the records are added; source names the file in the warning.
func (a *Analyzer) AddCPU(source string, samples []cpustat.Sample) {
	saturated, known := 0, 0
	for _, smp := range samples {
		if smp.Machine < 0 {
			continue
		}
		known++
		if smp.Machine >= cpuSaturated {
			saturated++
		}
		// A sample covers the second before its time stamp.
		w := int((time.Duration(smp.T*float64(time.Second)) - 1) / time.Duration(a.window))
		if w >= 0 && w < len(a.wins) {
			a.wins[w].machineCPU = max(a.wins[w].machineCPU, smp.Machine)
		}
	}
	if saturated >= 2 && float64(saturated) >= 0.1*float64(known) {
		a.warnings = append(a.warnings, fmt.Sprintf("the generator machine%s was CPU-saturated (≥ %.0f%% busy) for %d of %d s: "+
			"the generator, not the target, may have been the bottleneck; give it more cores or split the load over more generators",
			sourceSuffix(source), cpuSaturated*100, saturated, known))
	}
}

func sourceSuffix(source string) string {
	if source == "" {
		return ""
	}
	return " (" + source + ")"
}

func (a *Analyzer) phase(i uint8) *phaseAcc {
	if int(i) >= len(a.phases) {
		a.badPhase++
		return &a.phases[len(a.phases)-1]
	}
	return &a.phases[i]
}

func (a *Analyzer) group(i uint8) *groupAcc {
	if int(i) >= len(a.groups) {
		a.badGroup++
		return &a.groups[len(a.groups)-1]
	}
	return &a.groups[i]
}

// windowHist returns the open histogram for window w, sliding the open set forward (and
// closing windows that fall out of it) when w is newer than any seen so far. A window older
// than the open set is too late to have its own histogram: it goes to the oldest open one.
func (a *Analyzer) windowHist(w int) *hdr.Histogram {
	n := len(a.ring)
	switch {
	case a.hi < 0:
		a.lo, a.hi = max(0, w-n+1), w
	case w > a.hi:
		newLo := w - n + 1
		for j := a.lo; j < newLo && j <= a.hi; j++ {
			a.closeWindow(j)
		}
		a.lo, a.hi = max(a.lo, newLo), w
	case w < a.lo:
		a.late++
		w = a.lo
	}
	return a.ring[w%n]
}

// closeWindow stores window j's percentiles and clears its histogram for reuse.
func (a *Analyzer) closeWindow(j int) {
	h := a.ring[j%len(a.ring)]
	if h.TotalCount() > 0 {
		c := &a.wins[j]
		c.p50, c.p99, c.p999, c.max = h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.ValueAtQuantile(99.9), h.Max()
		h.Reset()
	}
}

// closeAll closes every open window; Finish calls it.
func (a *Analyzer) closeAll() {
	for j := a.lo; j <= a.hi; j++ {
		a.closeWindow(j)
	}
	a.lo, a.hi = 0, -1
}

// codeKind is the HTTP failure kind of an HTTP status, KindOK for a status that is not one
// (or none).
func codeKind(code uint16) results.Kind {
	switch {
	case code == 429:
		return results.Kind429
	case code >= 400 && code < 500:
		return results.Kind4xx
	case code >= 500 && code < 600:
		return results.Kind5xx
	case code >= 300 && code < 400 && code != 304:
		return results.Kind3xx
	}
	return results.KindOK
}

// kindLabels name the failure kinds for people; HTTP kinds are named by status when known.
var kindLabels = map[results.Kind]string{
	results.KindTimeout:   "timeout",
	results.KindRefused:   "connection refused",
	results.KindReset:     "connection reset",
	results.Kind5xx:       "HTTP 5xx",
	results.Kind429:       "HTTP 429",
	results.Kind4xx:       "HTTP 4xx",
	results.KindOther:     "other error",
	results.Kind3xx:       "redirect not followed",
	results.KindTooLarge:  "body over the size cap",
	results.KindMalformed: "malformed response",
}

// failures lists the run's failed attempts by kind, and HTTP failures by status, most
// frequent first (ties by label, so the order is deterministic).
func (a *Analyzer) failures() []Failure {
	out := []Failure{}
	for k := results.KindTimeout; int(k) < numKinds; k++ {
		left := a.kinds[k]
		if left == 0 {
			continue
		}
		for code := range a.failCodes {
			if n := a.failCodes[code]; n > 0 && codeKind(uint16(code)) == k {
				out = append(out, Failure{Kind: k.String(), Code: code, Label: fmt.Sprintf("HTTP %d", code), Attempts: n})
				left -= n
			}
		}
		if left > 0 {
			out = append(out, Failure{Kind: k.String(), Label: kindLabels[k], Attempts: left})
		}
	}
	slices.SortStableFunc(out, func(x, y Failure) int {
		if x.Attempts != y.Attempts {
			return cmp.Compare(y.Attempts, x.Attempts)
		}
		return strings.Compare(x.Label, y.Label)
	})
	return out
}
