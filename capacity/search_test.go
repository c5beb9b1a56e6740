package capacity

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/retry"
)

// fakeProber is a target whose boundaries are known: steps pass up to knee, a surge tips the
// target from tips[policy] (× baseline) on, whatever its duration, unless tips has no entry
// for the policy. Time is simulated: every probe advances the clock by its cost.
type fakeProber struct {
	knee     float64
	tips     map[string]float64
	unsettle bool // settle probes never see a healthy target
	now      time.Time
	timeout  time.Duration
	ran      map[string]int // probe key → times run (settle probes excluded)
	calls    int            // non-settle probes run
	// cancelAfter cancels cancel when the n-th non-settle probe is asked for, and fails it
	// as an interrupted probe would.
	cancelAfter int
	cancel      context.CancelFunc
}

func newFake(knee float64, tips map[string]float64) *fakeProber {
	return &fakeProber{knee: knee, tips: tips, now: time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC),
		timeout: time.Second, ran: map[string]int{}}
}

func (f *fakeProber) Probe(ctx context.Context, p Probe) (Outcome, error) {
	if p.Kind != KindSettle {
		f.calls++
		if f.cancelAfter > 0 && f.calls == f.cancelAfter {
			f.cancel()
			return Outcome{}, ctx.Err()
		}
		f.ran[p.Key()]++
	}
	f.now = f.now.Add(p.Cost(f.timeout))
	switch p.Kind {
	case KindSettle:
		if f.unsettle {
			return Outcome{IntendedRPS: p.Rate, GoodputRPS: 0, P99: 1000, ErrorRate: 1}, nil
		}
		return Outcome{IntendedRPS: p.Rate, GoodputRPS: p.Rate, P50: 5, P99: 10}, nil
	case KindStep:
		if p.Rate <= f.knee {
			return Outcome{IntendedRPS: p.Rate, GoodputRPS: p.Rate, P50: 5, P99: 20}, nil
		}
		return Outcome{IntendedRPS: p.Rate, GoodputRPS: f.knee / 2, P50: 400, P99: 1000, ErrorRate: 0.5}, nil
	}
	if t, ok := f.tips[p.Policy]; ok && p.Size >= t {
		return Outcome{Verdict: "metastable"}, nil
	}
	rec := 3.0
	return Outcome{Verdict: "overloaded", RecoverySeconds: &rec}, nil
}

func (f *fakeProber) clock() time.Time { return f.now }

func (f *fakeProber) sleep(_ context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	return nil
}

func fakeSearch(f *fakeProber, cfg Config) *Search {
	return &Search{Prober: f, Config: cfg, State: NewState("http://fake", "digest"), Now: f.clock, Sleep: f.sleep}
}

func kneeOnly() Config {
	return Config{Step: 2 * time.Second, StartRate: 10, Precision: 0.05, Repeats: 3, P99: 100 * time.Millisecond, Budget: time.Hour}
}

func TestKneeBisectionConverges(t *testing.T) {
	for _, knee := range []float64{7.3, 173, 999, 4100} {
		f := newFake(knee, nil)
		res, err := fakeSearch(f, kneeOnly()).Run(context.Background())
		if err != nil || !res.Complete {
			t.Fatalf("knee %g: err %v, stopped %q", knee, err, res.Stopped)
		}
		k := res.Knee
		if k.RPS > knee || k.RPS < knee*(1-0.05)-0.1 {
			t.Errorf("knee %g: found %g, want within 5%% below", knee, k.RPS)
		}
		if len(k.Repeats) != 3 {
			t.Errorf("knee %g: %d repeats, want 3", knee, len(k.Repeats))
		}
		for _, b := range k.Repeats {
			if !(b.Good <= knee && b.Bad > knee) {
				t.Errorf("knee %g: bracket %+v does not hold it", knee, b)
			}
		}
		if !(k.LowRPS <= knee && k.HighRPS > knee) {
			t.Errorf("knee %g: interval [%g, %g] does not hold it", knee, k.LowRPS, k.HighRPS)
		}
		// Doubling then bisecting: about log2(knee/start) + log2(1/precision) + repeats.
		if n := res.ProbesRun; float64(n) > math.Log2(knee/10)+2+6+3*3 {
			t.Errorf("knee %g: %d probes, more than a bisection needs", knee, n)
		}
	}
}

