package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stormtest/stormtest/results"
)

// The target's side of a run: the Prometheus series attack --scrape stored beside the
// attempts. The Analyzer keeps each series' points (counters turned into per-second rates),
// reports them per phase, and hands them to judge, which quotes them as evidence where they
// line up with the verdict. Nothing here ever changes the verdict: the target's metrics
// illustrate it, they do not decide it.

// Bounds on what the analysis keeps of the target's metrics, whatever the file holds.
const (
	// maxTargetSeries is how many series the analysis follows; the scraper keeps far fewer
	// (observe.max_series per endpoint), so only a crafted or merged file reaches it.
	maxTargetSeries = 2000
	// maxTargetPoints bounds one series' points: a day at one scrape a second.
	maxTargetPoints = 86400
)

// lineUp is how close to the goodput collapse a target series must start pinning at its
// maximum or climbing for the analysis to quote it: "within a few seconds".
const lineUpSeconds = 5.0

// maxQuoted is how many target series one evidence sentence quotes.
const maxQuoted = 4

// targetAcc is one target series as it is read.
type targetAcc struct {
	endpoint string
	series   results.Series
	t, raw   []float64 // scrape times (s since the run's start) and values as scraped
}

// scrapeAcc counts one endpoint's scrapes.
type scrapeAcc struct {
	scrapes, gaps int
	firstError    string
}

// Scrape implements results.ScrapeSink: it keeps the samples of one scrape of the target's
// metrics. A scrape continued over several blocks counts once.
func (a *Analyzer) Scrape(s *results.Scrape) error {
	ep := a.endpointName(s.Endpoint)
	acc := a.scrapeStats[ep]
	if acc == nil {
		if a.scrapeStats == nil {
			a.scrapeStats = map[string]*scrapeAcc{}
		}
		acc = &scrapeAcc{}
		a.scrapeStats[ep] = acc
		a.scrapeOrder = append(a.scrapeOrder, ep)
	}
	if !s.Continued {
		acc.scrapes++
		if s.Error != "" {
			acc.gaps++
			if acc.firstError == "" {
				acc.firstError = s.Error
			}
		}
	}
	t := float64(s.At-a.start) / 1e9
	for i := range s.Samples {
		smp := &s.Samples[i]
		key := ep + "\x00" + smp.Series.String()
		ts := a.target[key]
		if ts == nil {
			if len(a.target) >= maxTargetSeries {
				a.targetDropped++
				continue
			}
			sr := smp.Series
			sr.Name, sr.Labels = strings.Clone(sr.Name), strings.Clone(sr.Labels)
			ts = &targetAcc{endpoint: ep, series: sr}
			if a.target == nil {
				a.target = map[string]*targetAcc{}
			}
			a.target[key] = ts
			a.targetOrder = append(a.targetOrder, key)
		}
		if len(ts.t) >= maxTargetPoints {
			continue
		}
		ts.t = append(ts.t, t)
		ts.raw = append(ts.raw, smp.Value)
	}
	return nil
}

func (a *Analyzer) endpointName(i uint8) string {
	if int(i) < len(a.h.Scrape) {
		return a.h.Scrape[i]
	}
	return fmt.Sprintf("endpoint %d", i)
}

// targetSeries is one target series as judge sees it: points in time order, counters already
// rates, so the verdict stays a function of plain series.
type targetSeries struct {
	name    string // as quoted: name{labels}
	counter bool
	t, v    []float64
}

// targetInput turns the accumulated series into judge's input, in the order they were first
// scraped.
func (a *Analyzer) targetInput() []targetSeries {
	out := make([]targetSeries, 0, len(a.targetOrder))
	for _, key := range a.targetOrder {
		acc := a.target[key]
		ts := targetSeries{name: acc.series.String(), counter: acc.series.Type == results.MetricCounter}
		ts.t, ts.v = points(acc)
		out = append(out, ts)
	}
	return out
}

