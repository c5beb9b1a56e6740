package capacity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// Config tunes a search. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Step is the length of one constant-rate step of the knee search.
	Step time.Duration
	// StartRate is the first step's rate; steps double from it until one fails.
	StartRate float64
	// MaxRate caps the doubling: a target that passes it has a knee of at least MaxRate.
	MaxRate float64
	// Precision ends the bisection once (first bad − last good) ≤ Precision × last good.
	Precision float64
	// Repeats is how many times the final bracket is bisected (the first search included);
	// the spread of their knees is the knee's interval.
	Repeats int
	// Knee, when > 0, is a known knee in requests/s: the knee search is skipped.
	Knee float64

	// Tolerance: a step passes when goodput ≥ (1 − Tolerance) × intended.
	Tolerance float64
	// P99 is the latency a step's p99 must stay within (the SLO's p99 threshold).
	P99 time.Duration
	// MaxErrorRate is the share of failed attempts a step may have and pass.
	MaxErrorRate float64

	// BaselineFraction places the tipping map's baseline load at this fraction of the knee.
	BaselineFraction float64
	// Durations are the surge durations the map is measured at.
	Durations []time.Duration
	// SizeMin and SizeMax bound the surge sizes tried (multiples of the baseline).
	SizeMin, SizeMax float64
	// SizePrecision ends a duration's bisection once tipping ÷ recovering ≤ 1 + SizePrecision.
	SizePrecision float64
	// Policies are the client retry policies mapped, one map each (see PolicyNames); none
	// skips the map.
	Policies []string
	// Warm is the baseline before a surge; Grace the baseline after it, which must last for
	// the target to be judged metastable (analyze's grace).
	Warm, Grace time.Duration

	// SettleProbe is the length of one settle probe at the baseline; SettlePause the quiet
	// time between two; SettleTimeout how long the target may take to be healthy again
	// before the search stops with ErrNotSettled.
	SettleProbe, SettlePause, SettleTimeout time.Duration
	// Budget bounds the time this search spends; it stops early, with what it found, when
	// the next probe would not fit.
	Budget time.Duration
	// ClientTimeout is the clients' attempt timeout: what a probe may run over its schedule.
	ClientTimeout time.Duration

	// Trigger, when TriggerCapacityDrop, maps capacity losses instead of surges: for each
	// baseline (BaselineFractions of the knee), policy and duration, the cut of the target's
	// capacity (a fraction in (0, 1)) beyond which it does not recover, bisected between
	// CutMin and CutMax to CutPrecision. The cut is made by the prober's trigger calls.
	Trigger string
	// BaselineFractions are the baselines of a capacity-drop map, as fractions of the knee;
	// empty: BaselineFraction alone.
	BaselineFractions []float64
	// CutMin and CutMax bound the cuts tried; CutPrecision ends a bisection once the cut
	// that tipped and the one that recovered are this close.
	CutMin, CutMax, CutPrecision float64
}

