package capacity

import (
	"context"
	"strings"
	"testing"
	"time"
)

// cutFake is a target whose capacity-drop boundary is known: like a queue that a cut of c for
// d seconds at base load fills past the clients' timeout T, it tips when
// d × (base − knee × (1 − c)) > knee × T, i.e. from c0 = 1 − base/knee + T/d on. A larger cut,
// a longer one or a higher base load tips it; a slightly smaller one of any does not.
type cutFake struct {
	*fakeProber
	timeout float64 // T, seconds
	cuts    int
}

func (f *cutFake) c0(base float64, d time.Duration) float64 {
	return 1 - base/f.knee + f.timeout/d.Seconds()
}

func (f *cutFake) Probe(ctx context.Context, p Probe) (Outcome, error) {
	if p.Kind != KindCut {
		return f.fakeProber.Probe(ctx, p)
	}
	f.cuts++
	f.now = f.now.Add(p.Cost(f.fakeProber.timeout))
	if p.Size >= f.c0(p.Rate, time.Duration(p.Duration)) {
		return Outcome{Verdict: "metastable"}, nil
	}
	rec := 2.0
	return Outcome{Verdict: "overloaded", RecoverySeconds: &rec}, nil
}

// TestCutMapMonotone: the capacity-drop search brackets the known boundary at every baseline
// and duration within its precision, and the map it draws has Huang et al.'s shape: the cut
// that tips shrinks as the cut lasts longer and as the base load rises.
func TestCutMapMonotone(t *testing.T) {
	f := &cutFake{fakeProber: newFake(400, nil), timeout: 0.5}
	durations := []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second}
	cfg := Config{Knee: 400, Trigger: TriggerCapacityDrop, BaselineFractions: []float64{0.45, 0.6},
		Durations: durations, Policies: []string{PolicyImmediate}, CutMin: 0.2, CutMax: 0.95, CutPrecision: 0.02,
		Warm: 3 * time.Second, Grace: 8 * time.Second, Budget: 10 * time.Hour}
	s := &Search{Prober: f, Config: cfg, State: NewState("http://fake", "digest"), Now: f.clock, Sleep: f.sleep}
	res, err := s.Run(context.Background())
	if err != nil || !res.Complete {
		t.Fatalf("err %v, stopped %q", err, res.Stopped)
	}
	if res.Trigger != TriggerCapacityDrop || len(res.Maps) != 2 {
		t.Fatalf("result %+v: want two capacity-drop maps", res)
	}
	for _, m := range res.Maps {
		for i, b := range m.Boundaries {
			c0 := f.c0(m.BaselineRPS, durations[i])
			if !(b.RecoversAt < c0 && b.TipsAt >= c0 && b.TipsAt-b.RecoversAt <= 0.02+1e-9) {
				t.Errorf("base %g, %s: recovers at %g, tips at %g; the boundary %g is not bracketed to 0.02",
					m.BaselineRPS, durations[i], b.RecoversAt, b.TipsAt, c0)
			}
			if i > 0 && b.TipsAt > m.Boundaries[i-1].TipsAt {
				t.Errorf("base %g: a %s cut tips from %g, a shorter one from %g: not monotone", m.BaselineRPS, durations[i], b.TipsAt, m.Boundaries[i-1].TipsAt)
			}
			if !strings.Contains(b.Sentence, "capacity cut for") {
				t.Errorf("sentence %q", b.Sentence)
			}
		}
	}
	low, high := res.Maps[0], res.Maps[1]
	for i := range durations {
		if high.Boundaries[i].TipsAt > low.Boundaries[i].TipsAt {
			t.Errorf("%s: at the higher base load a cut tips from %g, at the lower from %g", durations[i], high.Boundaries[i].TipsAt, low.Boundaries[i].TipsAt)
		}
	}
	// Bisection, not a grid: about log2(0.75/0.02) ≈ 6 probes per boundary.
	if f.cuts > 6*8 {
		t.Errorf("%d cut probes for 6 boundaries", f.cuts)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil || !strings.Contains(out.String(), "capacity-drop map") || !strings.Contains(out.String(), "capacity cut for") {
		t.Errorf("text: %v\n%s", err, out.String())
	}
}

func TestCutConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Trigger: "cpu"}, "unknown trigger"},
		{Config{Trigger: TriggerCapacityDrop, CutMin: 0.5, CutMax: 0.4}, "0 < min < max < 1"},
		{Config{Trigger: TriggerCapacityDrop, CutMax: 1}, "0 < min < max < 1"},
		{Config{Trigger: TriggerCapacityDrop, BaselineFractions: []float64{1.2}}, "baseline fractions"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestCutPct(t *testing.T) {
	for in, want := range map[float64]string{0.575: "57.5 %", 0.57499999999999: "57.5 %", 0.8: "80 %", 0.815: "81.5 %"} {
		if got := cutPct(in); got != want {
			t.Errorf("cutPct(%v) = %q, want %q", in, got, want)
		}
	}
}