func TestKneeAtLeastMaxRate(t *testing.T) {
	cfg := kneeOnly()
	cfg.MaxRate = 100
	res, err := fakeSearch(newFake(1e9, nil), cfg).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Knee.AtLeast || res.Knee.RPS != 80 {
		t.Fatalf("knee %+v, want at least 80 (the last doubling under 100)", res.Knee)
	}
}

func TestKneeTargetFailsEverywhere(t *testing.T) {
	_, err := fakeSearch(newFake(0.5, nil), kneeOnly()).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fails even at") {
		t.Fatalf("err %v, want one saying the target fails even at the lowest rate", err)
	}
}

func mapConfig() Config {
	return Config{
		Knee: 200, BaselineFraction: 0.5, Durations: []time.Duration{2 * time.Second, 5 * time.Second},
		SizeMin: 1.2, SizeMax: 6, SizePrecision: 0.1, Policies: []string{PolicyImmediate, PolicyBudget},
		Warm: 3 * time.Second, Grace: 10 * time.Second, Budget: time.Hour,
	}
}

func TestMapBisectsToBoundary(t *testing.T) {
	f := newFake(200, map[string]float64{PolicyImmediate: 2.5})
	res, err := fakeSearch(f, mapConfig()).Run(context.Background())
	if err != nil || !res.Complete {
		t.Fatalf("err %v, stopped %q", err, res.Stopped)
	}
	if res.BaselineRPS != 100 {
		t.Errorf("baseline %g, want 100", res.BaselineRPS)
	}
	imm, bud := res.Maps[0], res.Maps[1]
	for _, b := range imm.Boundaries {
		if !(b.RecoversAt < 2.5 && b.TipsAt >= 2.5 && b.TipsAt/b.RecoversAt <= 1.1) {
			t.Errorf("immediate, %gs: recovers %g, tips %g; want a bracket of 2.5 within 10%%", b.DurationSeconds, b.RecoversAt, b.TipsAt)
		}
		if !strings.Contains(b.Sentence, "does not recover with immediate retries") {
			t.Errorf("sentence %q", b.Sentence)
		}
	}
	for _, b := range bud.Boundaries {
		if b.TipsAt != 0 || b.RecoversAt != 6 || len(b.Probes) != 1 {
			t.Errorf("budget, %gs: %+v; want one probe at 6× that recovers", b.DurationSeconds, b)
		}
	}
	if len(res.Comparison) != 2 || !strings.Contains(res.Comparison[0], "budget takes at least") {
		t.Errorf("comparison %q", res.Comparison)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tipping map, with immediate retries", "> 6×", "policies compared"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBudgetRespected(t *testing.T) {
	cfg := mapConfig()
	cfg.Budget = 2 * time.Minute
	f := newFake(200, map[string]float64{PolicyImmediate: 2.5})
	start := f.now
	res, err := fakeSearch(f, cfg).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete || !strings.Contains(res.Stopped, "time budget") {
		t.Fatalf("complete %v, stopped %q: want stopped by the budget", res.Complete, res.Stopped)
	}
	if spent := f.now.Sub(start); spent > cfg.Budget {
		t.Fatalf("spent %s of a %s budget", spent, cfg.Budget)
	}
	if res.ProbesRun == 0 {
		t.Fatal("no probe fitted the budget")
	}
}

func TestNeverSettlesStops(t *testing.T) {
	cfg := mapConfig()
	cfg.SettleTimeout = 20 * time.Second
	f := newFake(200, map[string]float64{PolicyImmediate: 2.5})
	f.unsettle = true
	res, err := fakeSearch(f, cfg).Run(context.Background())
	if !errors.Is(err, ErrNotSettled) {
		t.Fatalf("err %v, want ErrNotSettled", err)
	}
	if !strings.Contains(err.Error(), "still unhealthy after") || res.Complete {
		t.Fatalf("err %q, complete %v", err, res.Complete)
	}
}

// TestResumeDoesNotRepeat interrupts a search after each possible number of probes, resumes it
// from the saved state file, and checks that no probe ran twice and that the result is the
// one an uninterrupted search finds.
func TestResumeDoesNotRepeat(t *testing.T) {
	cfg := mapConfig()
	cfg.Knee = 0
	cfg.StartRate, cfg.Step, cfg.Precision, cfg.Repeats, cfg.P99 = 10, 2*time.Second, 0.05, 2, 100*time.Millisecond
	tips := map[string]float64{PolicyImmediate: 2.5, PolicyBudget: 5}

	whole, err := fakeSearch(newFake(173, tips), cfg).Run(context.Background())
	if err != nil || !whole.Complete {
		t.Fatalf("uninterrupted: err %v, stopped %q", err, whole.Stopped)
	}
	total := whole.ProbesRun
	for n := 1; n <= total; n += 3 {
		path := filepath.Join(t.TempDir(), "state.json")
		f := newFake(173, tips)
		ctx, cancel := context.WithCancel(context.Background())
		f.cancelAfter, f.cancel = n, cancel
		s := fakeSearch(f, cfg)
		s.Save = func(st *State) error { return st.Save(path) }
		first, err := s.Run(ctx)
		cancel()
		if err != nil || first.Complete || !strings.Contains(first.Stopped, "interrupted") {
			t.Fatalf("n=%d: err %v, complete %v, stopped %q", n, err, first.Complete, first.Stopped)
		}
		if first.ProbesRun != n-1 {
			t.Fatalf("n=%d: %d probes before the interruption, want %d", n, first.ProbesRun, n-1)
		}

		st, err := LoadState(path, "http://fake", "digest")
		if n == 1 {
			// Nothing was saved before the first probe; a missing file is an empty state.
			st = NewState("http://fake", "digest")
		} else if err != nil {
			t.Fatal(err)
		}
		f.cancelAfter = 0
		s2 := fakeSearch(f, cfg)
		s2.State = st
		second, err := s2.Run(context.Background())
		if err != nil || !second.Complete {
			t.Fatalf("n=%d resumed: err %v, stopped %q", n, err, second.Stopped)
		}
		for key, times := range f.ran {
			if times > 1 {
				t.Errorf("n=%d: probe %q ran %d times", n, key, times)
			}
		}
		if second.ProbesReused != n-1 || second.ProbesRun+second.ProbesReused != total {
			t.Errorf("n=%d: resumed run reused %d and ran %d, want %d and %d", n, second.ProbesReused, second.ProbesRun, n-1, total-(n-1))
		}
		if !reflect.DeepEqual(second.Knee, whole.Knee) || !reflect.DeepEqual(second.Maps, whole.Maps) {
			t.Errorf("n=%d: resumed result differs from the uninterrupted one", n)
		}
	}
}

func TestStateRefusesAnotherSearch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := NewState("http://a:1", "digest-a")
	st.add(Probe{Kind: KindStep, Rate: 10, Duration: dur(time.Second)}, Outcome{IntendedRPS: 10}, time.Now())
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadState(path, "http://b:2", "digest-a"); !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), "http://a:1") {
		t.Errorf("other target: err %v", err)
	}
	if _, err := LoadState(path, "http://a:1", "digest-b"); !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), "another profile") {
		t.Errorf("other profile: err %v", err)
	}
	got, err := LoadState(path, "http://a:1", "digest-a")
	if err != nil || len(got.Probes) != 1 {
		t.Fatalf("same search: %v, %d probes", err, len(got.Probes))
	}
}

