package attack

import "time"

// clock is the scheduler's view of time, so that pacing logic can be driven by a fake clock
// in tests.
type clock interface {
	// Now is the time since the run started.
	Now() time.Duration
	// Wait returns after d, or earlier when wake fires.
	Wait(d time.Duration, wake <-chan struct{})
}

// realClock measures from a fixed start with the monotonic clock. Wait is only ever called
// from vegeta's pacing goroutine, so one timer serves every call.
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

func (c *realClock) Wait(d time.Duration, wake <-chan struct{}) {
	c.timer.Reset(d)
	select {
	case <-c.timer.C:
	case <-wake:
		c.timer.Stop()
	}
}