// points sorts a series' samples by time (merged shards may interleave) and, for a counter,
// turns them into per-second rates between consecutive scrapes, at the later one; a counter
// that went down was reset, and its new value is what it counted since.
func points(acc *targetAcc) (ts, vs []float64) {
	idx := make([]int, len(acc.t))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int { return cmp.Compare(acc.t[i], acc.t[j]) })
	if acc.series.Type != results.MetricCounter {
		for _, i := range idx {
			ts, vs = append(ts, acc.t[i]), append(vs, acc.raw[i])
		}
		return ts, vs
	}
	for k := 1; k < len(idx); k++ {
		i, j := idx[k-1], idx[k]
		dt := acc.t[j] - acc.t[i]
		if dt <= 0 {
			continue
		}
		d := acc.raw[j] - acc.raw[i]
		if d < 0 {
			d = acc.raw[j]
		}
		ts, vs = append(ts, acc.t[j]), append(vs, d/dt)
	}
	return ts, vs
}

// TargetSeries is one of the target's own metrics, scraped during the run: per phase, and
// point by point for charts.
type TargetSeries struct {
	// Endpoint is the metrics URL it was scraped from (redacted as the target is).
	Endpoint string `json:"endpoint"`
	// Series is name{labels} as PromQL selects it; Name and Labels are its parts.
	Series string `json:"series"`
	Name   string `json:"name"`
	Labels string `json:"labels"`
	// Type is gauge, counter or untyped. A counter is reported as its rate per second
	// between consecutive scrapes (Unit "/s"); the others as scraped (Unit "").
	Type   string             `json:"type"`
	Unit   string             `json:"unit"`
	Phases []TargetPhaseStats `json:"phases"`
	// Points are [t, value] pairs, t in seconds from the run's start.
	Points [][2]float64 `json:"points"`
}

// TargetPhaseStats summarise one target series over one phase; Min, Mean and Max are null
// when no scrape fell in the phase.
type TargetPhaseStats struct {
	Name    string   `json:"name"`
	Samples int      `json:"samples"`
	Min     *float64 `json:"min"`
	Mean    *float64 `json:"mean"`
	Max     *float64 `json:"max"`
}

// TargetScrapes counts one endpoint's scrapes and gaps (failed scrapes).
type TargetScrapes struct {
	Endpoint   string `json:"endpoint"`
	Scrapes    int    `json:"scrapes"`
	Gaps       int    `json:"gaps"`
	FirstError string `json:"first_error,omitempty"`
}

// targetReport builds the report's target sections from the series judge saw.
func (a *Analyzer) targetReport(in []targetSeries, spans []span) ([]TargetSeries, []TargetScrapes) {
	series := make([]TargetSeries, 0, len(in))
	for i, key := range a.targetOrder {
		acc, ts := a.target[key], in[i]
		out := TargetSeries{Endpoint: acc.endpoint, Series: acc.series.String(), Name: acc.series.Name, Labels: acc.series.Labels,
			Type: acc.series.Type.String(), Points: make([][2]float64, 0, len(ts.t))}
		if ts.counter {
			out.Unit = "/s"
		}
		for k := range ts.t {
			out.Points = append(out.Points, [2]float64{ts.t[k], finite(ts.v[k])})
		}
		for _, sp := range spans {
			ps := TargetPhaseStats{Name: sp.name}
			lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
			for k, t := range ts.t {
				if t < sp.start.Seconds() || t >= sp.end.Seconds() || math.IsNaN(ts.v[k]) || math.IsInf(ts.v[k], 0) {
					continue
				}
				ps.Samples++
				lo, hi, sum = min(lo, ts.v[k]), max(hi, ts.v[k]), sum+ts.v[k]
			}
			if ps.Samples > 0 {
				mean := sum / float64(ps.Samples)
				ps.Min, ps.Mean, ps.Max = &lo, &mean, &hi
			}
			out.Phases = append(out.Phases, ps)
		}
		series = append(series, out)
	}
	scrapes := make([]TargetScrapes, 0, len(a.scrapeOrder))
	for _, ep := range a.scrapeOrder {
		s := a.scrapeStats[ep]
		scrapes = append(scrapes, TargetScrapes{Endpoint: ep, Scrapes: s.scrapes, Gaps: s.gaps, FirstError: s.firstError})
	}
	return series, scrapes
}

