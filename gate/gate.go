// Package gate checks an analysed run against thresholds, in the spirit of k6 thresholds:
// "p99<500ms", "peak:error_rate<=0.1%", "verdict!=metastable". A threshold comes from the
// command line or from the profile's gate: list, is parsed once (so a typo fails before any
// judging), and is evaluated against an analyze.Report.
//
// The package owns everything a gate decides and prints: Thresholds merges the profile's
// gate: list with the command line's, Evaluate judges them, and WriteText, WriteJSON and
// WriteJUnit render the outcome. The CLI only opens the results files, calls these and maps
// the outcome to an exit code; all of it runs on the caller's goroutine.
package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/internal/numfmt"
)

// Metric is what a threshold measures.
type Metric string

// Metrics. Latencies are attempt latencies from the intended start (so generator lag is
// included), in milliseconds; ratios are fractions of 1.
const (
	P50          Metric = "p50"
	P90          Metric = "p90"
	P99          Metric = "p99"
	P999         Metric = "p999"
	Max          Metric = "max"
	ErrorRate    Metric = "error_rate"    // failed attempts / attempts
	GoodputRatio Metric = "goodput_ratio" // goodput / intended requests
	Amplify      Metric = "amplification" // attempts / requests
	GoodputRPS   Metric = "goodput_rps"
	IntendedRPS  Metric = "intended_rps"
	Verdict      Metric = "verdict"
)

// Metrics lists every metric, in the order messages and documentation name them.
func Metrics() []Metric {
	return []Metric{P50, P90, P99, P999, Max, ErrorRate, GoodputRatio, Amplify, GoodputRPS, IntendedRPS, Verdict}
}

func (m Metric) latency() bool { return m == P50 || m == P90 || m == P99 || m == P999 || m == Max }
func (m Metric) ratio() bool   { return m == ErrorRate || m == GoodputRatio }

// Op is a comparison operator.
type Op string

// Operators.
const (
	LT Op = "<"
	LE Op = "<="
	GT Op = ">"
	GE Op = ">="
	EQ Op = "=="
	NE Op = "!="
)

// Threshold is one parsed expression: [phase:]metric OP value.
type Threshold struct {
	// Expr is the expression as written, for messages and reports.
	Expr string
	// Phase scopes the threshold to one profile phase; empty means the whole run.
	Phase  string
	Metric Metric
	Op     Op
	// Value is the bound in the metric's base unit: milliseconds for latencies, a fraction
	// for ratios, requests per second for rates, a plain number for amplification.
	Value float64
	// Verdict is the bound of a verdict threshold (Value is unused then).
	Verdict string
}

