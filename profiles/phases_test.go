package profiles

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func dur(d time.Duration) *Duration { x := Duration(d); return &x }

// kindPhases lists every new kind of phase relative to a base rate r, with their edge cases:
// steps up, down and single; exponential growth, decay and flat; a wave that touches 0; a
// spike at the start, in the middle, and a dip to 0; points through 0; and repeats of each
// family. Durations come from ds in turn, so that periods and steps do not divide evenly.
func kindPhases(r float64, ds []time.Duration) []Phase {
	i := 0
	next := func() Duration { d := ds[i%len(ds)]; i++; return Duration(d) }
	mk := func(ph Phase) Phase {
		if ph.Duration == 0 && ph.Points == nil {
			ph.Duration = next()
		}
		return ph
	}
	var out []Phase
	out = append(out,
		mk(Phase{From: ptr(r), To: ptr(4 * r), Steps: 5}),
		mk(Phase{From: ptr(3 * r), To: ptr(0), Steps: 3}),
		mk(Phase{From: ptr(r), To: ptr(9 * r), Steps: 1}),
		mk(Phase{From: ptr(r / 4), To: ptr(4 * r), Growth: GrowthExponential}),
		mk(Phase{From: ptr(4 * r), To: ptr(r / 10), Growth: GrowthExponential}),
		mk(Phase{From: ptr(r), To: ptr(r), Growth: GrowthExponential}),
	)
	d := next()
	out = append(out,
		mk(Phase{Duration: d, Rate: ptr(r), Amplitude: ptr(r), Period: d / 3}),
		mk(Phase{Rate: ptr(2 * r), Amplitude: ptr(r / 2), Period: Duration(700 * time.Millisecond)}),
	)
	d = next()
	out = append(out,
		mk(Phase{Duration: d, Rate: ptr(r), Spike: ptr(10 * r), SpikeAt: dur(time.Duration(d) / 4), SpikeFor: d / 4}),
		mk(Phase{Duration: d, Rate: ptr(0), Spike: ptr(r), SpikeAt: dur(0), SpikeFor: d / 3}),
		mk(Phase{Duration: d, Rate: ptr(r), Spike: ptr(0), SpikeAt: dur(time.Duration(d) / 2), SpikeFor: d / 2}),
	)
	d = next()
	pts := []Point{{0, r}, {d / 3, 4 * r}, {2 * d / 3, 0}, {d, r / 2}}
	out = append(out,
		mk(Phase{Duration: d, Points: pts}),
		mk(Phase{Duration: d, Points: pts, Repeat: 2}),
		mk(Phase{From: ptr(0), To: ptr(r), Steps: 4, Repeat: 3}),
		mk(Phase{Rate: ptr(r), Amplitude: ptr(r / 3), Period: Duration(time.Second), Repeat: 2}),
		mk(Phase{Rate: ptr(r), Repeat: 4}),
	)
	for j := range out {
		out[j].Name = fmt.Sprint("k", j)
	}
	return out
}

func kindCases(t *testing.T) []*Profile {
	rates := []float64{1, 2.5, 7, 33.3, 100, 999, 4321, 20000}
	durations := [][]time.Duration{
		{time.Second},
		{2500 * time.Millisecond, 333 * time.Millisecond, 3 * time.Second},
		{1234567 * time.Microsecond, 1500 * time.Millisecond},
	}
	var out []*Profile
	for i, r := range rates {
		p := &Profile{Name: fmt.Sprint("r", r), Phases: kindPhases(r, durations[i%len(durations)])}
		p.ApplyDefaults()
		// Every case must be a profile Parse would accept, or the test proves nothing about
		// real ones.
		if err := p.Validate(); err != nil {
			t.Fatalf("test case invalid: %v", err)
		}
		out = append(out, p)
	}
	return out
}

// The pacer sends attempt k at TimeOf(k): the k that land in a phase must be its integral,
// in order, for every kind of curve.
func TestKindsTimeOfCountsPerPhase(t *testing.T) {
	for _, p := range kindCases(t) {
		t.Run(p.Name, func(t *testing.T) {
			s := p.Schedule()
			got, k := attemptsPerPhase(t, s)
			for i, sp := range s.Spans {
				want := sp.Shape.Count(sp.End - sp.Start)
				if math.Abs(float64(got[i])-want) > max(1, want/100) {
					t.Errorf("phase %d (%T %+v): %d attempts, integral %.3f", i, sp.Shape, p.Phases[i], got[i], want)
				}
			}
			if want := math.Ceil(s.Total()); math.Abs(float64(k)-want) > 1 {
				t.Errorf("%d attempts in all, want %v", k, want)
			}
		})
	}
}

