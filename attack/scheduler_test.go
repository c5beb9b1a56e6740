package attack

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stormtest/stormtest/curve"
	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/profiles"
)

// testScheduler paces a schedule with one endpoint at base, time driven by the test.
func testScheduler(t testing.TB, s *curve.Schedule, base string) *scheduler {
	t.Helper()
	plan, err := newRequestPlan(base, profiles.Request{Method: "GET"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return newScheduler(s, plan, nil, nil, 1, 0)
}

// drain claims every attempt the scheduler hands out when time advances in steps of tick,
// without real time, and returns the intended time of each first attempt per phase.
func drain(sc *scheduler, tick time.Duration) (claims []attempt) {
	for now := time.Duration(0); ; now += tick {
		for {
			_, claimed, done := sc.claim(now)
			if done {
				return claims
			}
			if !claimed {
				break
			}
			slot, _, _, ok := sc.next()
			if !ok {
				panic("claimed attempt not ready")
			}
			a := sc.get(slot)
			claims = append(claims, a)
			sc.finish(slot, a.intended)
		}
	}
}

func TestSchedulerDeliversEachPhaseIntegral(t *testing.T) {
	cases := []struct {
		name string
		yaml string
	}{
		{"constant 1/s", "phases: [{duration: 20s, rate: 1}]"},
		{"constant 250/s", "phases: [{duration: 4s, rate: 250}]"},
		{"constant 20000/s", "phases: [{duration: 1s, rate: 20000}]"},
		{"ramp up and hold", "phases: [{duration: 3s, from: 10, to: 900}, {duration: 2s, rate: 900}]"},
		{"ramp down", "phases: [{duration: 5s, from: 3000, to: 100}]"},
		{"monday", "phases: [{duration: 5s, rate: 200}, {duration: 3s, from: 200, to: 600}, {duration: 6s, rate: 600}, {duration: 16s, rate: 200}]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testfix.MustParse(t, tc.yaml)
			s := p.Schedule()
			claims := drain(testScheduler(t, s, "http://127.0.0.1:1/"), 100*time.Microsecond)
			perPhase := make([]int, len(s.Spans))
			last := time.Duration(-1)
			for i, a := range claims {
				if a.intended < last {
					t.Fatalf("claim %d at %v is earlier than the previous one at %v", i, a.intended, last)
				}
				last = a.intended
				if a.requestID != uint64(i+1) || a.number != 1 {
					t.Fatalf("claim %d: request %d attempt %d, want request %d attempt 1", i, a.requestID, a.number, i+1)
				}
				if int(a.phase) != s.PhaseAt(a.intended) {
					t.Fatalf("claim %d at %v tagged phase %d, schedule says %d", i, a.intended, a.phase, s.PhaseAt(a.intended))
				}
				perPhase[a.phase]++
			}
			for i, sp := range s.Spans {
				want := s.CountAt(sp.End) - s.CountAt(sp.Start)
				// Within 1 % (and within one attempt for tiny phases).
				if diff := math.Abs(float64(perPhase[i]) - want); diff > math.Max(1, want*0.01) {
					t.Errorf("phase %q: %d first attempts, want %.1f", sp.Name, perPhase[i], want)
				}
			}
		})
	}
}

func TestSchedulerInterleavesRetriesByDueTime(t *testing.T) {
	p := testfix.MustParse(t, "phases: [{duration: 1s, rate: 10}]")
	sc := testScheduler(t, p.Schedule(), "http://127.0.0.1:1/")

	// The first attempt at t=0 fails; its retry is due at 150ms, between the first attempts
	// due at 100ms and 200ms.
	if _, claimed, _ := sc.claim(0); !claimed {
		t.Fatal("nothing claimed at t=0")
	}
	slot, _, _, _ := sc.next()
	a := sc.get(slot)
	retry := a
	retry.number = 2
	retry.intended = 150 * time.Millisecond
	sc.retry(slot, retry)

	var order []string
	for now := time.Duration(0); now <= 300*time.Millisecond; now += 10 * time.Millisecond {
		for {
			_, claimed, _ := sc.claim(now)
			if !claimed {
				break
			}
			s, _, _, _ := sc.next()
			got := sc.get(s)
			order = append(order, fmt.Sprintf("%d.%d", got.requestID, got.number))
			if got.intended > now {
				t.Fatalf("attempt due at %v claimed early, at %v", got.intended, now)
			}
			sc.finish(s, got.intended)
		}
	}
	want := []string{"2.1", "1.2", "3.1", "4.1"} // request 2, retry of 1, request 3, request 4
	if len(order) != len(want) {
		t.Fatalf("claims %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("claims %v, want %v", order, want)
		}
	}
}

func TestSchedulerStopsAtProfileEndAndOnStop(t *testing.T) {
	p := testfix.MustParse(t, "phases: [{duration: 2s, rate: 10}]")
	sc := testScheduler(t, p.Schedule(), "http://127.0.0.1:1/")
	// A pacer that wakes after the end still sends everything that was due before it…
	claims := 0
	for {
		_, claimed, done := sc.claim(3 * time.Second)
		if done {
			break
		}
		if !claimed {
			t.Fatal("neither claimed nor done after the profile's end")
		}
		claims++
	}
	if claims != 20 {
		t.Fatalf("%d attempts sent after waking late, want the 20 due before the end", claims)
	}
	// …but not a retry due after the end.
	slot, _, _, _ := sc.next()
	a := sc.get(slot)
	a.intended = 2*time.Second + time.Millisecond
	sc.retry(slot, a)
	if _, _, done := sc.claim(3 * time.Second); !done {
		t.Fatal("a retry due after the profile's end was sent")
	}
	if retries, _ := sc.pending(); retries != 1 {
		t.Fatalf("pending retries %d, want 1", retries)
	}

	sc = testScheduler(t, p.Schedule(), "http://127.0.0.1:1/")
	sc.stop()
	if _, _, done := sc.claim(0); !done {
		t.Fatal("scheduler not done after stop")
	}
}

func TestSchedulerWaitsUntilNextDue(t *testing.T) {
	p := testfix.MustParse(t, "phases: [{duration: 1s, rate: 4}]") // due at 0, 250ms, 500ms, 750ms
	sc := testScheduler(t, p.Schedule(), "http://127.0.0.1:1/")
	sc.claim(0)
	wait, claimed, done := sc.claim(100 * time.Millisecond)
	if claimed || done || wait != 150*time.Millisecond {
		t.Fatalf("claim at 100ms = (%v, %v, %v), want a wait of 150ms", wait, claimed, done)
	}
}

func TestNextHandsOutEveryClaimOnce(t *testing.T) {
	p := testfix.MustParse(t, "phases: [{duration: 1s, rate: 1000}]")
	sc := testScheduler(t, p.Schedule(), "http://127.0.0.1:9/api")
	for i := 0; i < 50; i++ {
		sc.claim(time.Second / 2)
	}
	seen := map[uint32]bool{}
	for i := 0; i < 50; i++ {
		slot, ep, first, ok := sc.next()
		if !ok {
			t.Fatal("ready queue empty")
		}
		if seen[slot] || ep == nil || ep.url != "http://127.0.0.1:9/api" || !first {
			t.Fatalf("next = slot %d (seen %v), endpoint %+v, first %v", slot, seen[slot], ep, first)
		}
		seen[slot] = true
	}
	if _, _, _, ok := sc.next(); ok {
		t.Fatal("more ready attempts than claims")
	}
}