// DefaultConfig is what `stormtest capacity` uses unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Step:             5 * time.Second,
		StartRate:        10,
		MaxRate:          100000,
		Precision:        0.05,
		Repeats:          3,
		Tolerance:        0.10,
		P99:              500 * time.Millisecond,
		MaxErrorRate:     0.01,
		BaselineFraction: 0.5,
		Durations:        []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second},
		SizeMin:          1.2,
		SizeMax:          6,
		SizePrecision:    0.15,
		Policies:         []string{PolicyProfile},
		Warm:             5 * time.Second,
		Grace:            10 * time.Second,
		SettleProbe:      2 * time.Second,
		SettlePause:      time.Second,
		SettleTimeout:    60 * time.Second,
		Budget:           10 * time.Minute,
		ClientTimeout:    time.Second,
		CutMin:           0.2,
		CutMax:           0.95,
		CutPrecision:     0.05,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	def := func(v *time.Duration, dv time.Duration) {
		if *v <= 0 {
			*v = dv
		}
	}
	deff := func(v *float64, dv float64) {
		if !(*v > 0) {
			*v = dv
		}
	}
	def(&c.Step, d.Step)
	def(&c.P99, d.P99)
	def(&c.Warm, d.Warm)
	def(&c.Grace, d.Grace)
	def(&c.SettleProbe, d.SettleProbe)
	def(&c.SettlePause, d.SettlePause)
	def(&c.SettleTimeout, d.SettleTimeout)
	def(&c.Budget, d.Budget)
	def(&c.ClientTimeout, d.ClientTimeout)
	deff(&c.StartRate, d.StartRate)
	deff(&c.MaxRate, d.MaxRate)
	deff(&c.Precision, d.Precision)
	deff(&c.Tolerance, d.Tolerance)
	deff(&c.BaselineFraction, d.BaselineFraction)
	deff(&c.SizeMin, d.SizeMin)
	deff(&c.SizeMax, d.SizeMax)
	deff(&c.SizePrecision, d.SizePrecision)
	deff(&c.CutMin, d.CutMin)
	deff(&c.CutMax, d.CutMax)
	deff(&c.CutPrecision, d.CutPrecision)
	if len(c.BaselineFractions) == 0 {
		c.BaselineFractions = []float64{c.BaselineFraction}
	}
	if c.Repeats < 1 {
		c.Repeats = 1
	}
	if c.MaxErrorRate < 0 {
		c.MaxErrorRate = 0
	}
	if len(c.Durations) == 0 && c.Policies != nil {
		c.Durations = d.Durations
	}
	return c
}

// Validate reports the first setting that cannot work, naming it.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Tolerance >= 1:
		return fmt.Errorf("tolerance must be below 1, got %g", c.Tolerance)
	case c.BaselineFraction >= 1:
		return fmt.Errorf("baseline fraction must be below 1, got %g", c.BaselineFraction)
	case c.SizeMin <= 1 || c.SizeMax <= c.SizeMin:
		return fmt.Errorf("surge sizes must satisfy 1 < min < max, got %g and %g", c.SizeMin, c.SizeMax)
	case c.StartRate > c.MaxRate:
		return fmt.Errorf("start rate %g is above the max rate %g", c.StartRate, c.MaxRate)
	case c.Trigger != "" && c.Trigger != TriggerCapacityDrop:
		return fmt.Errorf("unknown trigger %q (expected %s)", c.Trigger, TriggerCapacityDrop)
	case c.Trigger != "" && !(c.CutMin > 0 && c.CutMin < c.CutMax && c.CutMax < 1):
		return fmt.Errorf("capacity cuts must satisfy 0 < min < max < 1, got %g and %g", c.CutMin, c.CutMax)
	case c.Trigger != "" && c.CutPrecision >= c.CutMax-c.CutMin:
		return fmt.Errorf("cut precision %g is not below the range %g–%g it bisects", c.CutPrecision, c.CutMin, c.CutMax)
	}
	for _, f := range c.BaselineFractions {
		if !(f > 0 && f < 1) {
			return fmt.Errorf("baseline fractions must be in (0, 1), got %g", f)
		}
	}
	for _, d := range c.Durations {
		if d <= 0 {
			return fmt.Errorf("surge durations must be positive, got %s", d)
		}
	}
	for _, p := range c.Policies {
		if !slices.Contains(PolicyNames(), p) {
			return fmt.Errorf("unknown policy %q", p)
		}
	}
	return nil
}

