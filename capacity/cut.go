package capacity

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// cutMaps measures capacity-drop maps: for each baseline, policy and duration, the capacity
// cut beyond which the target does not recover at that baseline, as Huang et al. measured
// their retry experiment (a CPU cut of a size for a time, at a base load).
func (r *run) cutMaps(ctx context.Context) error {
	for _, frac := range r.cfg.BaselineFractions {
		base := roundRate(r.res.Knee.RPS * frac)
		if r.res.BaselineRPS == 0 {
			r.res.BaselineRPS = base
		}
		r.settleRate = base
		r.logf("capacity-drop map at %s req/s (%s of the knee)", rate(base), percent(frac))
		for _, pol := range r.cfg.Policies {
			r.res.Maps = append(r.res.Maps, Map{Policy: pol, BaselineFraction: frac, BaselineRPS: base})
			m := &r.res.Maps[len(r.res.Maps)-1]
			for _, d := range r.cfg.Durations {
				m.Boundaries = append(m.Boundaries, Boundary{DurationSeconds: d.Seconds()})
				b := &m.Boundaries[len(m.Boundaries)-1]
				err := r.cutBoundary(ctx, pol, base, d, b)
				b.Sentence = cutSentence(frac, base, pol, d, *b)
				if err != nil {
					return err
				}
				r.logf("%s", b.Sentence)
			}
		}
	}
	return nil
}

// cutBoundary bisects the cut for one baseline, policy and duration (bisect), until the
// largest cut that recovered and the smallest that tipped are CutPrecision apart.
func (r *run) cutBoundary(ctx context.Context, policy string, base float64, d time.Duration, b *Boundary) error {
	return r.bisect(ctx, b, bisection{
		probe: func(c float64) Probe {
			return Probe{Kind: KindCut, Rate: base, Duration: dur(d), Size: c, Policy: policy,
				Warm: dur(r.cfg.Warm), Grace: dur(r.cfg.Grace)}
		},
		lo: roundCut(r.cfg.CutMin), hi: roundCut(r.cfg.CutMax),
		mid:   func(lo, hi float64) float64 { return roundCut((lo + hi) / 2) },
		close: func(lo, hi float64) bool { return hi-lo <= r.cfg.CutPrecision+1e-9 },
	})
}

// roundCut keeps cuts to 0.5 %, so that keys and tables stay readable and a resumed search
// computes the same cuts.
func roundCut(x float64) float64 { return math.Round(x*200) / 200 }

// cutPct writes a cut as a percentage to 0.1 % (0.575 is 57.5 %, not 57.49999999999999 %).
func cutPct(c float64) string { return strconv.FormatFloat(math.Round(1000*c)/10, 'f', -1, 64) + " %" }

// cutSentence says one capacity-drop boundary in words, e.g. "at 60 % load (240 req/s), an
// 80 % capacity cut for 10 s does not recover with immediate retries (a 75 % cut does)".
func cutSentence(fraction, base float64, policy string, d time.Duration, b Boundary) string {
	at := fmt.Sprintf("at %s load (%s req/s), ", percent(fraction), rate(base))
	who := policyPhrase(policy)
	switch {
	case b.TipsAt > 0 && b.RecoversAt > 0:
		return fmt.Sprintf("%sa %s capacity cut for %s does not recover %s (a %s cut does)", at, cutPct(b.TipsAt), seconds(d), who, cutPct(b.RecoversAt))
	case b.TipsAt > 0 && b.Complete:
		return fmt.Sprintf("%seven a %s capacity cut for %s does not recover %s", at, cutPct(b.TipsAt), seconds(d), who)
	case b.TipsAt > 0:
		return fmt.Sprintf("%sa %s capacity cut for %s does not recover %s (search stopped before a smaller one)", at, cutPct(b.TipsAt), seconds(d), who)
	case b.RecoversAt > 0:
		return fmt.Sprintf("%scapacity cuts up to %s for %s recover %s", at, cutPct(b.RecoversAt), seconds(d), who)
	}
	return fmt.Sprintf("%s%s capacity cuts %s: not measured (the search stopped first)", at, seconds(d), who)
}

// CutTrigger is how a capacity-drop probe cuts the target's capacity and gives it back:
// Start and Stop are URLs, called with POST, in which {cut} (the share cut, 0.8),
// {percent} (80), {fraction} (the share left, 0.2) and {duration_s} (10) are replaced, with
// StartBody and StopBody (same placeholders) as bodies. A URL may be a path, resolved against
// the target.
type CutTrigger struct {
	Start, StartBody string
	Stop, StopBody   string
}

// BuiltinCutTrigger drives the built-in target's control endpoints.
func BuiltinCutTrigger() CutTrigger {
	return CutTrigger{
		Start: "/control/capacity", StartBody: `{"fraction": {fraction}}`,
		Stop: "/control/restore", StopBody: "{}",
	}
}

// trigger is the profile trigger of a cut probe.
func (ct CutTrigger) trigger(p Probe) profiles.Trigger {
	fill := func(s string) string {
		return strings.NewReplacer(
			"{cut}", strconv.FormatFloat(p.Size, 'f', -1, 64),
			"{percent}", strconv.FormatFloat(100*p.Size, 'f', -1, 64),
			"{fraction}", strconv.FormatFloat(roundCut(1-p.Size), 'f', -1, 64),
			"{duration_s}", strconv.FormatFloat(time.Duration(p.Duration).Seconds(), 'f', -1, 64),
		).Replace(s)
	}
	stop := profiles.Call{URL: fill(ct.Stop), Body: fill(ct.StopBody)}
	return profiles.Trigger{
		Name: TriggerCapacityDrop, At: p.Warm, For: p.Duration,
		Start: profiles.Call{URL: fill(ct.Start), Body: fill(ct.StartBody)},
		Stop:  &stop,
	}
}