// finite keeps JSON encodable: NaN and ±Inf (a target may export them) become 0.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// targetWarnings say what limits the target's side: failed scrapes, what the scraper left
// out, and an endpoint that was never scraped successfully.
func (a *Analyzer) targetWarnings(t *results.Trailer) []string {
	var w []string
	for _, ep := range a.scrapeOrder {
		s := a.scrapeStats[ep]
		switch {
		case s.gaps == s.scrapes:
			w = append(w, fmt.Sprintf("target metrics: every one of the %d scrapes of %s failed (%s): the run has none of the target's side from it",
				s.scrapes, ep, s.firstError))
		case s.gaps > 0:
			w = append(w, fmt.Sprintf("target metrics: %d of %d scrapes of %s failed (first: %s); those instants are gaps in its series",
				s.gaps, s.scrapes, ep, s.firstError))
		}
	}
	for _, ep := range a.h.Scrape {
		if a.scrapeStats[ep] == nil {
			w = append(w, fmt.Sprintf("target metrics: %s was to be scraped but the results hold no scrape of it (the run ended first, or the file was cut short)", ep))
		}
	}
	if t != nil {
		w = append(w, t.ScrapeWarnings...)
	}
	if a.targetDropped > 0 {
		w = append(w, fmt.Sprintf("target metrics: %d samples of series beyond the first %d were not analysed", a.targetDropped, maxTargetSeries))
	}
	return w
}

// targetEvidence quotes the target series that line up with a collapse at window onset: a
// gauge pinned at its run maximum from at latest a few seconds after the collapse to the end
// of the run, and series that climbed steadily from a start within a few seconds of it and
// held until window holdUntil (-1: the end of the run), where the failure ended. It
// states what the target reported, next to the collapse, and claims no cause. "" when none
// lines up.
func (s series) targetEvidence(onset, holdUntil int) string {
	if len(s.target) == 0 || onset < 0 {
		return ""
	}
	at := s.dur(onset).Seconds()
	hold := math.Inf(1)
	if holdUntil >= 0 {
		hold = s.dur(holdUntil).Seconds()
	}
	type quote struct {
		text     string
		pinned   bool
		strength float64 // how much of its range the series moved, to pick the clearest
	}
	var quotes []quote
	for _, ts := range s.target {
		if len(ts.t) < 3 {
			continue
		}
		if !ts.counter {
			if from, top, ok := pinned(ts); ok && from <= at+lineUpSeconds {
				quotes = append(quotes, quote{fmt.Sprintf("`%s` was at its maximum (%s) from t=%s s to the end of the run (t=%s s)",
					ts.name, metricNum(top), secsF(from), secsF(ts.t[len(ts.t)-1])), true, 2})
				continue
			}
		}
		if c, ok := climb(ts, at, hold); ok {
			what := "`" + ts.name + "`"
			unit := ""
			if ts.counter {
				what = "the rate of `" + ts.name + "`"
				unit = "/s"
			}
			quotes = append(quotes, quote{fmt.Sprintf("%s rose from %s%s at t=%s s to %s%s at t=%s s",
				what, metricNum(c.from), unit, secsF(c.fromT), metricNum(c.to), unit, secsF(c.toT)), false, c.share})
		}
	}
	if len(quotes) == 0 {
		return ""
	}
	slices.SortStableFunc(quotes, func(x, y quote) int { return cmp.Compare(y.strength, x.strength) })
	parts := make([]string, 0, maxQuoted)
	for i, q := range quotes {
		if i == maxQuoted {
			parts[len(parts)-1] += fmt.Sprintf(" (and %d more series)", len(quotes)-maxQuoted)
			break
		}
		parts = append(parts, q.text)
	}
	return fmt.Sprintf("the target's own metrics, around the collapse at t=%s s: %s", secsF(at), strings.Join(parts, "; "))
}

// pinned finds the point from which a gauge stays at its run maximum to its last point: a
// saturation. It needs the series to have been below it before (a gauge that never moved,
// such as a pool's size, is not saturated, just constant) and the pin to hold for at least 3
// scrapes.
func pinned(ts targetSeries) (from, top float64, ok bool) {
	top = math.Inf(-1)
	for _, v := range ts.v {
		if !math.IsNaN(v) {
			top = max(top, v)
		}
	}
	if math.IsInf(top, 0) {
		return 0, 0, false
	}
	eps := 1e-9 * max(1, math.Abs(top))
	k := len(ts.v)
	for k > 0 && ts.v[k-1] >= top-eps {
		k--
	}
	if k == 0 || len(ts.v)-k < 3 {
		return 0, 0, false
	}
	return ts.t[k], top, true
}