// Result is what a search found. It is the capacity command's JSON output.
type Result struct {
	Target  string `json:"target"`
	Profile string `json:"profile"`
	// Trigger is TriggerCapacityDrop when the maps are of capacity cuts, not surges.
	Trigger string `json:"trigger,omitempty"`
	Knee    *Knee  `json:"knee"`
	// BaselineFraction and BaselineRPS are the tipping maps' baseline load.
	BaselineFraction float64 `json:"baseline_fraction"`
	BaselineRPS      float64 `json:"baseline_rps"`
	Maps             []Map   `json:"maps"`
	// Comparison has one line per surge duration comparing the policies' boundaries.
	Comparison []string `json:"comparison"`
	// Warnings say what limits trust in the figures.
	Warnings []string `json:"warnings"`
	// Complete is false when the search stopped early; Stopped says why.
	Complete bool   `json:"complete"`
	Stopped  string `json:"stopped,omitempty"`
	// ProbesRun were run this time; ProbesReused came from the state file.
	ProbesRun      int     `json:"probes_run"`
	ProbesReused   int     `json:"probes_reused"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// Knee is the highest constant rate the target serves within the SLO.
type Knee struct {
	// RPS is the median over the repeats of the highest passing rate.
	RPS float64 `json:"rps"`
	// LowRPS and HighRPS bound the knee in every repeat: the lowest passing rate that ended
	// a repeat and the highest failing one.
	LowRPS  float64 `json:"low_rps"`
	HighRPS float64 `json:"high_rps"`
	// Repeats are each bisection's final bracket.
	Repeats []Bracket `json:"repeats"`
	// AtLeast: no step failed up to the max rate, so the knee is at least RPS.
	AtLeast bool `json:"at_least"`
	// Given: the knee came from the caller (--knee), not from a search.
	Given bool `json:"given"`
	// Curve is every step, by rate: throughput against latency, the hockey stick.
	Curve []Step `json:"curve"`
}

// Bracket is one bisection's result: Good passed, Bad failed (0: none failed).
type Bracket struct {
	Good float64 `json:"good_rps"`
	Bad  float64 `json:"bad_rps"`
}

// Step is one point of the latency curve.
type Step struct {
	RPS        float64 `json:"rps"`
	Repeat     int     `json:"repeat"`
	GoodputRPS float64 `json:"goodput_rps"`
	ErrorRate  float64 `json:"error_rate"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Pass       bool    `json:"pass"`
}

// Map is one policy's tipping map.
type Map struct {
	Policy string `json:"policy"`
	// BaselineFraction and BaselineRPS are this map's baseline when it has its own (the
	// maps of a capacity-drop search, one per baseline); 0: the Result's.
	BaselineFraction float64    `json:"baseline_fraction,omitempty"`
	BaselineRPS      float64    `json:"baseline_rps,omitempty"`
	Boundaries       []Boundary `json:"boundaries"`
}

// Boundary is the tipping size for one surge duration (or, in a capacity-drop map, the
// tipping cut for one cut duration).
type Boundary struct {
	DurationSeconds float64 `json:"duration_s"`
	// RecoversAt is the largest surge size (or cut) that recovered; 0 when none did.
	RecoversAt float64 `json:"recovers_at"`
	// TipsAt is the smallest size (or cut) that did not recover; 0 when none tipped within
	// the range.
	TipsAt float64 `json:"tips_at"`
	// Complete is false when the search stopped before this boundary was bracketed.
	Complete bool         `json:"complete"`
	Probes   []SurgePoint `json:"probes"`
	Sentence string       `json:"sentence"`
}

// SurgePoint is one surge probe's outcome.
type SurgePoint struct {
	Size            float64  `json:"size"`
	Verdict         string   `json:"verdict"`
	Tipped          bool     `json:"tipped"`
	RecoverySeconds *float64 `json:"recovery_seconds"`
}

// ErrNotSettled is returned when the target stays unhealthy at the baseline for longer than
// the settle timeout between probes: every further probe would measure that, not a surge.
var ErrNotSettled = errors.New("target never settled")

// stop errors end a search early without failing it.
var (
	errBudget      = errors.New("time budget spent")
	errInterrupted = errors.New("interrupted")
)

