package profiles

import (
	"fmt"
	"slices"
	"time"

	"github.com/stormtest/stormtest/curve"
)

// phaseKind is one kind of rate curve a phase can have: everything about the kind that is not
// curve maths. Phase.validate, Phase.Shape and Phase.Label look the kind up here; none of
// them names a kind.
type phaseKind struct {
	// name is the kind as messages name it ("set in a sine phase").
	name string
	// keys are the rate fields the kind reads, as yaml keys of Phase (name, duration and
	// repeat go with every kind). Any other rate field set in a phase of this kind is an
	// error. TestKindTable checks that each is a field of Phase.
	keys []string
	// marks are the keys that make a phase this kind: a phase is of the first kind in
	// phaseKinds with one of its marks set.
	marks []string
	// mixed, when set, is checked before the generic "set in a … phase" error, for a
	// clearer message about a field of another kind.
	mixed func(ph Phase, path string) *fieldError
	// first, when set, is checked before the phase's duration, for a kind that gives the
	// phase its duration.
	first func(ph Phase, path string) *fieldError
	// check is the kind's own validation, after the duration, repeat and the rates' signs
	// (every *float64 field) have been checked; nil when there is nothing more.
	check func(ph Phase, path string) *fieldError
	// shape is one play of the curve, of the given length (the phase's Duration, at least
	// 0). It is called on a phase that passed check, but must not panic on one that did not
	// (a nil field reads as 0), since Shape is exported.
	shape func(ph Phase, length time.Duration) curve.Shape
	// label is the phase's rates in a few characters, as the demo lists them; nil for none.
	label func(ph Phase) string
}

// Phase kinds, as named in messages.
const (
	kindConstant = "constant"
	kindRamp     = "from/to"
	kindSine     = "sine"
	kindSpike    = "spike"
	kindPoints   = "points"
	kindMax      = "rate: max"
)

// phaseKinds is the one table of phase kinds, in order of precedence when fields of several
// kinds are set (only a phase Validate refuses has that).
//
// To add a kind of curve:
//  1. in package curve, a Shape type (or a constructor over Piecewise) with Rate, Count,
//     TimeOf and Peak, and its cases in curve's tests (TestShapesInvert lists every shape);
//  2. its fields on Phase (profile.go) with yaml, json and hint tags; their Go types decide
//     how they are read, bounded and scaled (see the Phase doc comment);
//  3. a row here: name, keys, marks, check, shape, label;
//  4. its cases in kinds_test.go and shape_kinds_test.go (kindPhases, TestKindValues,
//     TestKindParseErrors), a section in docs/profiles.md, a row in README.md's "Phase
//     kinds", and its fields in docs/profile.schema.json (TestSchemaCoversProfile fails
//     until they are there).
//
// Nothing else names a kind: the parser, the validator's generic checks, the bounds on rates,
// Scaled and the schedule work from the table and from Phase's fields. (clone in clients.go
// still copies Phase's pointer fields one by one: a new pointer field needs a line there.)
//
// Closed-loop phases (users) are not a kind of curve: they have no rate, and validateClosed
// checks them.
var phaseKinds = []phaseKind{
	{
		name: kindMax, keys: []string{"max"}, marks: []string{"max"},
		shape: func(_ Phase, length time.Duration) curve.Shape { return curve.Constant{Length: length} },
	},
	{
		name: kindPoints, keys: []string{"points"}, marks: []string{"points"},
		// Before the duration: a points phase takes its duration from its last point.
		first: func(ph Phase, path string) *fieldError { return validatePoints(path, ph.Points, ph.Duration) },
		shape: func(ph Phase, length time.Duration) curve.Shape {
			if len(ph.Points) == 0 {
				return curve.Constant{Length: length}
			}
			pts := make([]curve.Point, len(ph.Points))
			for i, pt := range ph.Points {
				pts[i] = curve.Point{At: time.Duration(pt.At), Rate: pt.Rate}
			}
			return curve.NewPoints(pts, length)
		},
	},
	{
		name: kindSine, keys: []string{"rate", "amplitude", "period"}, marks: []string{"amplitude", "period"},
		check: Phase.validateSine,
		shape: func(ph Phase, length time.Duration) curve.Shape {
			return curve.Sine{Mean: or0(ph.Rate), Amplitude: or0(ph.Amplitude), Period: time.Duration(ph.Period), Length: length}
		},
		label: rateLabel,
	},
	{
		name: kindSpike, keys: []string{"rate", "spike", "spike_at", "spike_for"}, marks: []string{"spike", "spike_at", "spike_for"},
		check: Phase.validateSpike,
		shape: func(ph Phase, length time.Duration) curve.Shape {
			at := time.Duration(0)
			if ph.SpikeAt != nil {
				at = time.Duration(*ph.SpikeAt)
			}
			return curve.NewSpike(or0(ph.Rate), or0(ph.Spike), at, time.Duration(ph.SpikeFor), length)
		},
		label: rateLabel,
	},
	{
		name: kindRamp, keys: []string{"from", "to", "steps", "growth"}, marks: []string{"from", "to", "steps", "growth"},
		mixed: func(ph Phase, path string) *fieldError {
			if ph.Rate != nil {
				return errAt(path+".rate", "both rate and from/to are set", "rate for a constant phase, or from and to for a ramp, not both")
			}
			return nil
		},
		check: Phase.validateRamp,
		shape: func(ph Phase, length time.Duration) curve.Shape {
			from, to := or0(ph.From), or0(ph.To)
			switch {
			case ph.Steps > 0:
				return curve.NewSteps(from, to, ph.Steps, length)
			case ph.Growth == GrowthExponential:
				return curve.Exponential{From: from, To: to, Length: length}
			}
			return curve.Ramp{From: from, To: to, Length: length}
		},
		label: func(ph Phase) string {
			if ph.From == nil || ph.To == nil {
				return ""
			}
			return fmt.Sprintf("%.0f → %.0f", *ph.From, *ph.To)
		},
	},
	{
		name: kindConstant, keys: []string{"rate"}, marks: []string{"rate"},
		shape: func(ph Phase, length time.Duration) curve.Shape {
			return curve.Constant{PerSecond: or0(ph.Rate), Length: length}
		},
		label: rateLabel,
	},
}

