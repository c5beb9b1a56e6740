package analyze

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// seg is a stretch of synthetic windows with constant per-window counts.
type seg struct {
	n                                            int
	intended, offered, goodput, errors, timeouts float64
}

func build(segs ...seg) series {
	s := series{window: time.Second}
	for _, g := range segs {
		for range g.n {
			s.intended = append(s.intended, g.intended)
			s.offered = append(s.offered, g.offered)
			s.goodput = append(s.goodput, g.goodput)
			s.errors = append(s.errors, g.errors)
			s.timeouts = append(s.timeouts, g.timeouts)
		}
	}
	return s
}

func withPhases(s series, phases ...span) series {
	s.phases = phases
	return s
}

func defaultParams() judgeParams {
	return judgeParams{tolerance: 0.10, minCount: 30, sustain: 3, grace: 5 * time.Second}
}

var (
	calm   = seg{intended: 100, offered: 100, goodput: 99}
	surge  = seg{intended: 300, offered: 300, goodput: 100, errors: 150, timeouts: 140}
	stuck  = seg{intended: 100, offered: 300, goodput: 20, errors: 260, timeouts: 250}
	drains = seg{intended: 100, offered: 150, goodput: 60, errors: 80, timeouts: 70}
)

func n(g seg, k int) seg { g.n = k; return g }

// poissonSeries is a steady low rate with Poisson noise, where a few requests end in the next
// window and 1% fail, as a healthy target at 20 rps looks.
func poissonSeries(seed uint64, windows int, rate float64) series {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := series{window: time.Second}
	s.intended = make([]float64, windows)
	s.offered = make([]float64, windows)
	s.goodput = make([]float64, windows+1)
	s.errors = make([]float64, windows+1)
	s.timeouts = make([]float64, windows+1)
	for i := range windows {
		k := poisson(rng, rate)
		s.intended[i], s.offered[i] = float64(k), float64(k)
		for range k {
			end := i
			if rng.Float64() < 0.05 {
				end++
			}
			if rng.Float64() < 0.01 {
				s.errors[end]++
			} else {
				s.goodput[end]++
			}
		}
	}
	s.intended = append(s.intended, 0)
	s.offered = append(s.offered, 0)
	return s
}