// Parse reads one threshold. Its error is one line that quotes the expression and says what
// was expected.
func Parse(expr string) (Threshold, error) {
	th := Threshold{Expr: strings.TrimSpace(expr)}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("threshold %q: %s", expr, fmt.Sprintf(format, a...))
	}
	i := strings.IndexAny(th.Expr, "<>=!")
	if i < 0 {
		return th, bad("no operator (expected [phase:]metric OP value, OP one of <, <=, >, >=, ==, !=; e.g. p99<500ms)")
	}
	lhs, rest := strings.TrimSpace(th.Expr[:i]), th.Expr[i:]
	switch {
	case strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, ">="), strings.HasPrefix(rest, "=="), strings.HasPrefix(rest, "!="):
		th.Op, rest = Op(rest[:2]), rest[2:]
	case rest[0] == '<' || rest[0] == '>':
		th.Op, rest = Op(rest[:1]), rest[1:]
	default:
		return th, bad("bad operator at %q (expected one of <, <=, >, >=, ==, !=)", rest)
	}
	rhs := strings.TrimSpace(rest)
	if strings.ContainsAny(rhs, "<>=!") {
		return th, bad("more than one operator (expected [phase:]metric OP value)")
	}
	// Metric names hold no colon, so the last one separates a phase name (which might).
	if j := strings.LastIndex(lhs, ":"); j >= 0 {
		th.Phase = strings.TrimSpace(lhs[:j])
		lhs = strings.TrimSpace(lhs[j+1:])
		if th.Phase == "" {
			return th, bad("empty phase name before ':' (expected phase:metric, e.g. peak:p99<500ms)")
		}
	}
	th.Metric = Metric(lhs)
	if !knownMetric(th.Metric) {
		ms := Metrics()
		names := make([]string, len(ms))
		for k, m := range ms {
			names[k] = string(m)
		}
		return th, bad("unknown metric %q (expected one of %s)", lhs, strings.Join(names, ", "))
	}
	if th.Metric == P90 && th.Phase != "" {
		// The analysis keeps p90 for the whole run only.
		return th, bad("p90 is reported for the whole run only (expected p50, p99, p999 or max with a phase)")
	}
	if rhs == "" {
		return th, bad("no value after %s", th.Op)
	}
	var err error
	switch {
	case th.Metric == Verdict:
		if th.Op != EQ && th.Op != NE {
			return th, bad("verdict takes == or != (got %s)", th.Op)
		}
		if !slices.Contains(verdicts, rhs) {
			return th, bad("unknown verdict %q (expected %s, %s, %s, %s or %s)", rhs, analyze.Stable, analyze.Overloaded,
				analyze.Metastable, analyze.Down, analyze.Inconclusive)
		}
		th.Verdict = rhs
		return th, nil
	case th.Metric.latency():
		th.Value, err = parseLatency(rhs)
	case th.Metric.ratio():
		th.Value, err = parseRatio(rhs)
	default:
		th.Value, err = parseNumber(rhs)
	}
	if err != nil {
		return th, bad("%v", err)
	}
	return th, nil
}

// Thresholds merges the thresholds of a run: first the gate: list of the profile named
// profile (recorded in the results file's header, carried by the analysis as Report.Gate),
// then the command line's --threshold expressions; both are checked.
// The first bad expression is the error, naming where it came from; no thresholds at all is
// an error too, since a gate that checks nothing cannot pass honestly.
func Thresholds(profile string, list, flags []string) ([]Threshold, error) {
	var ths []Threshold
	for i, expr := range list {
		th, err := Parse(expr)
		if err != nil {
			return nil, fmt.Errorf("profile %s gate[%d]: %w", profile, i, err)
		}
		ths = append(ths, th)
	}
	for _, expr := range flags {
		th, err := Parse(expr)
		if err != nil {
			return nil, fmt.Errorf("--threshold: %w", err)
		}
		ths = append(ths, th)
	}
	if len(ths) == 0 {
		return nil, fmt.Errorf("no thresholds: give --threshold EXPR or list them under gate: in the profile (%s has none)", profile)
	}
	return ths, nil
}

// verdicts are the values a verdict threshold may name.
var verdicts = []string{analyze.Stable, analyze.Overloaded, analyze.Metastable, analyze.Down, analyze.Inconclusive}

// ParseAll parses every expression; the first bad one is the error.
func ParseAll(exprs []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(exprs))
	for _, e := range exprs {
		th, err := Parse(e)
		if err != nil {
			return nil, err
		}
		out = append(out, th)
	}
	return out, nil
}

func knownMetric(m Metric) bool {
	return slices.Contains(Metrics(), m)
}

// parseLatency insists on a unit: "500" could be milliseconds or seconds, and guessing
// wrong would make a gate that never fails.
func parseLatency(s string) (float64, error) {
	const expected = "expected a latency with a unit, such as 300ms or 1.5s"
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("%q has no unit (%s)", s, expected)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a latency (%s)", s, expected)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative (%s)", s, expected)
	}
	return float64(d) / float64(time.Millisecond), nil
}

