package capacity

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/simservice"
)

// These tests run short real searches against the built-in target on loopback, one at a
// time, with a small pool (4 × 25 ms = 160 req/s) so the generator costs little CPU.

const testProfile = `
name: capacity-test
phases: [{duration: 1s, rate: 1}]
client:
  timeout: 250ms
  retry: {policy: immediate, max_attempts: 4}
slo: {latency: 250ms}
request: {path: /}
seed: 7
`

func testTargetConfig() simservice.Config {
	cfg := simservice.DefaultConfig()
	cfg.DBConns = 4
	cfg.QueryTime = 25 * time.Millisecond
	return cfg
}

func startTarget(t *testing.T, addr string, cfg simservice.Config) *simservice.Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run, err := simservice.Start(ctx, addr, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-run.Done()
	})
	return run
}

func realSearch(t *testing.T, url string, cfg Config) *Search {
	t.Helper()
	prof, err := profiles.Parse([]byte(testProfile), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Log("\n" + log.String())
		}
	})
	return &Search{
		Prober:   &HTTPProber{Target: url, Profile: prof, Analyze: analyze.DefaultOptions()},
		Config:   cfg,
		State:    NewState(url, ProfileDigest(prof)),
		Progress: &log,
	}
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run against the built-in target")
	}
}

func TestRealKneeNearCapacity(t *testing.T) {
	skipShort(t)
	tc := testTargetConfig()
	run := startTarget(t, "127.0.0.1:0", tc)
	s := realSearch(t, run.URL, Config{
		Step: 2 * time.Second, StartRate: 40, Precision: 0.05, Repeats: 2,
		P99: 100 * time.Millisecond, SettleProbe: time.Second, SettlePause: 500 * time.Millisecond,
		SettleTimeout: 20 * time.Second, Budget: 100 * time.Second, ClientTimeout: 250 * time.Millisecond,
	})
	res := runComplete(t, s)
	want := tc.Capacity()
	if got := res.Knee.RPS; math.Abs(got-want) > 0.1*want {
		t.Fatalf("knee %g req/s, want within 10%% of the pool's capacity %g", got, want)
	}
}