// Search finds the knee and the tipping maps of one target.
type Search struct {
	Prober Prober
	Config Config
	// ProfileName names the profile in the Result.
	ProfileName string
	// State holds the probes already measured; it gets every new one. Required.
	State *State
	// Save persists State after each probe; nil: not persisted.
	Save func(*State) error
	// Progress gets one line per probe; nil: silent.
	Progress io.Writer
	// Now and Sleep are the clock; nil: the real one. Tests pass a fake.
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// run is one execution of a Search.
type run struct {
	*Search
	cfg        Config
	deadline   time.Time
	res        *Result
	needSettle bool
	settleRate float64
}

// Run searches within the budget. It always returns a Result with what was found; the error
// is non-nil only when the search could not go on (a target that never settles, a prober
// failure, a state file that cannot be saved). A search stopped by ctx or by the budget
// returns its partial Result with Complete false and Stopped saying why, and a nil error.
func (s *Search) Run(ctx context.Context) (*Result, error) {
	if s.State == nil {
		return nil, errors.New("capacity: no state")
	}
	if err := s.Config.Validate(); err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Sleep == nil {
		s.Sleep = sleep
	}
	cfg := s.Config.withDefaults()
	start := s.Now()
	r := &run{
		Search: s, cfg: cfg, deadline: start.Add(cfg.Budget),
		res:        &Result{Target: s.State.Target, Profile: s.ProfileName, BaselineFraction: cfg.BaselineFraction},
		needSettle: true, settleRate: cfg.StartRate,
	}
	r.res.Warnings = []string{}
	if cfg.Knee <= 0 {
		// A rate e over capacity builds e × step seconds of queue in one step, so a step
		// cannot fail on latency below e = p99 / step: the knee may be that much too high.
		if e := cfg.P99.Seconds() / cfg.Step.Seconds(); e > cfg.Precision {
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(
				"a %s step with a p99 threshold of %s cannot see an overload of less than %.0f %%: the knee may be that much too high (use a lower --p99 or a longer --step)",
				cfg.Step, cfg.P99, 100*e))
		}
	}
	err := r.all(ctx)
	r.res.ElapsedSeconds = s.Now().Sub(start).Seconds()
	if cfg.Trigger == "" {
		// Surge maps of several policies at one baseline line up; cut maps of several
		// baselines do not, and each says its own boundary.
		r.res.Comparison = compare(r.res.Maps, cfg.Durations)
	}
	switch {
	case err == nil:
		r.res.Complete = true
	case errors.Is(err, errBudget):
		r.res.Stopped = fmt.Sprintf("the time budget of %s was spent; rerun with the same state file to go on", cfg.Budget)
		err = nil
	case errors.Is(err, errInterrupted):
		r.res.Stopped = "interrupted; rerun with the same state file to go on"
		err = nil
	default:
		r.res.Stopped = err.Error()
	}
	return r.res, err
}

func (r *run) all(ctx context.Context) error {
	if r.cfg.Knee > 0 {
		r.res.Knee = &Knee{RPS: r.cfg.Knee, LowRPS: r.cfg.Knee, HighRPS: r.cfg.Knee, Given: true}
	} else {
		k, err := r.knee(ctx)
		r.res.Knee = k
		if err != nil {
			return err
		}
	}
	if len(r.cfg.Policies) == 0 {
		return nil
	}
	if r.cfg.Trigger == TriggerCapacityDrop {
		r.res.Trigger = TriggerCapacityDrop
		return r.cutMaps(ctx)
	}
	base := roundRate(r.res.Knee.RPS * r.cfg.BaselineFraction)
	r.res.BaselineRPS = base
	r.settleRate = base
	r.logf("tipping map at %s req/s (%s of the knee)", rate(base), percent(r.cfg.BaselineFraction))
	for _, pol := range r.cfg.Policies {
		r.res.Maps = append(r.res.Maps, Map{Policy: pol})
		m := &r.res.Maps[len(r.res.Maps)-1]
		for _, d := range r.cfg.Durations {
			m.Boundaries = append(m.Boundaries, Boundary{DurationSeconds: d.Seconds()})
			b := &m.Boundaries[len(m.Boundaries)-1]
			err := r.boundary(ctx, pol, base, d, b)
			b.Sentence = sentence(r.cfg.BaselineFraction, base, pol, d, *b)
			if err != nil {
				return err
			}
			r.logf("%s", b.Sentence)
		}
	}
	return nil
}