func TestKindsCountAtInvertsTimeOf(t *testing.T) {
	for _, p := range kindCases(t) {
		s := p.Schedule()
		tol := 2e-9 * p.PeakRate() // a nanosecond of rounding at the peak rate
		total := s.Total()
		prev := time.Duration(0)
		for i := range 997 {
			n := total * float64(i) / 997
			at, ok := s.TimeOf(n)
			if !ok {
				t.Fatalf("%s: TimeOf(%v) not ok, total %v", p.Name, n, total)
			}
			if at < prev {
				t.Errorf("%s: TimeOf(%v) = %v, before the previous %v", p.Name, n, at, prev)
			}
			prev = at
			if got := s.CountAt(at); math.Abs(got-n) > tol+1e-9*n {
				t.Errorf("%s: CountAt(TimeOf(%v) = %v) = %v", p.Name, n, at, got)
			}
		}
		for _, n := range []float64{total + 1e-6, total + 1, math.Inf(1), math.NaN()} {
			if at, ok := s.TimeOf(n); ok {
				t.Errorf("%s: TimeOf(%v) = %v past the end %v", p.Name, n, at, s.Duration())
			}
		}
	}
}

// Count must be the integral of Rate (a formula slip in either is invisible to the inverse
// tests, which only check Count against TimeOf), and TimeOf(Count(t)) must come back to t
// wherever the rate is positive.
func TestKindsCountIsIntegralOfRate(t *testing.T) {
	for _, p := range kindCases(t)[3:5] {
		for i, ph := range p.Phases {
			sh, length := ph.Shape(), ph.Length()
			const steps = 200_000
			dt := float64(length) / steps
			sum := 0.0
			for j := range steps {
				sum += sh.Rate(time.Duration((float64(j) + 0.5) * dt))
			}
			sum *= dt / 1e9
			if want := sh.Count(length); math.Abs(sum-want) > 1e-3*max(want, 1) {
				t.Errorf("%s phase %d (%+v): integral of Rate %v, Count %v", p.Name, i, ph, sum, want)
			}
			for j := 1; j < 100; j++ {
				at := length * time.Duration(j) / 100
				if sh.Rate(at) <= 0 || sh.Rate(at-time.Microsecond) <= 0 {
					continue // in silence the earliest time is the silence's start
				}
				got, ok := sh.TimeOf(sh.Count(at))
				if !ok || absDur(got-at) > time.Microsecond {
					t.Errorf("%s phase %d (%T): TimeOf(Count(%v)) = %v, %v", p.Name, i, sh, at, got, ok)
				}
			}
		}
	}
}

func TestKindValues(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		ph    Phase
		rates map[time.Duration]float64 // offset → rate
		total float64
		peak  float64
	}{
		{"steps", Phase{Duration: Duration(40 * s), From: ptr(50), To: ptr(800), Steps: 8},
			map[time.Duration]float64{0: 50, 5*s - 1: 50, 5 * s: 50 + 750.0/7, 35 * s: 800, 40*s - 1: 800}, 5 * 8 * 425, 800},
		{"exponential", Phase{Duration: Duration(4 * s), From: ptr(50), To: ptr(800), Growth: GrowthExponential},
			map[time.Duration]float64{0: 50, s: 100, 2 * s: 200, 3 * s: 400}, 750 * 4 / math.Log(16), 800},
		{"sine", Phase{Duration: Duration(20 * s), Rate: ptr(300), Amplitude: ptr(200), Period: Duration(10 * s)},
			map[time.Duration]float64{0: 300, 2500 * time.Millisecond: 500, 5 * s: 300, 7500 * time.Millisecond: 100}, 6000, 500},
		{"spike", Phase{Duration: Duration(10 * s), Rate: ptr(100), Spike: ptr(1000), SpikeAt: dur(5 * s), SpikeFor: Duration(2 * s)},
			map[time.Duration]float64{5*s - 1: 100, 5 * s: 1000, 7*s - 1: 1000, 7 * s: 100}, 100*10 + 900*2, 1000},
		{"points", Phase{Duration: Duration(60 * s), Points: []Point{{0, 100}, {Duration(30 * s), 400}, {Duration(60 * s), 150}}},
			map[time.Duration]float64{0: 100, 15 * s: 250, 30 * s: 400, 45 * s: 275}, 30*250 + 30*275, 400},
		{"repeat", Phase{Duration: Duration(2 * s), From: ptr(0), To: ptr(100), Repeat: 3},
			map[time.Duration]float64{s: 50, 3 * s: 50, 4 * s: 0, 5500 * time.Millisecond: 75}, 300, 100},
	}
	for _, tt := range tests {
		p := &Profile{Name: tt.name, Phases: []Phase{tt.ph}}
		p.ApplyDefaults()
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		sc := p.Schedule()
		for at, want := range tt.rates {
			if got := sc.RateAt(at); math.Abs(got-want) > 1e-9*want+1e-6 {
				t.Errorf("%s: RateAt(%v) = %v, want %v", tt.name, at, got, want)
			}
		}
		if got := sc.Total(); math.Abs(got-tt.total) > 1e-9*tt.total {
			t.Errorf("%s: Total = %v, want %v", tt.name, got, tt.total)
		}
		if got := p.PeakRate(); math.Abs(got-tt.peak) > 1e-9*tt.peak {
			t.Errorf("%s: PeakRate = %v, want %v", tt.name, got, tt.peak)
		}
	}
}