func mustProfile(t *testing.T) *profiles.Profile {
	t.Helper()
	prof, err := profiles.Parse([]byte(testProfile), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return prof
}

// TestRealImmediateTipsBeforeBudget maps one surge duration at half the pool's capacity for
// clients that retry at once and for the same clients under a token-bucket retry budget: the
// immediate ones must tip at a smaller surge (or the budgeted ones not at all).
func TestRealImmediateTipsBeforeBudget(t *testing.T) {
	skipShort(t)
	tc := testTargetConfig()
	run := startTarget(t, "127.0.0.1:0", tc)
	s := realSearch(t, run.URL, Config{
		Knee: tc.Capacity(), BaselineFraction: 0.5, Durations: []time.Duration{2 * time.Second},
		SizeMin: 1.5, SizeMax: 4, SizePrecision: 1, Policies: []string{PolicyImmediate, PolicyBudget},
		Warm: 2 * time.Second, Grace: 7 * time.Second, P99: 100 * time.Millisecond,
		SettleProbe: time.Second, SettlePause: time.Second, SettleTimeout: 30 * time.Second,
		Budget: 150 * time.Second, ClientTimeout: 250 * time.Millisecond,
	})
	res := runComplete(t, s)
	imm, bud := res.Maps[0].Boundaries[0], res.Maps[1].Boundaries[0]
	if imm.TipsAt == 0 {
		t.Fatalf("immediate retries never tipped up to %g×: %+v", 4.0, imm)
	}
	if bud.TipsAt != 0 && bud.TipsAt <= imm.TipsAt {
		t.Fatalf("budgeted retries tipped at %g×, not above immediate's %g×", bud.TipsAt, imm.TipsAt)
	}
}

// restartingProber restarts the target on the same address with another configuration once
// the first probe has run: a capacity cut by a deploy between two probes.
type restartingProber struct {
	Prober
	t       *testing.T
	addr    string
	run     **simservice.Running
	cfg     simservice.Config
	started bool
}

func (r *restartingProber) Probe(ctx context.Context, p Probe) (Outcome, error) {
	o, err := r.Prober.Probe(ctx, p)
	if p.Kind != KindSettle && !r.started {
		r.started = true
		if err := (*r.run).Stop(); err != nil {
			r.t.Errorf("stopping the first target: %v", err)
		}
		*r.run = startTarget(r.t, r.addr, r.cfg)
	}
	return o, err
}

func TestRealNeverSettles(t *testing.T) {
	skipShort(t)
	first := startTarget(t, "127.0.0.1:0", testTargetConfig())
	addr := strings.TrimPrefix(first.URL, "http://")
	slow := testTargetConfig()
	slow.QueryTime = 2 * time.Second // far above the 250ms client timeout: 2 req/s
	s := realSearch(t, first.URL, Config{
		Knee: 160, BaselineFraction: 0.5, Durations: []time.Duration{time.Second},
		SizeMin: 1.5, SizeMax: 4, Policies: []string{PolicyImmediate},
		Warm: 2 * time.Second, Grace: 3 * time.Second, P99: 100 * time.Millisecond,
		SettleProbe: time.Second, SettlePause: 500 * time.Millisecond, SettleTimeout: 4 * time.Second,
		Budget: 60 * time.Second, ClientTimeout: 250 * time.Millisecond,
	})
	run := first
	s.Prober = &restartingProber{Prober: s.Prober, t: t, addr: addr, run: &run, cfg: slow}
	res, err := s.Run(context.Background())
	if !errors.Is(err, ErrNotSettled) {
		t.Fatalf("err %v, want ErrNotSettled", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), first.URL+" still unhealthy after") || res.Complete {
		t.Fatalf("err %q, complete %v", err, res.Complete)
	}
}

// runComplete runs a search, logs its text report and fails unless it completed.
func runComplete(t *testing.T, s *Search) *Result {
	t.Helper()
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if !res.Complete {
		t.Fatalf("search incomplete: %s", res.Stopped)
	}
	return res
}

// TestRealCutProbes runs two capacity-drop probes against the built-in target through its
// control endpoints, with immediate retries at 60 % of its capacity: a 90 % cut for 2 s
// tips it, a 30 % cut (still above the baseline's needs) does not. Each probe cuts the
// capacity and restores it, as the target's own log shows.
func TestRealCutProbes(t *testing.T) {
	skipShort(t)
	tc := testTargetConfig()
	run := startTarget(t, "127.0.0.1:0", tc)
	prof := mustProfile(t)
	prober := &HTTPProber{Target: run.URL, Profile: prof, Analyze: analyze.DefaultOptions(), Cut: BuiltinCutTrigger()}
	base := roundRate(0.6 * tc.Capacity())
	for _, tt := range []struct {
		cut    float64
		tipped bool
	}{{0.3, false}, {0.9, true}} { // the one that tips last: its queue takes long to drain
		p := Probe{Kind: KindCut, Rate: base, Duration: dur(2 * time.Second), Size: tt.cut, Policy: PolicyImmediate,
			Warm: dur(2 * time.Second), Grace: dur(5 * time.Second)}
		before := run.Server.Stats().ControlChanges
		o, err := prober.Probe(context.Background(), p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if o.Tipped() != tt.tipped {
			t.Errorf("%s: %s (%s), tipped %v; want tipped %v", p, o.Verdict, o.Detail, o.Tipped(), tt.tipped)
		}
		st := run.Server.Stats()
		if st.ControlChanges != before+2 || st.CapacityFraction != 1 || st.LastControl == nil || !strings.HasPrefix(st.LastControl.Change, "restored") {
			t.Errorf("%s: the target saw %d control changes, capacity now %g (last %+v); want the cut and its restore", p, st.ControlChanges-before, st.CapacityFraction, st.LastControl)
		}
	}
}
