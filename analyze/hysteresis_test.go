package analyze

import (
	"strings"
	"testing"
	"time"
)

// TestGeneratorLagIsNotTheTargetsFailure: a stretch where goodput fell short only because the
// generator sent the requests late must not be called a collapse of the target.
func TestGeneratorLagIsNotTheTargetsFailure(t *testing.T) {
	s := build(n(calm, 20), seg{n: 10, intended: 100, offered: 100, goodput: 40}, n(calm, 20))
	s.lagged = make([]float64, len(s.intended))
	for i := 20; i < 30; i++ {
		s.lagged[i] = 55 // most of the 60 requests missing each second left late
	}
	j := judge(s, defaultParams())
	if j.verdict != Stable || j.genLimited == 0 {
		t.Fatalf("verdict %s with %d generator-limited windows; want stable and the lagged windows set aside\n%q", j.verdict, j.genLimited, j.evidence)
	}
	// The same shortfall with a generator that kept up is the target's.
	s.lagged = nil
	if j := judge(s, defaultParams()); j.verdict == Stable {
		t.Fatalf("a collapse with an on-time generator was judged stable")
	}
}

func TestHysteresisComparesTheSameLoadBeforeAndAfter(t *testing.T) {
	cases := []struct {
		name       string
		s          series
		before     float64
		after      float64
		wantTarget string
	}{
		{"metastable, phases", withPhases(build(n(calm, 30), n(surge, 10), n(stuck, 40)),
			span{"base", 0, 30 * time.Second}, span{"surge", 30 * time.Second, 40 * time.Second}, span{"after", 40 * time.Second, 80 * time.Second}),
			0.99, 0.2, "far worse than"},
		// A pasted production curve: one phase, no labels to lean on.
		{"metastable, one unlabelled phase", withPhases(build(n(calm, 30), n(surge, 10), n(stuck, 40)),
			span{"pasted", 0, 80 * time.Second}),
			0.99, 0.2, "far worse than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := defaultParams()
			p.band = 0.2
			j := judge(tc.s, p)
			if j.verdict != Metastable || j.hysteresis == nil {
				t.Fatalf("verdict %s, hysteresis %v: want metastable with a hysteresis measurement\n%q", j.verdict, j.hysteresis, j.evidence)
			}
			h := *j.hysteresis
			if h.LevelRPS != 100 || abs(h.GoodputBefore-tc.before) > 0.005 || abs(h.GoodputAfter-tc.after) > 0.005 {
				t.Fatalf("hysteresis %+v, want level 100, before %.2f, after %.2f", h, tc.before, tc.after)
			}
			if !strings.Contains(strings.Join(j.evidence, "\n"), tc.wantTarget) {
				t.Fatalf("evidence lacks %q: %q", tc.wantTarget, j.evidence)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestVulnerableNote(t *testing.T) {
	steady := build(n(calm, 30))
	nearKnee := steady
	nearKnee.p99 = make([]float64, len(steady.intended))
	for i := range nearKnee.p99 {
		nearKnee.p99[i] = 300 // 60 % of a 500 ms SLO: queueing has begun at ~99 rps of goodput
	}
	cases := []struct {
		name        string
		s           series
		maxAttempts int
		capacity    float64
		want        bool
	}{
		{"far from capacity: nothing known, nothing claimed", steady, 3, 0, false},
		{"near the knee with 3 attempts", nearKnee, 3, 0, true},
		{"near the knee without retries", nearKnee, 1, 0, false},
		{"given capacity well above the storm", steady, 3, 1000, false},
		{"given capacity below the storm", steady, 3, 250, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.maxAttempts = tc.maxAttempts
			p := defaultParams()
			p.slo, p.capacity = 500*time.Millisecond, tc.capacity
			j := judge(s, p)
			if j.verdict != Stable || j.vulnerable != tc.want {
				t.Fatalf("verdict %s, vulnerable %v; want stable, vulnerable %v\n%q", j.verdict, j.vulnerable, tc.want, j.evidence)
			}
		})
	}
}