// knee finds the highest passing rate: doubling until a step fails, then bisecting; the
// final bracket is bisected again Repeats−1 times from slightly outside it, and the spread
// of those knees is the interval.
func (r *run) knee(ctx context.Context) (*Knee, error) {
	k := &Knee{}
	step := func(rps float64, rep int) (bool, error) {
		p := Probe{Kind: KindStep, Rate: rps, Duration: dur(r.cfg.Step), Repeat: rep}
		o, err := r.measure(ctx, p)
		if err != nil {
			return false, err
		}
		ok := r.passes(o)
		k.Curve = append(k.Curve, Step{RPS: rps, Repeat: rep, GoodputRPS: o.GoodputRPS, ErrorRate: o.ErrorRate, P50: o.P50, P99: o.P99, Pass: ok})
		sort.SliceStable(k.Curve, func(i, j int) bool { return k.Curve[i].RPS < k.Curve[j].RPS })
		return ok, nil
	}
	finish := func() {
		var goods []float64
		k.LowRPS, k.HighRPS = math.Inf(1), 0
		for _, b := range k.Repeats {
			goods = append(goods, b.Good)
			k.LowRPS = min(k.LowRPS, b.Good)
			k.HighRPS = max(k.HighRPS, b.Bad, b.Good)
		}
		if len(goods) == 0 {
			k.LowRPS = 0
			return
		}
		slices.Sort(goods)
		k.RPS = goods[len(goods)/2]
	}

	good, bad := 0.0, 0.0
	for rps := roundRate(r.cfg.StartRate); ; {
		ok, err := step(rps, 0)
		if err != nil {
			return k, err
		}
		if ok {
			good = rps
			break
		}
		bad = rps
		rps = roundRate(rps / 2)
		r.settleRate = rps
		if rps < minRate {
			return k, fmt.Errorf("the target fails even at %s req/s: no knee to find (check --p99 and the target)", rate(bad))
		}
	}
	for bad == 0 {
		next := roundRate(good * 2)
		if next > r.cfg.MaxRate {
			k.AtLeast = true
			k.Repeats = []Bracket{{Good: good}}
			finish()
			return k, nil
		}
		ok, err := step(next, 0)
		if err != nil {
			return k, err
		}
		if ok {
			good = next
		} else {
			bad = next
		}
	}
	bisect := func(good, bad float64, rep int) (float64, float64, error) {
		for bad-good > r.cfg.Precision*good {
			mid := roundRate((good + bad) / 2)
			if mid <= good || mid >= bad {
				break // rates are rounded: nothing left between them
			}
			ok, err := step(mid, rep)
			if err != nil {
				return good, bad, err
			}
			if ok {
				good = mid
			} else {
				bad = mid
			}
		}
		return good, bad, nil
	}
	good, bad, err := bisect(good, bad, 0)
	k.Repeats = append(k.Repeats, Bracket{Good: good, Bad: bad})
	finish()
	if err != nil {
		return k, err
	}
	// Repeats start one precision width outside the bracket on each side, so that a first
	// bracket that was off by noise can move; their ends are assumed to pass and fail.
	lo, hi := roundRate(good*(1-r.cfg.Precision)), roundRate(bad*(1+r.cfg.Precision))
	for rep := 1; rep < r.cfg.Repeats; rep++ {
		g, b, err := bisect(lo, hi, rep)
		k.Repeats = append(k.Repeats, Bracket{Good: g, Bad: b})
		finish()
		if err != nil {
			return k, err
		}
	}
	r.logf("knee: %s req/s (%s to %s over %d repeats)", rate(k.RPS), rate(k.LowRPS), rate(k.HighRPS), len(k.Repeats))
	return k, nil
}