// A repeated phase is one span, so that PhaseAt keeps indexing Profile.Phases (what the
// attack tags each attempt with and the analysis keys its per-phase figures by).
func TestRepeatIsOneSpan(t *testing.T) {
	p := &Profile{Phases: []Phase{
		{Name: "a", Duration: Duration(time.Second), Rate: ptr(10)},
		{Name: "wave", Duration: Duration(2 * time.Second), Rate: ptr(10), Amplitude: ptr(5), Period: Duration(time.Second), Repeat: 3},
		{Name: "b", Duration: Duration(time.Second), Rate: ptr(10)},
	}}
	s := p.Schedule()
	if len(s.Spans) != 3 || s.Spans[1].Start != time.Second || s.Spans[1].End != 7*time.Second || s.Duration() != 8*time.Second {
		t.Fatalf("spans %+v", s.Spans)
	}
	for at, want := range map[time.Duration]int{999 * time.Millisecond: 0, time.Second: 1, 6999 * time.Millisecond: 1, 7 * time.Second: 2} {
		if got := s.PhaseAt(at); got != want {
			t.Errorf("PhaseAt(%v) = %d, want %d", at, got, want)
		}
	}
	if got := s.CountAt(7 * time.Second); math.Abs(got-70) > 1e-9 {
		t.Errorf("CountAt(7s) = %v, want 10 + 3 plays of 20", got)
	}
}

// kindsYAML has one phase of every kind and every new field, spike_at 0 and a seed at the
// top of its range, for round trips.
const kindsYAML = `name: kinds
seed: 18446744073709551615
phases:
  - name: stairs
    duration: 10s
    from: 100
    to: 500
    steps: 5
  - name: growth
    duration: 4s
    from: 50
    to: 800
    growth: exponential
  - name: wave
    duration: 20s
    rate: 300
    amplitude: 200
    period: 10s
    repeat: 2
  - name: burst
    duration: 10s
    rate: 100
    spike: 1000
    spike_at: 0s
    spike_for: 2s
  - name: pasted
    points: [[0, 100], [30s, 400], [1m, 150.5]]
client:
  timeout: 1s
`

func TestKindsRoundTrip(t *testing.T) {
	p, err := Parse([]byte(kindsYAML), "kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Seed != math.MaxUint64 || time.Duration(p.Phases[4].Duration) != time.Minute || *p.Phases[3].SpikeAt != 0 {
		t.Fatalf("parsed %+v", p)
	}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "[30s, 400]") {
		t.Errorf("points not written as pairs:\n%s", data)
	}
	q, err := Parse(data, "kinds")
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(p, q) {
		t.Errorf("YAML round trip changed the profile:\n%s", data)
	}
	js := checkJSONRoundTrip(t, p)
	// JSON is YAML: Parse reads the JSON form too, as results headers carry it.
	if back, err := Parse(js, "kinds.json"); err != nil || !reflect.DeepEqual(p, back) {
		t.Errorf("Parse of the JSON form: %v\n%s", err, js)
	}
	for _, bad := range []string{`[1, 2]`, `["1s"]`, `["1s", "x"]`, `["1 sec", 2]`, `{}`} {
		var pt Point
		if err := json.Unmarshal([]byte(bad), &pt); err == nil {
			t.Errorf("Point.UnmarshalJSON(%s) accepted it: %+v", bad, pt)
		}
	}
}

