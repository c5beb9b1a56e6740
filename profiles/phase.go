package profiles

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/stormtest/stormtest/curve"
	"gopkg.in/yaml.v3"
)

// phaseField is one field of Phase as a profile spells it. phaseFields lists them all, found
// by reflection over Phase's tags once, so that the keys the parser accepts, the fields the
// validator sees set, the rates the bounds check and the fields Scaled scales are the
// struct's fields and nothing else.
type phaseField struct {
	key   string // the yaml key; for Max, which has none (it is rate: max), "max"
	index int    // in Phase
	hint  string // the hint tag: what a parse error says is expected
	// yaml is false for Max: the parser never reads "max" as a key.
	yaml bool
	// read parses the key's value into the field; nil when yaml is false.
	read func(w *walker, n *yaml.Node, path, hint string, dst reflect.Value) *fieldError
}

var (
	phaseFields = reflectPhaseFields()
	// phaseKeys are the keys a phase mapping accepts, in the struct's order.
	phaseKeys = func() []string {
		var keys []string
		for _, f := range phaseFields {
			if f.yaml {
				keys = append(keys, f.key)
			}
		}
		return keys
	}()
)

// reflectPhaseFields reads Phase's tags. It panics on a field type it cannot read, which any
// test of the package reaches at start-up: a new field needs a reader before it can ship.
func reflectPhaseFields() []phaseField {
	typ := reflect.TypeOf(Phase{})
	out := make([]phaseField, 0, typ.NumField())
	for i := range typ.NumField() {
		sf := typ.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		f := phaseField{key: key, index: i, hint: sf.Tag.Get("hint"), yaml: key != "-"}
		if !f.yaml {
			f.key, _, _ = strings.Cut(sf.Tag.Get("json"), ",")
			out = append(out, f)
			continue
		}
		f.read = readerFor(sf.Type)
		if f.read == nil {
			panic(fmt.Sprintf("profiles: no reader for Phase.%s of type %s", sf.Name, sf.Type))
		}
		out = append(out, f)
	}
	return out
}

// readerFor is how a field of a Go type is read from YAML; the checks that need more than the
// field itself are Validate's.
func readerFor(t reflect.Type) func(w *walker, n *yaml.Node, path, hint string, dst reflect.Value) *fieldError {
	set := func(dst reflect.Value, v any) { dst.Set(reflect.ValueOf(v)) }
	switch t {
	case reflect.TypeOf(""):
		return func(_ *walker, n *yaml.Node, path, hint string, dst reflect.Value) *fieldError {
			s, err := str(n, path, hint)
			set(dst, s)
			return err
		}
	case reflect.TypeOf(Duration(0)):
		return func(_ *walker, n *yaml.Node, path, _ string, dst reflect.Value) *fieldError {
			d, err := duration(n, path)
			set(dst, d)
			return err
		}
	case reflect.TypeOf((*Duration)(nil)):
		// A pointer because 0s is a value (a spike at the start), read as an offset.
		return func(_ *walker, n *yaml.Node, path, _ string, dst reflect.Value) *fieldError {
			at, err := offset(n, path)
			if err == nil {
				set(dst, &at)
			}
			return err
		}
	case reflect.TypeOf((*float64)(nil)):
		return func(_ *walker, n *yaml.Node, path, hint string, dst reflect.Value) *fieldError {
			v, err := number(n, path, hint)
			set(dst, v)
			return err
		}
	case reflect.TypeOf(0):
		// Checked here, not only in Validate, because an explicit 0 would read as not set.
		return func(_ *walker, n *yaml.Node, path, hint string, dst reflect.Value) *fieldError {
			return atLeastOne(n, path, hint, dst.Addr().Interface().(*int))
		}
	case reflect.TypeOf((*int)(nil)):
		return func(_ *walker, n *yaml.Node, path, hint string, dst reflect.Value) *fieldError {
			var v int
			err := atLeastOne(n, path, hint, &v)
			if err == nil {
				set(dst, &v)
			}
			return err
		}
	case reflect.TypeOf([]Point(nil)):
		return func(w *walker, n *yaml.Node, path, _ string, dst reflect.Value) *fieldError {
			pts, err := w.points(n, path)
			set(dst, pts)
			return err
		}
	}
	return nil
}

// field is the field f of ph, settable.
func (ph *Phase) field(f phaseField) reflect.Value {
	return reflect.ValueOf(ph).Elem().Field(f.index)
}

// curveKeys are the keys of ph's rate fields (those some kind takes) that are set, in the
// struct's order, so that of several the first in the struct is reported.
func (ph Phase) curveKeys() []string {
	var set []string
	for _, f := range phaseFields {
		if kindTakes(f.key) && !ph.field(f).IsZero() {
			set = append(set, f.key)
		}
	}
	return set
}

// rates calls fn with the key and value of each rate field of ph (every *float64 field), set
// or not, in the struct's order.
func (ph *Phase) rates(fn func(key string, v **float64)) {
	for _, f := range phaseFields {
		if v, ok := ph.field(f).Addr().Interface().(**float64); ok {
			fn(f.key, v)
		}
	}
}

