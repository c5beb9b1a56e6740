package attack

import (
	"testing"
	"time"
)

// TestWaitEndsOnWake: a retry queued while the pacer waits must not wait for the wait to end,
// whether the wait is in its coarse (Go timer) part or its fine (nanosleep) part.
func TestWaitEndsOnWake(t *testing.T) {
	cases := []struct {
		name        string
		wait, after time.Duration
	}{
		{"coarse part", 10 * time.Second, 20 * time.Millisecond},
		{"fine part", 1500 * time.Microsecond, 300 * time.Microsecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newRealClock(time.Now())
			wake := make(chan struct{}, 1)
			go func() {
				time.Sleep(tc.after)
				wake <- struct{}{}
			}()
			begin := time.Now()
			c.Wait(tc.wait, wake)
			if took := time.Since(begin); tc.wait > time.Second && took > 5*time.Second {
				t.Fatalf("Wait(%v) ignored the wake and took %v", tc.wait, took)
			}
		})
	}
}

// TestWaitLastsItsDuration: without a wake, Wait never returns before its time.
func TestWaitLastsItsDuration(t *testing.T) {
	c := newRealClock(time.Now())
	for _, d := range []time.Duration{0, 300 * time.Microsecond, 2500 * time.Microsecond} {
		begin := time.Now()
		c.Wait(d, make(chan struct{}))
		if took := time.Since(begin); took < d {
			t.Fatalf("Wait(%v) returned after %v", d, took)
		}
	}
}