// boundary bisects the surge size for one policy and duration, in log space since sizes are
// ratios (bisect).
func (r *run) boundary(ctx context.Context, policy string, base float64, d time.Duration, b *Boundary) error {
	return r.bisect(ctx, b, bisection{
		probe: func(size float64) Probe {
			return Probe{Kind: KindSurge, Rate: base, Duration: dur(d), Size: size, Policy: policy,
				Warm: dur(r.cfg.Warm), Grace: dur(r.cfg.Grace)}
		},
		lo: roundSize(r.cfg.SizeMin), hi: roundSize(r.cfg.SizeMax),
		mid:   func(lo, hi float64) float64 { return roundSize(math.Sqrt(lo * hi)) },
		close: func(lo, hi float64) bool { return hi/lo <= 1+r.cfg.SizePrecision },
	})
}

// bisection is one boundary search: the probe for a size (a surge's multiple, or a cut's
// share), the range, its midpoint (rounded, so keys and a resumed search agree) and when the
// two ends are close enough.
type bisection struct {
	probe  func(x float64) Probe
	lo, hi float64
	mid    func(lo, hi float64) float64
	close  func(lo, hi float64) bool
}

// bisect finds where the target stops recovering: first the largest x (a target that
// survives it needs no more probes), then the smallest, then between the largest that
// recovered and the smallest that tipped until they are close. Every probe lands in b.
func (r *run) bisect(ctx context.Context, b *Boundary, s bisection) error {
	try := func(x float64) (bool, error) {
		o, err := r.measure(ctx, s.probe(x))
		if err != nil {
			return false, err
		}
		t := o.Tipped()
		b.Probes = append(b.Probes, SurgePoint{Size: x, Verdict: o.Verdict, Tipped: t, RecoverySeconds: o.RecoverySeconds})
		sort.SliceStable(b.Probes, func(i, j int) bool { return b.Probes[i].Size < b.Probes[j].Size })
		if t {
			if b.TipsAt == 0 || x < b.TipsAt {
				b.TipsAt = x
			}
		} else if x > b.RecoversAt {
			b.RecoversAt = x
		}
		return t, nil
	}
	hi, lo := s.hi, s.lo
	tipped, err := try(hi)
	if err != nil || !tipped {
		b.Complete = err == nil
		return err
	}
	tipped, err = try(lo)
	if err != nil || tipped {
		b.Complete = err == nil
		return err
	}
	for !s.close(lo, hi) {
		mid := s.mid(lo, hi)
		if mid <= lo || mid >= hi {
			break
		}
		tipped, err := try(mid)
		if err != nil {
			return err
		}
		if tipped {
			hi = mid
		} else {
			lo = mid
		}
	}
	b.Complete = true
	return nil
}

// measure returns p's outcome: from the state when it was measured before, otherwise by
// running it, after letting the target settle when the last probe may have left it
// overloaded, and within the budget.
func (r *run) measure(ctx context.Context, p Probe) (Outcome, error) {
	if o, ok := r.State.lookup(p); ok {
		r.res.ProbesReused++
		r.logf("%s: %s (from the state file)", p, r.describe(p, o))
		return o, nil
	}
	if r.needSettle {
		if err := r.settle(ctx); err != nil {
			return Outcome{}, err
		}
	}
	o, err := r.probe(ctx, p)
	if err != nil {
		return Outcome{}, err
	}
	r.State.add(p, o, r.Now())
	r.res.ProbesRun++
	if r.Save != nil {
		if err := r.Save(r.State); err != nil {
			return Outcome{}, err
		}
	}
	r.logf("%s: %s", p, r.describe(p, o))
	// A failed step or a tipped surge leaves a queue behind; the next probe would measure it.
	r.needSettle = (p.Kind == KindStep && !r.passes(o)) || ((p.Kind == KindSurge || p.Kind == KindCut) && o.Tipped())
	return o, nil
}