// parseRatio reads "0.001" or "0.1%"; a bare number above 1 is refused rather than read as a
// percentage, since "error_rate<5" is ambiguous.
func parseRatio(s string) (float64, error) {
	const expected = "expected a fraction from 0 to 1 such as 0.001, or a percentage such as 0.1%"
	pct := strings.HasSuffix(s, "%")
	num := strings.TrimSpace(strings.TrimSuffix(s, "%"))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a ratio (%s)", s, expected)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("%q is outside 0–1 (%s)", s, expected)
	}
	return v, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number (expected a plain number such as 1.5 or 400)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative (expected a number of at least 0)", s)
	}
	return v, nil
}

// String is the threshold in a canonical form that Parse reads back to the same threshold:
// latencies in milliseconds, ratios as fractions, exactly.
func (t Threshold) String() string {
	var b strings.Builder
	if t.Phase != "" {
		b.WriteString(t.Phase + ":")
	}
	b.WriteString(string(t.Metric))
	b.WriteString(string(t.Op))
	switch {
	case t.Metric == Verdict:
		b.WriteString(t.Verdict)
	case t.Metric.latency():
		b.WriteString(latencyString(t.Value))
	default:
		b.WriteString(strconv.FormatFloat(t.Value, 'f', -1, 64))
	}
	return b.String()
}

// latencyString writes a latency bound (milliseconds, as parseLatency computes them from a
// duration) as an exact decimal number of milliseconds that parseLatency reads back to the
// same float. Printing the float itself is not enough: past 2^53 ns (about 104 days) the
// shortest decimal of the float denotes a different duration, whose float differs (found
// by FuzzParse). So the duration behind the float is recovered and printed to the ns.
func latencyString(ms float64) string {
	back := func(d int64) bool { return float64(d)/float64(time.Millisecond) == ms }
	if guess := ms * float64(time.Millisecond); guess >= 0 && guess < math.MaxInt64 {
		d0 := int64(math.Round(guess))
		// The float of a duration near MaxInt64 has an ulp of 2048 ns, and the division
		// rounds once more: the duration is within a few ulps of the guess.
		for k := int64(0); k <= 1<<14; k++ {
			for _, d := range []int64{d0 - k, d0 + k} {
				if d >= 0 && d <= math.MaxInt64-k && back(d) {
					return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%d.%06d", d/1e6, d%1e6), "0"), ".") + "ms"
				}
			}
		}
	}
	return strconv.FormatFloat(ms, 'f', -1, 64) + "ms" // not from a duration: print it as it is
}

// Result is one threshold checked against one report.
type Result struct {
	Threshold Threshold
	// Observed is the measured value in the metric's base unit; NaN when it is undefined
	// (no attempts, no requests) or could not be found. ObservedText is it with its unit
	// (or the verdict name).
	Observed     float64
	ObservedText string
	Pass         bool
	// Err says why the threshold could not be evaluated on this report (an unknown phase):
	// such a threshold fails, so a gate can never pass by not looking.
	Err error
}

// Message is one line for a report: the expression, what was observed, and the outcome.
func (r Result) Message() string {
	if r.Err != nil {
		return fmt.Sprintf("%s: %v", r.Threshold.Expr, r.Err)
	}
	state := "passed"
	if !r.Pass {
		state = "failed"
	}
	return fmt.Sprintf("%s %s: %s was %s", r.Threshold.Expr, state, r.Threshold.Metric, r.ObservedText)
}

// ErrUnknownPhase is wrapped by the error for a threshold scoped to a phase the run did
// not have.
var ErrUnknownPhase = errors.New("unknown phase")

// Validate checks that every threshold can be evaluated on rep: each scoped phase exists.
// The error names the phases that do.
func Validate(rep *analyze.Report, thresholds []Threshold) error {
	for _, th := range thresholds {
		if _, err := phaseOf(rep, th); err != nil {
			return fmt.Errorf("threshold %q: %w", th.Expr, err)
		}
	}
	return nil
}