func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func TestJudge(t *testing.T) {
	phases := []span{
		{name: "base", start: 0, end: 30 * time.Second},
		{name: "surge", start: 30 * time.Second, end: 40 * time.Second},
		{name: "after", start: 40 * time.Second, end: 100 * time.Second},
	}
	slowStart := build(n(seg{intended: 100, offered: 100, goodput: 50}, 2), n(calm, 58))
	tests := []struct {
		name       string
		s          series
		verdict    string
		onset      int
		triggerEnd int
		recovery   int // window index, -1 none
		phase      string
		evidence   []string // substrings that must appear
	}{
		{
			name: "steady healthy", s: build(n(calm, 60)),
			verdict: Stable, onset: -1, triggerEnd: -1, recovery: -1,
			evidence: []string{"within 10% of the intended load in 60 judged windows"},
		},
		{
			name:    "surge with recovery",
			s:       withPhases(build(n(calm, 30), n(surge, 10), n(drains, 5), n(calm, 45)), phases...),
			verdict: Overloaded, onset: 30, triggerEnd: 40, recovery: 45, phase: "surge",
			evidence: []string{"collapsed at t=30 s", `phase "surge" (30–40 s)`, "recovered at t=45 s, 5 s after"},
		},
		{
			name:    "surge then persistent collapse",
			s:       withPhases(build(n(calm, 30), n(surge, 10), n(stuck, 60)), phases...),
			verdict: Metastable, onset: 30, triggerEnd: 40, recovery: -1, phase: "surge",
			evidence: []string{
				"goodput collapsed at t=30 s: 100 rps against 300 rps intended",
				"it ended at t=40 s", "at or below 100 rps",
				"offered load averaged 300 rps and stayed above goodput, which averaged 20 rps against 100 rps intended",
				"amplification after the trigger: 3.00 attempts per request",
				"sustaining effect: retries", "sustaining effect: abandoned work: timeouts were 96% of errors",
				"did not recover in 60 s after the trigger ended",
			},
		},
		{
			name:    "collapse too close to the end",
			s:       build(n(calm, 90), n(surge, 5), n(stuck, 3)),
			verdict: Overloaded, onset: 90, triggerEnd: 95, recovery: -1,
			evidence: []string{"not recovered 3 s after the trigger, less than the grace period 5 s: inconclusive"},
		},
		{
			name: "slow start", s: slowStart,
			verdict: Stable, onset: -1, triggerEnd: -1, recovery: -1,
		},
		{
			name:    "load never comes back down",
			s:       build(n(calm, 30), n(surge, 40)),
			verdict: Overloaded, onset: 30, triggerEnd: -1, recovery: -1,
			evidence: []string{"never came back down to the 100 rps", "the trigger never ended"},
		},
		{
			name:    "never healthy",
			s:       build(n(surge, 40)),
			verdict: Overloaded, onset: 0, triggerEnd: -1, recovery: -1,
			evidence: []string{"overloaded from the start"},
		},
		{
			name:    "capacity loss without surge",
			s:       build(n(calm, 30), n(seg{intended: 100, offered: 100, goodput: 10, errors: 90}, 30)),
			verdict: Metastable, onset: 30, triggerEnd: 30, recovery: -1,
			evidence: []string{"not a load surge", "the target appears to have lost capacity"},
		},
		{
			// Goodput 0 with too few requests to judge any window: not "stable" (issue 11).
			name: "too few requests, none served", s: build(n(seg{intended: 1, offered: 1, goodput: 0, errors: 1}, 20)),
			verdict: Down, onset: -1, triggerEnd: -1, recovery: -1,
			evidence: []string{"no request was served"},
		},
		{
			name: "too few requests, all served", s: build(n(seg{intended: 1, offered: 1, goodput: 1}, 20)),
			verdict: Inconclusive, onset: -1, triggerEnd: -1, recovery: -1,
			evidence: []string{"too few requests to judge", "run longer or raise the rate"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := judge(tc.s, defaultParams())
			if j.verdict != tc.verdict || j.onset != tc.onset || j.triggerEnd != tc.triggerEnd || j.recovery != tc.recovery {
				t.Fatalf("got %s onset=%d triggerEnd=%d recovery=%d, want %s %d %d %d\nevidence: %q",
					j.verdict, j.onset, j.triggerEnd, j.recovery, tc.verdict, tc.onset, tc.triggerEnd, tc.recovery, j.evidence)
			}
			if j.triggerPhase != tc.phase {
				t.Errorf("trigger phase %q, want %q", j.triggerPhase, tc.phase)
			}
			all := strings.Join(j.evidence, "\n")
			for _, want := range tc.evidence {
				if !strings.Contains(all, want) {
					t.Errorf("evidence lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

func TestJudgeNoisyLowRateIsStable(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		s := poissonSeries(seed, 300, 20)
		if j := judge(s, defaultParams()); j.verdict != Stable {
			t.Errorf("seed %d: %s at onset %d: %q", seed, j.verdict, j.onset, j.evidence)
		}
	}
}

// TestJudgeNoisyLowRateCollapse checks that widening the judging span at low rates still
// lets a real collapse through.
func TestJudgeNoisyLowRateCollapse(t *testing.T) {
	s := poissonSeries(7, 200, 20)
	for i := 100; i < len(s.goodput); i++ {
		s.goodput[i] *= 0.3
	}
	if j := judge(s, defaultParams()); j.verdict == Stable || j.onset < 99 || j.onset > 102 {
		t.Errorf("got %s onset %d, want a collapse found at about window 100", j.verdict, j.onset)
	}
}

func TestJudgeWindows(t *testing.T) {
	t.Run("partial first window is not judged", func(t *testing.T) {
		s := build(n(seg{intended: 40, goodput: 0}, 1), n(calm, 5))
		s.skip = 1
		js := judgeWindows(s, defaultParams())
		if js.state[0] != unjudged || js.state[1] != healthy {
			t.Errorf("states %v, want window 0 unjudged and window 1 healthy", js.state)
		}
	})
	t.Run("span widens to MinCount", func(t *testing.T) {
		s := build(n(seg{intended: 10, goodput: 10}, 5))
		js := judgeWindows(s, defaultParams())
		want := []int{-1, -1, 0, 1, 2}
		for i, w := range want {
			if js.from[i] != w {
				t.Errorf("window %d judged from %d, want %d", i, js.from[i], w)
			}
		}
		if js.rate[4] != 10 {
			t.Errorf("smoothed rate %v, want 10", js.rate[4])
		}
	})
	t.Run("span stops widening after maxWiden windows", func(t *testing.T) {
		s := build(n(seg{intended: 2, goodput: 2}, 30))
		js := judgeWindows(s, defaultParams())
		for i, st := range js.state {
			if st != unjudged {
				t.Fatalf("window %d judged with only %d intended requests in %d windows", i, 2*maxWiden, maxWiden)
			}
		}
	})
	t.Run("queue absorbing a surge is not a served level", func(t *testing.T) {
		// Two healthy surge windows before the collapse must not raise L to the surge rate.
		s := build(n(calm, 30), n(seg{intended: 300, offered: 300, goodput: 300}, 2), n(surge, 8), n(stuck, 30))
		j := judge(s, defaultParams())
		if j.level != 100 || j.triggerEnd != 40 || j.verdict != Metastable {
			t.Errorf("level %v triggerEnd %d verdict %s, want 100, 40, metastable", j.level, j.triggerEnd, j.verdict)
		}
	})
}

func TestJudgeSustainingEffects(t *testing.T) {
	tests := []struct {
		name          string
		after         seg
		want, wantNot string
	}{
		{"retries", seg{intended: 100, offered: 250, goodput: 10, errors: 200, timeouts: 10}, "sustaining effect: retries", "abandoned work"},
		{"abandoned work", seg{intended: 100, offered: 100, goodput: 10, errors: 90, timeouts: 60}, "abandoned work", "sustaining effect: retries"},
		{"capacity loss", seg{intended: 100, offered: 100, goodput: 10, errors: 90, timeouts: 10}, "lost capacity", "abandoned work"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := judge(build(n(calm, 30), n(surge, 10), n(tc.after, 30)), defaultParams())
			all := strings.Join(j.evidence, "\n")
			if j.verdict != Metastable || !strings.Contains(all, tc.want) || strings.Contains(all, tc.wantNot) {
				t.Errorf("%s, want evidence with %q and without %q:\n%s", j.verdict, tc.want, tc.wantNot, all)
			}
		})
	}
}

// withFailures attaches the run's failed attempts by kind to a synthetic series.
func withFailures(s series, fs ...Failure) series {
	s.failures = fs
	return s
}

// TestJudgeTooLittleEvidence is issue 11: a run that cannot show the target serving its load
// must never read as stable. A dead target is "down", with the dominant error named; too few
// judged windows, or judged windows dominated by failures, are "inconclusive".
func TestJudgeTooLittleEvidence(t *testing.T) {
	all503 := seg{intended: 2, offered: 2, errors: 2}
	tests := []struct {
		name     string
		s        series
		verdict  string
		evidence []string // substrings that must appear
	}{
		{
			name:     "dead service at 2 rps for 10 s",
			s:        withFailures(build(n(all503, 10)), Failure{Kind: "5xx", Code: 503, Label: "HTTP 503", Attempts: 20}),
			verdict:  Down,
			evidence: []string{"no request was served", "0 of 20 requests", "100 % HTTP 503"},
		},
		{
			name:     "tens of thousands of requests, too sparse to judge, none served",
			s:        withFailures(build(n(all503, 15000)), Failure{Kind: "reset", Label: "connection reset", Attempts: 30000}),
			verdict:  Down,
			evidence: []string{"0 of 30000 requests", "100 % connection reset"},
		},
		{
			name: "dead service at a judgeable rate",
			s: withFailures(build(n(seg{intended: 100, offered: 100, errors: 100}, 30)),
				Failure{Kind: "5xx", Code: 503, Label: "HTTP 503", Attempts: 2400}, Failure{Kind: "timeout", Label: "timeout", Attempts: 600}),
			verdict:  Down,
			evidence: []string{"80 % HTTP 503, 20 % timeout"},
		},
		{
			name:     "tens of thousands of requests, too sparse to judge, all served",
			s:        build(n(seg{intended: 2, offered: 2, goodput: 2}, 15000)),
			verdict:  Inconclusive,
			evidence: []string{"no window gathered 30 intended requests", "run longer or raise the rate"},
		},
		{
			name:     "fewer judged windows than it takes to call anything",
			s:        build(n(seg{intended: 40, offered: 40, goodput: 40}, 2)),
			verdict:  Inconclusive,
			evidence: []string{"only 2 windows could be judged", "3 in a row"},
		},
		{
			name:     "judged windows cover a sliver of the run",
			s:        build(n(seg{intended: 1, offered: 1, goodput: 1}, 40), n(calm, 5)),
			verdict:  Inconclusive,
			evidence: []string{"only 5 of 45 windows with traffic"},
		},
		{
			name: "most windows left unjudged by generator lag",
			s: func() series {
				s := build(n(calm, 5), n(seg{intended: 100, offered: 100, goodput: 10, errors: 90}, 10))
				s.lagged = make([]float64, len(s.intended))
				for i := 5; i < len(s.lagged); i++ {
					s.lagged[i] = 90
				}
				return s
			}(),
			verdict:  Inconclusive,
			evidence: []string{"only 5 of 15 windows with traffic", "10 more windows were not judged because the generator sent their requests late"},
		},
		{
			name: "error-dominated but never three failing windows in a row",
			s: withFailures(build(
				n(seg{intended: 100, offered: 100, goodput: 20, errors: 80}, 2), n(calm, 1),
				n(seg{intended: 100, offered: 100, goodput: 20, errors: 80}, 2), n(calm, 1),
				n(seg{intended: 100, offered: 100, goodput: 20, errors: 80}, 2), n(calm, 1),
				n(seg{intended: 100, offered: 100, goodput: 20, errors: 80}, 2), n(calm, 1)),
				Failure{Kind: "5xx", Code: 503, Label: "HTTP 503", Attempts: 644}),
			verdict:  Inconclusive,
			evidence: []string{"goodput was 46% of the intended load", "HTTP 503"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := judge(tc.s, defaultParams())
			all := strings.Join(j.evidence, "\n")
			if j.verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s\nevidence:\n%s", j.verdict, tc.verdict, all)
			}
			for _, want := range tc.evidence {
				if !strings.Contains(all, want) {
					t.Errorf("evidence lacks %q:\n%s", want, all)
				}
			}
		})
	}
}