type climbing struct {
	from, to, fromT, toT float64
	share                float64 // rise ÷ the series' whole range
}

// climb finds a steady rise that starts within lineUpSeconds of at: from the lowest point in
// that neighbourhood (the last, if it repeats), which the series must leave within it, to the
// highest point after it, with at least four in five steps on the way not going down, a rise
// of at least half the series' whole range, and the series holding above half the rise from
// the peak until hold (the end of the failure), so that noise and a passing wave are not
// called a climb.
func climb(ts targetSeries, at, hold float64) (climbing, bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range ts.v {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if !(hi > lo) {
		return climbing{}, false
	}
	start := -1
	for i, t := range ts.t {
		if t < at-lineUpSeconds || t > at+lineUpSeconds || math.IsNaN(ts.v[i]) {
			continue
		}
		if start < 0 || ts.v[i] <= ts.v[start] {
			start = i
		}
	}
	if start < 0 || start+1 >= len(ts.v) || ts.t[start+1] > at+lineUpSeconds || !(ts.v[start+1] > ts.v[start]) {
		return climbing{}, false
	}
	peak := start
	for i := start + 1; i < len(ts.v); i++ {
		if ts.v[i] > ts.v[peak] {
			peak = i
		}
	}
	if peak-start < 2 {
		return climbing{}, false
	}
	up := 0
	for i := start + 1; i <= peak; i++ {
		if ts.v[i] >= ts.v[i-1] {
			up++
		}
	}
	rise := ts.v[peak] - ts.v[start]
	if float64(up) < 0.8*float64(peak-start) || rise < 0.5*(hi-lo) {
		return climbing{}, false
	}
	for i := peak + 1; i < len(ts.v) && ts.t[i] <= hold; i++ {
		if ts.v[i] < ts.v[start]+rise/2 {
			return climbing{}, false
		}
	}
	return climbing{from: ts.v[start], to: ts.v[peak], fromT: ts.t[start], toT: ts.t[peak], share: rise / (hi - lo)}, true
}

// metricNum writes a metric's value for a sentence: whole numbers as such, others with three
// significant digits.
func metricNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// secsF writes a time in seconds to a tenth.
func secsF(t float64) string { return strconv.FormatFloat(math.Round(t*10)/10, 'f', -1, 64) }

// targetTable writes the target series per phase, "min / mean / max" in each phase's column,
// one row per series, grouped by endpoint; row is called with the cells of one line (the
// header first) and returns an error from the writer.
func (r *Report) targetTable(row func(cells []string) error) error {
	if len(r.TargetMetrics) == 0 {
		return nil
	}
	head := []string{"series"}
	for _, p := range r.Phases {
		head = append(head, p.Name)
	}
	if err := row(head); err != nil {
		return err
	}
	for _, ts := range r.TargetMetrics {
		name := ts.Series
		if ts.Unit != "" {
			name += " " + ts.Unit
		}
		cells := []string{name}
		for _, p := range ts.Phases {
			if p.Mean == nil {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, metricNum3(*p.Min)+" / "+metricNum3(*p.Mean)+" / "+metricNum3(*p.Max))
		}
		for len(cells) < len(head) {
			cells = append(cells, "-")
		}
		if err := row(cells[:len(head)]); err != nil {
			return err
		}
	}
	return nil
}

// targetSources says where the target series came from: each endpoint with its scrapes and
// gaps.
func (r *Report) targetSources() string {
	var parts []string
	for _, s := range r.TargetScrapes {
		parts = append(parts, fmt.Sprintf("%s (%d scrapes, %d failed)", s.Endpoint, s.Scrapes, s.Gaps))
	}
	return strings.Join(parts, ", ")
}

// metricNum3 writes a table cell: whole numbers below 100 000 as such, others to three
// significant digits, without an exponent between 0.001 and 100 000.
func metricNum3(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e5:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1e5 || a < 1e-3:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	decimals := max(0, 2-int(math.Floor(math.Log10(a))))
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