func TestParsePolicies(t *testing.T) {
	got, err := ParsePolicies("none, immediate,expo-jitter,budget,immediate")
	if err != nil || !reflect.DeepEqual(got, []string{"none", "immediate", "expo-jitter", "budget"}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParsePolicies("immediate,hammer"); err == nil || !strings.Contains(err.Error(), `"hammer"`) {
		t.Fatalf("err %v", err)
	}
	for _, name := range PolicyNames()[1:] {
		if _, ok := retry.Preset(name); !ok {
			t.Fatalf("%s has no retry", name)
		}
		prof := retryFor(mustProfile(t), name)
		if err := prof.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestTippedWithoutEvidence is issue 11 in the knee search: a surge probe the analysis judged
// down (nothing served) or inconclusive proved no recovery, so it counts as tipped, as an
// overload with no recovery does.
func TestTippedWithoutEvidence(t *testing.T) {
	rec := 3.0
	cases := []struct {
		o    Outcome
		want bool
	}{
		{Outcome{Verdict: "stable"}, false},
		{Outcome{Verdict: "overloaded", RecoverySeconds: &rec}, false},
		{Outcome{Verdict: "overloaded"}, true},
		{Outcome{Verdict: "metastable"}, true},
		{Outcome{Verdict: "down"}, true},
		{Outcome{Verdict: "down", RecoverySeconds: &rec}, true},
		{Outcome{Verdict: "inconclusive"}, true},
	}
	for _, tc := range cases {
		if got := tc.o.Tipped(); got != tc.want {
			t.Errorf("%s (recovery %v): tipped %v, want %v", tc.o.Verdict, tc.o.RecoverySeconds != nil, got, tc.want)
		}
	}
}
