// Package trigger makes a profile's trigger calls (profiles.Trigger) on a run's clock: each
// start call at its At, each stop call at At+For, every call in its own goroutine so that a
// slow or failing chaos endpoint never delays the attack or another call. Every call is
// recorded (results.TriggerCall) with its scheduled and actual times and its answer; a failed
// call (no answer, or not 2xx) is reported at once through Config.OnCall, and the run goes on.
// When the run stops before a trigger's stop call was due, the stop call is made at once, so
// that an interrupted run does not leave the target cut.
package trigger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// DefaultTimeout bounds one call when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Config is what Start needs.
type Config struct {
	// Start is the run's time zero: the profile's t=0.
	Start time.Time
	// Target resolves trigger URLs that are paths (see profiles.Call.ResolveURL).
	Target   string
	Triggers []profiles.Trigger
	// Client makes the calls; nil: a client of its own with Timeout.
	Client  *http.Client
	Timeout time.Duration
	// Redact rewrites a URL for the record and messages (credentials); nil keeps it.
	Redact func(string) string
	// OnCall, when set, is called with every call as it completes, from that call's
	// goroutine (calls may complete concurrently): the CLI prints failures at once.
	OnCall func(results.TriggerCall)
}

// Runner makes the calls of one run. Start it when the run starts and Stop it when the run
// ends; Stop returns the record.
type Runner struct {
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{} // closed when the scheduler has returned

	mu      sync.Mutex
	calls   []results.TriggerCall
	started []bool // per trigger: its start call was made
	stopped []bool // per trigger: its stop call was made
	wg      sync.WaitGroup
}

// Validate checks that every trigger URL can be resolved against the target, so that a bad
// one is refused before anything is sent.
func Validate(target string, triggers []profiles.Trigger) error {
	for i, t := range triggers {
		for _, c := range calls(t) {
			if _, err := c.ResolveURL(target); err != nil {
				return fmt.Errorf("triggers[%d] (%s): %w", i, t.Label(i), err)
			}
		}
	}
	return nil
}

func calls(t profiles.Trigger) []profiles.Call {
	if t.Stop != nil {
		return []profiles.Call{t.Start, *t.Stop}
	}
	return []profiles.Call{t.Start}
}

// Start schedules the calls. It returns at once.
func Start(cfg Config) *Runner {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{cfg: cfg, cancel: cancel, done: make(chan struct{}),
		started: make([]bool, len(cfg.Triggers)), stopped: make([]bool, len(cfg.Triggers))}
	go r.schedule(ctx)
	return r
}

// event is one call due at a time.
type event struct {
	at      time.Duration
	trigger int
	action  string
}

// schedule waits for each call's time and makes it in its own goroutine, until ctx ends.
func (r *Runner) schedule(ctx context.Context) {
	defer close(r.done)
	var evs []event
	for i, t := range r.cfg.Triggers {
		start, end := t.Window()
		evs = append(evs, event{start, i, results.TriggerStart})
		if t.Stop != nil {
			evs = append(evs, event{end, i, results.TriggerStop})
		}
	}
	// Stable by time, starts before stops at the same time, so a zero-length gap between two
	// windows keeps their order.
	slices.SortStableFunc(evs, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for _, ev := range evs {
		timer.Reset(time.Until(r.cfg.Start.Add(ev.at)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		r.fire(ev, false)
	}
}

// fire makes one call in its own goroutine.
func (r *Runner) fire(ev event, early bool) {
	r.mu.Lock()
	if ev.action == results.TriggerStart {
		r.started[ev.trigger] = true
	} else {
		r.stopped[ev.trigger] = true
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		c := r.call(ev, early)
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
		if r.cfg.OnCall != nil {
			r.cfg.OnCall(c)
		}
	}()
}

// call makes the HTTP call of ev and records it.
func (r *Runner) call(ev event, early bool) results.TriggerCall {
	t := r.cfg.Triggers[ev.trigger]
	spec := t.Start
	if ev.action == results.TriggerStop {
		spec = *t.Stop
	}
	rec := results.TriggerCall{Trigger: ev.trigger, Name: t.Label(ev.trigger), Action: ev.action,
		Method: spec.MethodOrDefault(), AtSeconds: ev.at.Seconds(), Early: early}
	url, err := spec.ResolveURL(r.cfg.Target)
	rec.URL = r.cfg.Redact(url)
	sent := time.Now()
	rec.FiredSeconds = sent.Sub(r.cfg.Start).Seconds()
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(spec.Body)
	}
	req, err := http.NewRequestWithContext(ctx, rec.Method, url, body)
	if err != nil {
		rec.Error = r.redactErr(err, url)
		return rec
	}
	for k, v := range spec.Headers {
		req.Header.Set(k, v)
	}
	if spec.Body != "" && req.Header.Get("Content-Type") == "" && looksJSON(spec.Body) {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.cfg.Client.Do(req)
	rec.DurationMS = float64(time.Since(sent)) / float64(time.Millisecond)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			rec.Error = fmt.Sprintf("no answer within %s", r.cfg.Timeout)
		} else {
			rec.Error = r.redactErr(err, url)
		}
		return rec
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, results.MaxTriggerResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // so the connection can be reused
	rec.Status = resp.StatusCode
	// A body cut mid-rune is mended so that the trailer's JSON holds what was sent.
	rec.Response = strings.ToValidUTF8(strings.TrimSpace(string(head)), "\uFFFD")
	rec.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !rec.OK {
		rec.Error = "HTTP " + resp.Status
	}
	return rec
}

// redactErr is err's message with the URL as recorded: net/http puts the URL, credentials
// and all, into its errors.
func (r *Runner) redactErr(err error, url string) string {
	return strings.ReplaceAll(err.Error(), url, r.cfg.Redact(url))
}

// Stop ends the schedule: calls not yet due are not made, except the stop call of every
// trigger whose start call was made, which is made at once (marked Early) so that the
// target is not left changed. It waits for the calls in flight (each bounded by the timeout)
// and returns every call made, in the order they were sent. Safe to call on a nil Runner.
func (r *Runner) Stop() []results.TriggerCall {
	if r == nil {
		return nil
	}
	r.cancel()
	<-r.done
	r.mu.Lock()
	var owed []event
	for i, t := range r.cfg.Triggers {
		if r.started[i] && !r.stopped[i] && t.Stop != nil {
			_, end := t.Window()
			owed = append(owed, event{end, i, results.TriggerStop})
		}
	}
	r.mu.Unlock()
	for _, ev := range owed {
		r.fire(ev, true)
	}
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.calls)
	slices.SortStableFunc(out, func(a, b results.TriggerCall) int { return cmp.Compare(a.FiredSeconds, b.FiredSeconds) })
	return out
}

// Describe is one line about a call, for people: what was called, when, and its answer.
func Describe(c results.TriggerCall) string {
	s := fmt.Sprintf("%s %s (%s %s) at %.3f s", c.Name, c.Action, c.Method, c.URL, c.FiredSeconds)
	if c.Early {
		s += " (early: the run stopped first)"
	}
	if c.OK {
		return s + fmt.Sprintf(": %d in %.0f ms", c.Status, c.DurationMS)
	}
	return s + ": failed: " + c.Error
}

func looksJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}