// probe runs one probe within the budget and the context.
func (r *run) probe(ctx context.Context, p Probe) (Outcome, error) {
	if ctx.Err() != nil {
		return Outcome{}, errInterrupted
	}
	if r.Now().Add(p.Cost(r.cfg.ClientTimeout)).After(r.deadline) {
		return Outcome{}, errBudget
	}
	o, err := r.Prober.Probe(ctx, p)
	switch {
	case ctx.Err() != nil:
		return Outcome{}, errInterrupted
	case err != nil:
		return Outcome{}, fmt.Errorf("%s: %w", p, err)
	}
	return o, nil
}

// settle runs settle probes until one is healthy, pausing between them so that a queue left
// behind can drain, and gives up with ErrNotSettled after the settle timeout.
func (r *run) settle(ctx context.Context) error {
	start := r.Now()
	for n := 1; ; n++ {
		p := Probe{Kind: KindSettle, Rate: r.settleRate, Duration: dur(r.cfg.SettleProbe)}
		o, err := r.probe(ctx, p)
		if err != nil {
			return err
		}
		if r.passes(o) {
			r.needSettle = false
			if n > 1 {
				r.logf("settled after %s (%d settle probes)", r.Now().Sub(start).Round(100*time.Millisecond), n)
			}
			return nil
		}
		waited := r.Now().Sub(start)
		if waited >= r.cfg.SettleTimeout {
			return fmt.Errorf("%w: %s still unhealthy after %s (%d settle probes at %s req/s; the last: %s)",
				ErrNotSettled, r.State.Target, waited.Round(100*time.Millisecond), n, rate(r.settleRate), r.describe(p, o))
		}
		if err := r.Sleep(ctx, r.cfg.SettlePause); err != nil {
			return errInterrupted
		}
	}
}

// passes judges a step or settle probe: goodput within the tolerance of the intended rate,
// p99 within the threshold, errors within their share.
func (r *run) passes(o Outcome) bool {
	if o.Ready != nil {
		return *o.Ready
	}
	return o.IntendedRPS > 0 && o.GoodputRPS >= (1-r.cfg.Tolerance)*o.IntendedRPS &&
		o.P99 <= float64(r.cfg.P99)/float64(time.Millisecond) && o.ErrorRate <= r.cfg.MaxErrorRate
}

func (r *run) describe(p Probe, o Outcome) string {
	if o.Ready != nil {
		return o.Detail
	}
	s := fmt.Sprintf("goodput %.1f of %.1f req/s, p50 %.0f ms, p99 %.0f ms, errors %.1f%%",
		o.GoodputRPS, o.IntendedRPS, o.P50, o.P99, 100*o.ErrorRate)
	switch p.Kind {
	case KindSurge, KindCut:
		s = o.Verdict
		if o.RecoverySeconds != nil {
			s += fmt.Sprintf(", recovered %.0f s after the %s", *o.RecoverySeconds, map[bool]string{true: "cut", false: "surge"}[p.Kind == KindCut])
		}
		if o.Tipped() {
			s += ": tipped"
		} else {
			s += ": recovered"
		}
	case KindStep:
		if r.passes(o) {
			s += ": pass"
		} else {
			s += ": fail"
		}
	}
	return s
}

func (r *run) logf(format string, a ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, "capacity: "+format+"\n", a...)
	}
}

// minRate is the lowest step rate the knee search tries before giving up.
const minRate = 1

// roundRate keeps rates to 0.1 req/s (and at least that), so that keys and tables stay
// readable and a resumed search computes the same rates.
func roundRate(x float64) float64 { return max(math.Round(x*10)/10, 0.1) }

// roundSize keeps surge sizes to 0.01×.
func roundSize(x float64) float64 { return math.Round(x*100) / 100 }

func dur(d time.Duration) profiles.Duration { return profiles.Duration(d) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