// Scaled must stretch every time of a curve with its duration, or the curve changes form:
// a spike would move, a wave would change its number of days, points would fall off the end.
func TestScaledKinds(t *testing.T) {
	p, err := Parse([]byte(kindsYAML), "kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := Parse([]byte(kindsYAML), "kinds.yaml")
	q := p.Scaled(2, 0.5)
	if !reflect.DeepEqual(p, orig) {
		t.Fatal("Scaled modified the original")
	}
	q.Phases[4].Points[1].Rate = -1
	if p.Phases[4].Points[1].Rate != 400 {
		t.Fatal("the scaled copy shares points with the original")
	}
	q = p.Scaled(2, 0.5)
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	ps, qs := p.Schedule(), q.Schedule()
	if qs.Duration() != ps.Duration()/2 {
		t.Errorf("scaled duration %v, want %v", qs.Duration(), ps.Duration()/2)
	}
	for i := range ps.Spans {
		a, b := ps.Spans[i].Shape.Count(ps.Spans[i].End-ps.Spans[i].Start), qs.Spans[i].Shape.Count(qs.Spans[i].End-qs.Spans[i].Start)
		if math.Abs(a-b) > 1e-9*a {
			t.Errorf("phase %d: scaled count %v, want %v (×2 rate, ×0.5 time)", i, b, a)
		}
		if pa, qa := ps.Spans[i].Peak(), qs.Spans[i].Peak(); math.Abs(2*pa-qa) > 1e-9*qa {
			t.Errorf("phase %d: scaled peak %v, want %v", i, qa, 2*pa)
		}
		// The curve keeps its form: the rate at a scaled time is twice the original's.
		for j := range 50 {
			at := (ps.Spans[i].End - ps.Spans[i].Start) * time.Duration(j) / 50
			if a, b := ps.Spans[i].Shape.Rate(at), qs.Spans[i].Shape.Rate(at/2); math.Abs(2*a-b) > 1e-6*max(b, 1) {
				t.Errorf("phase %d: scaled rate at %v = %v, want %v", i, at/2, b, 2*a)
			}
		}
	}
	w, sp, pts := q.Phases[2], q.Phases[3], q.Phases[4]
	if time.Duration(w.Period) != 5*time.Second || *w.Amplitude != 400 || w.Repeat != 2 ||
		*sp.Spike != 2000 || *sp.SpikeAt != 0 || time.Duration(sp.SpikeFor) != time.Second ||
		pts.Points[1] != (Point{Duration(15 * time.Second), 800}) || time.Duration(pts.Duration) != 30*time.Second ||
		q.Phases[0].Steps != 5 || q.Phases[1].Growth != GrowthExponential {
		t.Errorf("scaled fields: %+v %+v %+v", w, sp, pts)
	}
}

// The built-ins' numbers are what their descriptions promise; this pins them.
func TestBuiltinNumbersMatchDescriptions(t *testing.T) {
	tests := []struct {
		name     string
		length   time.Duration
		total    float64
		peak     float64
		kindType string
	}{
		{"flash-crowd", 25 * time.Second, 200*25 + 1000*2, 1200, "*curve.Piecewise"},
		{"diurnal", 30 * time.Second, 300 * 30, 500, "curve.Sine"},
		{"capacity-ramp", 40 * time.Second, 5 * 8 * 425, 800, "*curve.Piecewise"},
	}
	for _, tt := range tests {
		p := mustBuiltin(t, tt.name)
		s := p.Schedule()
		if s.Duration() != tt.length || math.Abs(s.Total()-tt.total) > 1e-9*tt.total || math.Abs(p.PeakRate()-tt.peak) > 1e-9*tt.peak {
			t.Errorf("%s: %v long, %v attempts, peak %v; want %v, %v, %v", tt.name, s.Duration(), s.Total(), p.PeakRate(), tt.length, tt.total, tt.peak)
		}
		if got := fmt.Sprintf("%T", s.Spans[0].Shape); got != tt.kindType {
			t.Errorf("%s: shape %s, want %s", tt.name, got, tt.kindType)
		}
	}
	// The knee is read off the steps: each is 5s at its own rate.
	s := mustBuiltin(t, "capacity-ramp").Schedule()
	for i := range 8 {
		want := 50 + 750*float64(i)/7
		if got := s.RateAt(time.Duration(i)*5*time.Second + 2500*time.Millisecond); math.Abs(got-want) > 1e-9 {
			t.Errorf("capacity-ramp step %d: %v/s, want %v/s", i, got, want)
		}
	}
}

func TestKindParseErrors(t *testing.T) {
	phase := func(lines ...string) string {
		return "name: t\nphases:\n  - name: a\n" + "    " + strings.Join(lines, "\n    ") + "\nclient:\n  timeout: 1s\n"
	}
	// Line 4 is the first phase field after the name, line 5 the second, and so on.
	tests := []struct {
		name  string
		input string
		line  int
		want  []string
	}{
		{"steps 0", phase("duration: 5s", "from: 1", "to: 5", "steps: 0"), 7, []string{"phases[0].steps", "0 is less than 1"}},
		{"steps negative", phase("duration: 5s", "from: 1", "to: 5", "steps: -2"), 7, []string{"phases[0].steps", "-2 is less than 1"}},
		{"steps not integer", phase("duration: 5s", "from: 1", "to: 5", "steps: 2.5"), 7, []string{"phases[0].steps", `"2.5"`}},
		{"steps too many", phase("duration: 5s", "from: 1", "to: 5", "steps: 2000000"), 7, []string{"phases[0].steps", "too many"}},
		{"steps shorter than 1ns", phase("duration: 5ns", "from: 1", "to: 5", "steps: 10"), 7, []string{"phases[0].steps", "shorter than a nanosecond"}},
		{"steps with rate", phase("duration: 5s", "rate: 1", "steps: 3"), 5, []string{"phases[0].rate", "both rate and from/to"}},
		{"steps without from", phase("duration: 5s", "steps: 3"), 5, []string{"phases[0].steps", "without from and to"}},
		{"steps with exponential", phase("duration: 5s", "from: 1", "to: 5", "steps: 3", "growth: exponential"), 8, []string{"phases[0].growth", "not both"}},
		{"unknown growth", phase("duration: 5s", "from: 1", "to: 5", "growth: quadratic"), 7, []string{"phases[0].growth", `unknown growth "quadratic"`, "exponential"}},
		{"exponential from 0", phase("duration: 5s", "from: 0", "to: 5", "growth: exponential"), 7, []string{"phases[0].growth", "from > 0"}},
		{"growth without to", phase("duration: 5s", "from: 1", "growth: exponential"), 5, []string{"phases[0].from", "from without to"}},
		{"amplitude above rate", phase("duration: 5s", "rate: 100", "amplitude: 150", "period: 1s"), 6, []string{"phases[0].amplitude", "150 is above rate 100"}},
		{"negative amplitude", phase("duration: 5s", "rate: 100", "amplitude: -1", "period: 1s"), 6, []string{"phases[0].amplitude", "-1 is negative"}},
		{"amplitude without period", phase("duration: 5s", "rate: 100", "amplitude: 50"), 6, []string{"phases[0].amplitude", "without period"}},
		{"period without amplitude", phase("duration: 5s", "rate: 100", "period: 2s"), 6, []string{"phases[0].period", "without amplitude"}},
		{"zero period", phase("duration: 5s", "rate: 100", "amplitude: 50", "period: 0s"), 7, []string{"phases[0].period", "not positive"}},
		{"wave without rate", phase("duration: 5s", "amplitude: 50", "period: 1s"), 5, []string{"phases[0].amplitude", "without rate"}},
		{"wave with from", phase("duration: 5s", "from: 1", "to: 2", "amplitude: 1", "period: 1s"), 5, []string{"phases[0].from", "set in a sine phase", "one kind of curve"}},
		{"spike without spike_at", phase("duration: 5s", "rate: 100", "spike: 1000", "spike_for: 1s"), 3, []string{"phases[0]", "no spike_at"}},
		{"spike without rate", phase("duration: 5s", "spike: 1000", "spike_at: 1s", "spike_for: 1s"), 5, []string{"phases[0].spike", "without rate"}},
		{"negative spike", phase("duration: 5s", "rate: 1", "spike: -5", "spike_at: 1s", "spike_for: 1s"), 6, []string{"phases[0].spike", "-5 is negative"}},
		{"negative spike_at", phase("duration: 5s", "rate: 1", "spike: 5", "spike_at: -1s", "spike_for: 1s"), 7, []string{"phases[0].spike_at", "-1s is negative"}},
		{"zero spike_for", phase("duration: 5s", "rate: 1", "spike: 5", "spike_at: 1s", "spike_for: 0s"), 8, []string{"phases[0].spike_for", "not positive"}},
		{"spike past the end", phase("duration: 5s", "rate: 1", "spike: 5", "spike_at: 4s", "spike_for: 2s"), 8, []string{"phases[0].spike_for", "ends at 6s, after the phase's end 5s"}},
		{"spike_at at the end", phase("duration: 5s", "rate: 1", "spike: 5", "spike_at: 5s", "spike_for: 2s"), 7, []string{"phases[0].spike_at", "not before the phase's end"}},
		{"spike with amplitude", phase("duration: 5s", "rate: 1", "spike: 5", "spike_at: 1s", "spike_for: 1s", "amplitude: 1", "period: 1s"), 6, []string{"phases[0].spike", "set in a sine phase"}},
		{"points not increasing", phase("points: [[0s, 1],\n      [2s, 5],\n      [2s, 3]]"), 6, []string{"phases[0].points[2]", "offset 2s is not after 2s"}},
		{"points not from 0", phase("points: [[1s, 1], [2s, 5]]"), 4, []string{"phases[0].points[0]", "first offset is 1s"}},
		{"points negative rate", phase("points:", "  - [0s, 1]", "  - [2s, -5]"), 6, []string{"phases[0].points[1]", "-5 is negative"}},
		{"points negative offset", phase("points: [[0s, 1], [-2s, 5]]"), 4, []string{"phases[0].points[1]", "-2s is negative"}},
		{"one point", phase("points: [[0s, 1]]"), 4, []string{"phases[0].points", "1 points", "at least two"}},
		{"point not a pair", phase("points: [[0s, 1], [2s]]"), 4, []string{"phases[0].points[1]", "is a list", "[offset, rate] pair"}},
		{"point without unit", phase("points: [[0s, 1], [2, 5]]"), 4, []string{"phases[0].points[1]", "2 has no unit"}},
		{"points with rate", phase("rate: 5", "points: [[0s, 1], [2s, 5]]"), 4, []string{"phases[0].rate", "set in a points phase"}},
		{"points duration disagrees", phase("duration: 5s", "points: [[0s, 1], [2s, 5]]"), 4, []string{"phases[0].duration", "5s differs from the last point's offset 2s"}},
		{"repeat 0", phase("duration: 5s", "rate: 1", "repeat: 0"), 6, []string{"phases[0].repeat", "0 is less than 1"}},
		{"repeat text", phase("duration: 5s", "rate: 1", "repeat: twice"), 6, []string{"phases[0].repeat", `"twice"`}},
		{"repeat overflows", phase("duration: 24h", "rate: 1", "repeat: 1000000000"), 6, []string{"phases[0].repeat", "1000000000 plays of 24h", "maximum 24h"}},
		{"repeats overflow the run", "phases:\n  - duration: 10h\n    rate: 1\n    repeat: 2\n  - duration: 10h\n    rate: 1\n    repeat: 2\n", 5, []string{"phases[1].duration", "total length reaches 40h", "maximum 24h"}},
		{"unknown key near new ones", phase("duration: 5s", "rate: 1", "spike_len: 1s"), 6, []string{`unknown key "spike_len"`, "spike_for"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.input), "x.yaml")
			checkParseError(t, p, err, tt.line, tt.want)
		})
	}
}

// Each error row above breaks one thing; the same phases, fixed, must parse, so that no row
// passes for a reason other than its own.
func TestKindParseValid(t *testing.T) {
	for _, in := range []string{
		kindsYAML,
		"phases:\n  - duration: 5s\n    from: 1\n    to: 5\n    steps: 1\n",
		"phases:\n  - duration: 5s\n    from: 1\n    to: 5\n    steps: 3\n    growth: linear\n",
		"phases:\n  - duration: 5s\n    rate: 100\n    amplitude: 100\n    period: 1s\n",
		"phases:\n  - duration: 5s\n    rate: 0\n    spike: 5\n    spike_at: 3s\n    spike_for: 2s\n",
		"phases:\n  - points: [[0s, 0], [2s, 5]]\n    duration: 2s\n    repeat: 1\n",
	} {
		if _, err := Parse([]byte(in), "ok.yaml"); err != nil {
			t.Errorf("%v\n%s", err, in)
		}
	}
}