func phaseOf(rep *analyze.Report, th Threshold) (*analyze.PhaseStats, error) {
	if th.Phase == "" {
		return nil, nil
	}
	names := make([]string, len(rep.Phases))
	for i := range rep.Phases {
		if rep.Phases[i].Name == th.Phase {
			return &rep.Phases[i], nil
		}
		names[i] = rep.Phases[i].Name
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w %q: the run has no phases", ErrUnknownPhase, th.Phase)
	}
	return nil, fmt.Errorf("%w %q (the run's phases: %s)", ErrUnknownPhase, th.Phase, strings.Join(names, ", "))
}

// Evaluate checks every threshold against rep, in order. A threshold whose phase the run did
// not have fails with Err set (call Validate first to refuse it as bad input). A verdict
// threshold fails on a run judged down or inconclusive unless it names that verdict itself
// (EvaluateAllowing relaxes this).
func Evaluate(rep *analyze.Report, thresholds []Threshold) []Result {
	return EvaluateAllowing(rep, thresholds, Allow{})
}

// Allow lists the verdicts without evidence that a verdict threshold may judge like any
// other. By default a run judged down or inconclusive fails every verdict threshold, whatever
// its operator: "verdict!=metastable" passing on a run too thin to show a collapse, or on a
// dead service, would be a gate that passes by not looking (issue 11).
type Allow struct {
	Down         bool // --allow-down
	Inconclusive bool // --allow-inconclusive
}

func (a Allow) allows(verdict string) bool {
	switch verdict {
	case analyze.Down:
		return a.Down
	case analyze.Inconclusive:
		return a.Inconclusive
	}
	return true
}

// EvaluateAllowing is Evaluate with allowances for verdicts without evidence.
func EvaluateAllowing(rep *analyze.Report, thresholds []Threshold, allow Allow) []Result {
	out := make([]Result, 0, len(thresholds))
	for _, th := range thresholds {
		out = append(out, evaluate(rep, th, allow))
	}
	return out
}

func evaluate(rep *analyze.Report, th Threshold, allow Allow) Result {
	res := Result{Threshold: th, Observed: math.NaN()}
	ph, err := phaseOf(rep, th)
	if err != nil {
		res.Err, res.ObservedText = err, "n/a"
		return res
	}
	if th.Metric == Verdict {
		res.ObservedText = rep.Verdict
		res.Pass = (rep.Verdict == th.Verdict) == (th.Op == EQ)
		// "verdict==down" names the verdict, and is allowance enough.
		named := th.Op == EQ && th.Verdict == rep.Verdict
		if !allow.allows(rep.Verdict) && !named {
			res.Pass = false
			res.ObservedText = rep.Verdict + " (" + withoutEvidence(rep) + ")"
		}
		return res
	}
	res.Observed = observe(rep, ph, th.Metric)
	if math.IsNaN(res.Observed) {
		// Nothing to measure (no attempts, no requests): a gate must not pass on an empty run.
		res.ObservedText = "n/a (nothing measured)"
		return res
	}
	res.Pass = compare(res.Observed, th.Op, th.Value)
	res.ObservedText = explain(th.Metric, res.Observed, th.Op, th.Value, res.Pass)
	return res
}

// withoutEvidence says why a down or inconclusive run fails a verdict threshold, with the
// analysis' reason and the flag that allows it.
func withoutEvidence(rep *analyze.Report) string {
	s := "a verdict threshold fails on a run judged " + rep.Verdict
	if len(rep.Evidence) > 0 {
		s += ": " + rep.Evidence[0]
	}
	return s + "; pass --allow-" + rep.Verdict + " to judge it like any other verdict"
}