// Length is how long the phase lasts on the timeline: Duration times Repeat.
func (ph Phase) Length() time.Duration {
	return curve.RepeatLength(time.Duration(ph.Duration), ph.Repeat)
}

// Shape returns the rate curve of the phase: its kind's curve (see phaseKinds), played Repeat
// times. A phase without a kind (closed-loop, or with no rate field, which Validate refuses)
// is rate 0. It is meaningful for a phase that passes Validate.
func (ph Phase) Shape() curve.Shape {
	length := max(time.Duration(ph.Duration), 0)
	var base curve.Shape = curve.Constant{Length: length}
	if k := ph.kind(); k != nil {
		base = k.shape(ph, length)
	}
	if ph.Repeat > 1 {
		return curve.Repeated{Play: base, Length: length, Times: ph.Repeat}
	}
	return base
}

// Label is the phase's rates in a few characters ("200", "200 → 600"), as the demo lists
// its phases; empty for a kind without one.
func (ph Phase) Label() string {
	if k := ph.kind(); k != nil && k.label != nil {
		return k.label(ph)
	}
	return ""
}

// Schedule places the profile's phases end to end on one timeline starting at 0. It is
// meaningful for a profile that passes Validate.
func (p *Profile) Schedule() *curve.Schedule {
	phases := make([]curve.Phase, len(p.Phases))
	for i, ph := range p.Phases {
		phases[i] = curve.Phase{Name: ph.Name, Length: ph.Length(), Shape: ph.Shape(), Max: ph.Max}
		if ph.Users != nil {
			phases[i].Users = *ph.Users
		}
	}
	return curve.NewSchedule(phases)
}

// PeakRate is the highest first-attempt rate anywhere in the profile.
func (p *Profile) PeakRate() float64 { return p.Schedule().Peak() }

const rateExpected = "a finite rate >= 0, in first attempts per second"

// kindExpected is the hint for a phase with the wrong set of rate fields.
const kindExpected = "rate for a constant phase, or from and to for a ramp"

// validate checks one phase: what every phase needs (a name, a duration, a repeat, finite
// rates), then its kind's own checks from phaseKinds.
func (ph Phase) validate(path string) *fieldError {
	if ph.Name == "" {
		return errAt(path+".name", "empty", "a phase name")
	}
	set := ph.curveKeys()
	if ph.Users != nil {
		return ph.validateClosed(path, set)
	}
	k := ph.kind()
	if k == nil {
		return errAt(path, "no rate", kindExpected+"; or see docs/profiles.md for steps, sine, spike and points")
	}
	if k.mixed != nil {
		if err := k.mixed(ph, path); err != nil {
			return err
		}
	}
	// A field of another kind is an error rather than ignored, because whoever wrote it
	// expected it to do something.
	for _, key := range set {
		if !slices.Contains(k.keys, key) {
			return errAt(path+"."+key, fmt.Sprintf("set in a %s phase", k.name),
				"one kind of curve per phase; a "+k.name+" phase takes "+strings.Join(k.keys, ", "))
		}
	}
	if k.first != nil {
		if err := k.first(ph, path); err != nil {
			return err
		}
	}
	if ph.Duration <= 0 {
		return errAt(path+".duration", notPositive(ph.Duration), "a duration > 0 such as 30s")
	}
	if ph.Repeat < 0 {
		return errAt(path+".repeat", fmt.Sprintf("%d is negative", ph.Repeat), "how many times to play the phase, at least 1")
	}
	var err *fieldError
	ph.rates(func(key string, v **float64) {
		if err == nil {
			err = checkRate(path+"."+key, *v)
		}
	})
	if err != nil {
		return err
	}
	if k.check != nil {
		return k.check(ph, path)
	}
	return nil
}

// validateClosed checks a closed-loop phase: users, a duration, and no rate curve, which
// would contradict the users (a closed loop's rate is whatever the target's latency allows).
func (ph Phase) validateClosed(path string, set []string) *fieldError {
	const expected = "the number of closed-loop users, at least 1"
	if *ph.Users < 1 {
		return errAt(path+".users", fmt.Sprintf("%d is less than 1", *ph.Users), expected)
	}
	if len(set) > 0 {
		return errAt(path+"."+set[0], "set in a closed-loop phase",
			"users alone (with name, duration and repeat): closed-loop users send as fast as their responses come back")
	}
	if ph.Duration <= 0 {
		return errAt(path+".duration", notPositive(ph.Duration), "a duration > 0 such as 30s")
	}
	if ph.Repeat < 0 {
		return errAt(path+".repeat", fmt.Sprintf("%d is negative", ph.Repeat), "how many times to play the phase, at least 1")
	}
	return nil
}

func checkRate(path string, v *float64) *fieldError {
	if v == nil {
		return nil
	}
	switch x := *v; {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return errAt(path, fmt.Sprintf("%v is not finite", x), rateExpected)
	case x < 0:
		return errAt(path, fmt.Sprintf("%v is negative", x), rateExpected)
	}
	return nil
}
