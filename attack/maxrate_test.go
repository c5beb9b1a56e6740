package attack

import (
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
)

// In a rate: max phase every claim succeeds at once with intended = now, a due retry still
// goes first, and the timetable resumes after the phase.
func TestSchedulerRateMax(t *testing.T) {
	p := testfix.MustParse(t, `phases:
  - {name: a, duration: 1s, rate: 10}
  - {name: flat, duration: 1s, rate: max}
  - {name: c, duration: 1s, rate: 10}`)
	sc := testScheduler(t, p.Schedule(), "http://127.0.0.1:1/")
	for now := time.Duration(0); now < time.Second; now += 100 * time.Millisecond {
		if _, claimed, _ := sc.claim(now); !claimed {
			t.Fatalf("phase a: nothing claimed at %s", now)
		}
		slot, _, _, _ := sc.next()
		sc.finish(slot, now)
	}
	now := 1200 * time.Millisecond
	// The 10th timetabled first attempt is due at 1s, the end of phase a: it comes first.
	var slots []uint32
	for i := range 50 {
		wait, claimed, done := sc.claim(now)
		if !claimed || done || wait != 0 {
			t.Fatalf("claim %d in the max phase: wait %s claimed %v done %v", i, wait, claimed, done)
		}
		slot, _, _, _ := sc.next()
		a := sc.get(slot)
		want := now
		if i == 0 {
			want = time.Second
		}
		if a.intended != want || a.number != 1 {
			t.Fatalf("claim %d: intended %s attempt %d, want %s attempt 1", i, a.intended, a.number, want)
		}
		if i > 0 && a.phase != 1 {
			t.Fatalf("claim %d: phase %d, want 1", i, a.phase)
		}
		slots = append(slots, slot)
	}
	retried := slots[0]
	next := sc.get(retried)
	next.number, next.intended = 2, 1100*time.Millisecond
	sc.retry(retried, next)
	for _, s := range slots[1:] {
		sc.finish(s, now)
	}
	if _, claimed, _ := sc.claim(now); !claimed {
		t.Fatal("nothing claimed")
	}
	slot, _, _, _ := sc.next()
	if a := sc.get(slot); slot != retried || a.number != 2 {
		t.Fatalf("got slot %d attempt %d, want the due retry (slot %d, attempt 2) first", slot, a.number, retried)
	}
	sc.finish(slot, now)
	// After the phase, first attempts are back on the timetable: the 12th at 2.1s.
	wait, claimed, _ := sc.claim(2050 * time.Millisecond)
	if claimed || wait != 50*time.Millisecond {
		t.Fatalf("after the max phase: claimed %v, wait %s; want a 50ms wait", claimed, wait)
	}
	if got := sc.requests(); got != 60 {
		t.Errorf("requests = %d, want 60", got)
	}
}

// A run whose clock starts before time zero (Run's startLead) waits for the max phase.
func TestSchedulerRateMaxWaitsForItsPhase(t *testing.T) {
	p := testfix.MustParse(t, "phases: [{name: a, duration: 1s, rate: max}]")
	sc := testScheduler(t, p.Schedule(), "http://127.0.0.1:1/")
	if wait, claimed, done := sc.claim(-20 * time.Millisecond); claimed || done || wait != 20*time.Millisecond {
		t.Fatalf("before the start: wait %s claimed %v done %v; want a 20ms wait", wait, claimed, done)
	}
	if _, claimed, _ := sc.claim(0); !claimed {
		t.Fatal("nothing claimed at the start of the max phase")
	}
	if _, claimed, done := sc.claim(time.Second); claimed || !done {
		t.Fatalf("at the end: claimed %v done %v; want done", claimed, done)
	}
}
