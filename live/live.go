// Package live shows a running attack to the person who started it: a one-line status with a
// progress bar on a terminal, plain periodic lines in a CI log, nothing when asked to be quiet.
package live

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/curve"
	"github.com/stormtest/stormtest/profiles"
)

// Mode is how progress is shown.
type Mode int

// Modes.
const (
	Off   Mode = iota // nothing (--quiet)
	Lines             // a plain line every few seconds: logs, CI
	Bar               // a status line with a progress bar, redrawn a few times a second
)

// ModeFor picks Bar when w is a terminal, Lines otherwise, and Off when quiet.
func ModeFor(w io.Writer, quiet bool) Mode {
	if quiet {
		return Off
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return Bar
	}
	return Lines
}

// Options tune a Display; zero values take the defaults.
type Options struct {
	// Interval between redraws: 200ms for Bar, 5s for Lines.
	Interval time.Duration
}

// Display draws progress until Stop.
type Display struct {
	stop chan struct{}
	done sync.WaitGroup
}

// Start shows the progress of an attack of prof that started (its time zero) at start.
func Start(w io.Writer, mode Mode, prof *profiles.Profile, start time.Time, p *attack.Progress, opt Options) *Display {
	d := &Display{stop: make(chan struct{})}
	if mode == Off {
		return d
	}
	if opt.Interval <= 0 {
		opt.Interval = 5 * time.Second
		if mode == Bar {
			opt.Interval = 200 * time.Millisecond
		}
	}
	st := status{prof: prof, sched: prof.Schedule(), start: start, p: p}
	d.done.Add(1)
	go func() {
		defer d.done.Done()
		d.loop(w, mode, opt.Interval, &st)
	}()
	return d
}

// Stop ends the display, leaving the terminal on a fresh line.
func (d *Display) Stop() {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.done.Wait()
}

func (d *Display) loop(w io.Writer, mode Mode, interval time.Duration, st *status) {
	var bar *progressbar.ProgressBar
	if mode == Bar {
		bar = progressbar.NewOptions64(st.sched.Duration().Milliseconds(),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(interval/2),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(w)
			}
			return
		case now := <-t.C:
			line := st.line(now)
			if bar != nil {
				bar.Describe(line)
				_ = bar.Set64(min(now.Sub(st.start), st.sched.Duration()).Milliseconds())
				continue
			}
			fmt.Fprintln(w, line)
		}
	}
}

// status turns counters into a line, with rates over the time since the previous line.
type status struct {
	prof  *profiles.Profile
	sched *curve.Schedule
	start time.Time
	p     *attack.Progress

	last                          time.Time
	lastRequests, lastAttempts    uint64
	lastSuccesses, lastCompletion uint64
}

func (st *status) line(now time.Time) string {
	elapsed := max(now.Sub(st.start), 0)
	// The last redraw comes at or after the end, where the curve is already 0: show the
	// profile's last instant instead.
	at := min(elapsed, st.sched.Duration()-time.Millisecond)
	phase := ""
	if len(st.sched.Spans) > 0 {
		phase = st.sched.Spans[st.sched.PhaseAt(at)].Name
	}
	requests, attempts, successes := st.p.Requests.Load(), st.p.Sent.Load(), st.p.Successes.Load()
	completed := st.p.Attempts.Load()
	var sent, offered, okShare float64
	if !st.last.IsZero() {
		secs := now.Sub(st.last).Seconds()
		sent = float64(requests-st.lastRequests) / secs
		offered = float64(attempts-st.lastAttempts) / secs
		if done := completed - st.lastCompletion; done > 0 {
			okShare = float64(successes-st.lastSuccesses) / float64(done)
		}
	}
	st.last, st.lastRequests, st.lastAttempts = now, requests, attempts
	st.lastSuccesses, st.lastCompletion = successes, completed

	var target string
	if st.prof.ClosedLoop() {
		target = fmt.Sprintf("%d users", st.sched.UsersAt(at))
	} else {
		target = fmt.Sprintf("%.0f/s", st.sched.RateAt(at))
	}
	return fmt.Sprintf("%5.1fs/%s %-10s intended %s  sent %.0f/s  offered %.0f/s  in flight %d  ok %3.0f%%  p99 %s",
		elapsed.Seconds(), st.sched.Duration(), phase, target, sent, offered, st.p.InFlight(), 100*okShare,
		st.p.LastP99().Round(time.Millisecond))
}
