package attack

import (
	"syscall"
	"time"
)

// sleepPrecise sleeps d with the kernel's high-resolution timer rather than Go's poller.
func sleepPrecise(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil) // an interrupted sleep just ends early: the caller re-checks the time
}
