package attack

import (
	"runtime"
	"time"
)

// clock is the scheduler's view of time, so that pacing logic can be driven by a fake clock
// in tests.
type clock interface {
	// Now is the time since the run started.
	Now() time.Duration
	// Wait returns after d, or earlier when wake fires.
	Wait(d time.Duration, wake <-chan struct{})
}

// realClock measures from a fixed start with the monotonic clock. Wait is only ever called
// by the pool's worker holding pace, one at a time, so one timer serves every call.
type realClock struct {
	start time.Time
	timer *time.Timer
}

func newRealClock(start time.Time) *realClock {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &realClock{start: start, timer: t}
}

func (c *realClock) Now() time.Duration { return time.Since(c.start) }

// Go's timers wake up late by up to about a millisecond (measured here: 0.6 ms at p50, 1.1 ms
// at p99, the runtime poller's granularity), which was the generator's whole lag floor. A
// nanosleep is late by ~0.1–0.2 ms. So a wait uses the Go timer, interruptible by wake, for all
// but its last timerSlack, and nanosleeps the rest in slices short enough to notice wake soon.
//
// A nanosleep is a system call that keeps its processor (P) until the runtime's monitor takes
// it back, so before each slice the waiter yields: whatever is runnable on its P runs first,
// and the nanosleep only holds a P nobody else wanted. Without the yield, the demo's two pacers
// (the pool's leaders, each of which had just woken the consumer onto its own P) held both of
// the machine's Ps through their fine waits: the consumers fell ~1 s behind, retries went out
// 0.5–1.5 s late and the in-process targets missed scrapes, while the process used under half
// the CPU. With it the demo's lag p99 is 6–15 ms.
const (
	timerSlack = 2 * time.Millisecond
	fineSlice  = 250 * time.Microsecond
)

func (c *realClock) Wait(d time.Duration, wake <-chan struct{}) {
	deadline := time.Now().Add(d)
	if coarse := d - timerSlack; coarse > 0 {
		c.timer.Reset(coarse)
		select {
		case <-c.timer.C:
		case <-wake:
			c.timer.Stop()
			return
		}
	}
	for {
		if time.Until(deadline) <= 0 {
			return
		}
		runtime.Gosched()
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		select {
		case <-wake:
			return
		default:
		}
		sleepPrecise(min(left, fineSlice))
	}
}
