package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// stopSignals stop a command gracefully: SIGINT (Ctrl-C), SIGTERM, and SIGHUP, which a
// dropped SSH session sends and which must not lose a run any more than a SIGTERM would.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// stopper turns signals into a graceful stop and then, on a second signal, into an
// immediate exit. The first signal cancels the command's context and says on stderr what the
// command is waiting for; the command then writes and prints everything it has, and the
// process exits 128+signal (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), the code a shell
// gives a process killed by that signal, so scripts can tell an interrupted run from a
// complete one. The second signal exits at once with its own code.
type stopper struct {
	signals <-chan os.Signal
	cancel  context.CancelFunc
	stderr  io.Writer
	exit    func(code int) // os.Exit; a test can swap it

	mu       sync.Mutex
	received syscall.Signal // the first signal; 0 before it
	waiting  func() string  // what the stop waits for, set by the running command
	quitNote func() string  // what an immediate quit leaves behind, set by the running command
}

type stopperKey struct{}

// withStopper gives commands run under ctx access to s.
func withStopper(ctx context.Context, s *stopper) context.Context {
	return context.WithValue(ctx, stopperKey{}, s)
}

// stopperFrom is the stopper of ctx, or nil when the command runs in-process (tests).
func stopperFrom(ctx context.Context) *stopper {
	s, _ := ctx.Value(stopperKey{}).(*stopper)
	return s
}

// describe sets what the first signal's message says the stop waits for, and what the
// second signal's message says is left behind. Safe on a nil stopper.
func (s *stopper) describe(waiting, quitNote func() string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.waiting, s.quitNote = waiting, quitNote
	s.mu.Unlock()
}

// watch handles the signals; run it on its own goroutine.
func (s *stopper) watch() {
	first, ok := (<-s.signals).(syscall.Signal)
	if !ok {
		first = syscall.SIGTERM
	}
	s.mu.Lock()
	s.received = first
	waiting, quitNote := s.waiting, s.quitNote
	s.mu.Unlock()
	// Cancel first: the stop must begin even if stderr is gone (a dropped session).
	s.cancel()
	msg := "stopping"
	if waiting != nil {
		msg += ": " + waiting()
	}
	fmt.Fprintf(s.stderr, "\n%s; Ctrl-C again to quit now\n", msg)

	second, ok := (<-s.signals).(syscall.Signal)
	if !ok {
		second = first
	}
	note := ""
	if quitNote != nil {
		note = "; " + quitNote()
	}
	fmt.Fprintf(s.stderr, "stormtest: quitting now on a second %s%s\n", signalName(second), note)
	s.exit(signalExitCode(second))
}

// exitCode is the process's exit code for a command that returned code: 128+signal when a
// signal stopped it.
func (s *stopper) exitCode(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.received != 0 {
		return signalExitCode(s.received)
	}
	return code
}

// signalExitCode is the shell's convention for a process ended by sig.
func signalExitCode(sig syscall.Signal) int { return 128 + int(sig) }

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT (Ctrl-C)"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}