// kindTakes reports whether some kind reads the key: it is a rate field, not one that every
// phase has.
func kindTakes(key string) bool {
	for _, k := range phaseKinds {
		if slices.Contains(k.keys, key) {
			return true
		}
	}
	return false
}

// kind is the phase's kind, or nil for a phase with no rate field (closed-loop or empty).
func (ph Phase) kind() *phaseKind {
	set := ph.curveKeys()
	for i := range phaseKinds {
		k := &phaseKinds[i]
		for _, m := range k.marks {
			if slices.Contains(set, m) {
				return k
			}
		}
	}
	return nil
}

func or0(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

func rateLabel(ph Phase) string {
	if ph.Rate == nil {
		return ""
	}
	return fmt.Sprintf("%.0f", *ph.Rate)
}

// MaxSteps bounds steps: more would be a ramp drawn in pixels, and the bound keeps every
// step at least a microsecond long in any phase of a second or more.
const MaxSteps = 1_000_000

func (ph Phase) validateRamp(path string) *fieldError {
	switch {
	case ph.From == nil && ph.To == nil:
		key := "steps"
		if ph.Steps == 0 {
			key = "growth"
		}
		return errAt(path+"."+key, key+" without from and to", "from and to with "+key)
	case ph.From == nil:
		return errAt(path+".to", "to without from", "from and to together for a ramp")
	case ph.To == nil:
		return errAt(path+".from", "from without to", "from and to together for a ramp")
	}
	switch ph.Growth {
	case "", GrowthLinear:
	case GrowthExponential:
		if ph.Steps != 0 {
			return errAt(path+".growth", "exponential with steps", "steps (stairs) or growth: exponential, not both")
		}
		if *ph.From <= 0 || *ph.To <= 0 {
			return errAt(path+".growth", fmt.Sprintf("exponential from %v to %v", *ph.From, *ph.To), "from > 0 and to > 0: an exponential never reaches or leaves 0")
		}
		// The curve is computed from to/from, which overflows or underflows for rates near
		// 0: 1e-300 used to be refused as "every phase has rate 0".
		for _, f := range []struct {
			key string
			v   float64
		}{{"from", *ph.From}, {"to", *ph.To}} {
			if f.v < MinExponentialRate {
				return errAt(path+"."+f.key, fmt.Sprintf("%v is below the minimum %v of an exponential ramp", f.v, MinExponentialRate),
					fmt.Sprintf("from and to of at least %v first attempts per second: MinExponentialRate", MinExponentialRate)+boundsNote)
			}
		}
	default:
		return errAt(path+".growth", fmt.Sprintf("unknown growth %q", ph.Growth), "one of "+GrowthLinear+", "+GrowthExponential)
	}
	const stepsExpected = "the number of equal steps from from to to, 1 to 1000000"
	switch {
	case ph.Steps < 0:
		return errAt(path+".steps", fmt.Sprintf("%d is less than 1", ph.Steps), stepsExpected)
	case ph.Steps > MaxSteps:
		return errAt(path+".steps", fmt.Sprintf("%d is too many", ph.Steps), stepsExpected)
	case ph.Steps > 0 && time.Duration(ph.Duration) < time.Duration(ph.Steps):
		return errAt(path+".steps", fmt.Sprintf("%d steps in %s are shorter than a nanosecond", ph.Steps, ph.Duration), "fewer steps or a longer duration")
	}
	return nil
}

func (ph Phase) validateSine(path string) *fieldError {
	switch {
	case ph.Rate == nil:
		return errAt(path+".amplitude", "a wave without rate", "rate (the wave's midline), amplitude and period together")
	case ph.Amplitude == nil:
		return errAt(path+".period", "period without amplitude", "rate, amplitude and period together")
	case ph.Period == 0:
		return errAt(path+".amplitude", "amplitude without period", "rate, amplitude and period together")
	case ph.Period < 0:
		return errAt(path+".period", notPositive(ph.Period), "a duration > 0 such as 10s")
	case *ph.Amplitude > *ph.Rate:
		return errAt(path+".amplitude", fmt.Sprintf("%v is above rate %v", *ph.Amplitude, *ph.Rate), "amplitude <= rate, so that the rate never goes below 0")
	}
	return nil
}

func (ph Phase) validateSpike(path string) *fieldError {
	const together = "rate, spike, spike_at and spike_for together"
	switch {
	case ph.Rate == nil:
		return errAt(path+".spike", "a spike without rate", together)
	case ph.Spike == nil:
		return errAt(path, "no spike", "spike: the burst's rate, with "+together)
	case ph.SpikeAt == nil:
		return errAt(path, "no spike_at", "spike_at: when the burst starts, from 0s, with "+together)
	case ph.SpikeFor == 0:
		return errAt(path, "no spike_for", "spike_for: how long the burst lasts, with "+together)
	case *ph.SpikeAt < 0:
		return errAt(path+".spike_at", fmt.Sprintf("%s is negative", *ph.SpikeAt), "an offset into the phase, from 0s")
	case ph.SpikeFor < 0:
		return errAt(path+".spike_for", notPositive(ph.SpikeFor), "a duration > 0")
	case *ph.SpikeAt >= ph.Duration:
		return errAt(path+".spike_at", fmt.Sprintf("%s is not before the phase's end %s", *ph.SpikeAt, ph.Duration), "a spike that starts within the phase")
	case ph.SpikeFor > ph.Duration-*ph.SpikeAt:
		return errAt(path+".spike_for", fmt.Sprintf("the spike ends at %s, after the phase's end %s", time.Duration(*ph.SpikeAt)+time.Duration(ph.SpikeFor), ph.Duration),
			"spike_at + spike_for <= duration")
	}
	return nil
}

func validatePoints(path string, pts []Point, d Duration) *fieldError {
	const expected = "at least two [offset, rate] points, the first at 0s, offsets increasing"
	if len(pts) < 2 {
		return errAt(path+".points", fmt.Sprintf("%d points", len(pts)), expected)
	}
	for i, pt := range pts {
		p := fmt.Sprintf("%s.points[%d]", path, i)
		switch {
		case i == 0 && pt.At != 0:
			return errAt(p, fmt.Sprintf("the first offset is %s", pt.At), expected)
		case i > 0 && pt.At <= pts[i-1].At:
			return errAt(p, fmt.Sprintf("offset %s is not after %s", pt.At, pts[i-1].At), expected)
		}
		if err := checkRate(p, &pt.Rate); err != nil {
			return err
		}
	}
	if last := pts[len(pts)-1].At; d != last {
		return errAt(path+".duration", fmt.Sprintf("%s differs from the last point's offset %s", d, last), "no duration, or the last offset: a points phase ends at its last point")
	}
	return nil
}