// observe reads the metric from the phase, or from the whole run when ph is nil.
func observe(rep *analyze.Report, ph *analyze.PhaseStats, m Metric) float64 {
	if ph != nil {
		switch m {
		case P50:
			return ph.P50
		case P99:
			return ph.P99
		case P999:
			return ph.P999
		case Max:
			return ph.Max
		case ErrorRate:
			// Both rates are per second of the same phase, so their ratio is failed
			// attempts over attempts.
			return ratio(ph.ErrorRPS, ph.OfferedRPS)
		case GoodputRatio:
			return ratio(ph.GoodputRPS, ph.IntendedRPS)
		case Amplify:
			return ratio(ph.OfferedRPS, ph.IntendedRPS)
		case GoodputRPS:
			return ph.GoodputRPS
		case IntendedRPS:
			return ph.IntendedRPS
		}
		return math.NaN()
	}
	switch m {
	case P50:
		return rep.Latency.P50
	case P90:
		return rep.Latency.P90
	case P99:
		return rep.Latency.P99
	case P999:
		return rep.Latency.P999
	case Max:
		return rep.Latency.Max
	case ErrorRate:
		var failed uint64
		for _, n := range rep.Errors {
			failed += n
		}
		return ratio(float64(failed), float64(rep.Attempts))
	case GoodputRatio:
		return ratio(float64(rep.Goodput), float64(rep.Requests))
	case Amplify:
		return ratio(float64(rep.Attempts), float64(rep.Requests))
	case GoodputRPS:
		return ratio(float64(rep.Goodput), scheduledSeconds(rep))
	case IntendedRPS:
		return ratio(float64(rep.Requests), scheduledSeconds(rep))
	}
	return math.NaN()
}

// scheduledSeconds is how long the profile's phases ran: whole-run rates are per second of
// the schedule, as phase rates are, so that the drain after the last phase does not dilute
// them. Without phases it is the run's duration.
func scheduledSeconds(rep *analyze.Report) float64 {
	if n := len(rep.Phases); n > 0 {
		return rep.Phases[n-1].EndSeconds - rep.Phases[0].StartSeconds
	}
	return rep.DurationSeconds
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}

// compare treats values within one part in 10⁹ as equal, so that a bound written as 0.1%
// and a rate measured as 1/1000 meet at the boundary despite floating-point rounding.
func compare(x float64, op Op, bound float64) bool {
	eq := math.Abs(x-bound) <= 1e-9*math.Max(math.Abs(x), math.Abs(bound))
	switch op {
	case LT:
		return x < bound && !eq
	case LE:
		return x < bound || eq
	case GT:
		return x > bound && !eq
	case GE:
		return x > bound || eq
	case EQ:
		return eq
	case NE:
		return !eq
	}
	return false
}

// format writes a value of the metric with its unit; extra adds decimals.
func format(m Metric, v float64, extra int) string {
	switch {
	case m.latency():
		return formatMs(v, extra)
	case m.ratio():
		return numfmt.Trim(v*100, 3+extra) + "%"
	case m == Amplify:
		return numfmt.Trim(v, 3+extra) + "x"
	case m == GoodputRPS || m == IntendedRPS:
		return numfmt.Trim(v, 1+extra) + "/s"
	}
	return numfmt.Trim(v, 3+extra)
}

// explain formats an observed value with as many decimals as it takes for the text to
// agree with the outcome: HDR histograms report 40 ms as 40.02 ms, and "p50<=40ms failed:
// p50 was 40ms" would read as a bug.
func explain(m Metric, v float64, op Op, bound float64, pass bool) string {
	for extra := 0; ; extra++ {
		s := format(m, v, extra)
		if extra >= 6 || compare(reparse(m, s), op, bound) == pass {
			return s
		}
	}
}

// reparse reads back a value written by format, in the metric's base unit.
func reparse(m Metric, s string) float64 {
	var v float64
	var err error
	switch {
	case m.latency():
		v, err = parseLatency(s)
	case m.ratio():
		v, err = parseRatio(s)
	default:
		v, err = strconv.ParseFloat(strings.TrimRight(s, "x/s"), 64)
	}
	if err != nil {
		return math.NaN()
	}
	return v
}

// formatMs writes a latency in milliseconds as "412.5ms" or, from a second on, "1.52s".
func formatMs(ms float64, extra int) string {
	switch {
	case ms >= 1000:
		return numfmt.Trim(ms/1000, 3+extra) + "s"
	case ms < 10:
		return numfmt.Trim(ms, 2+extra) + "ms"
	}
	return numfmt.Trim(ms, 1+extra) + "ms"
}
