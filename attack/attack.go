// Package attack drives a profile against an HTTP target with vegeta, open-loop: first
// attempts follow the profile's rate curve whatever the target does, and each simulated client
// times out and retries by its profile's policy. Every attempt is handed to a Recorder as it
// completes.
package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// Recorder receives every completed attempt. Write is called from one goroutine; the record
// is only valid during the call.
type Recorder interface {
	Write(*results.Record) error
}

// Config is one attack.
type Config struct {
	// Target is the base URL; the profile's request path is appended to it.
	Target  string
	Profile *profiles.Profile
	// Start is the run's time zero (the profile's t=0); zero means now.
	Start    time.Time
	Recorder Recorder
	// MaxWorkers bounds concurrent attempts; 0 sizes it from the profile (peak rate ×
	// attempts × timeout), because an open-loop generator needs a worker for every attempt
	// in flight, and a generator out of workers would fall behind and stop measuring.
	MaxWorkers uint64
	// Connections is the number of idle keep-alive connections kept per host.
	Connections int
}

// Summary says how an attack went.
type Summary struct {
	Start, End    time.Time
	Requests      uint64 // logical requests started
	Attempts      uint64 // attempts completed and recorded
	UnsentRetries uint64 // retries still waiting for their backoff when the run stopped
	Interrupted   bool   // stopped by ctx before the profile ended
}

// Progress is a live view of a running attack; every field is safe to read at any time.
type Progress struct {
	Attempts  atomic.Uint64
	Successes atomic.Uint64
	Retries   atomic.Uint64
}

// Validate checks what can be checked before an attack starts, so that bad input fails fast
// with a message naming it.
func (c Config) Validate() error {
	if c.Profile == nil {
		return errors.New("attack: no profile")
	}
	if err := c.Profile.Validate(); err != nil {
		return err
	}
	_, err := requestURL(c.Target, c.Profile.Request.Path)
	return err
}

// Run attacks until the profile ends or ctx is cancelled. Attempts in flight when it stops
// are waited for (each is bounded by the client timeout) and recorded, so stopping early loses
// nothing already sent. The error is non-nil only when the attack could not run or the
// recorder failed; an interrupted run returns its summary with Interrupted set.
func Run(ctx context.Context, cfg Config, progress *Progress) (Summary, error) {
	p := cfg.Profile
	if p == nil {
		return Summary{}, errors.New("attack: no profile")
	}
	if cfg.Recorder == nil {
		return Summary{}, errors.New("attack: no recorder")
	}
	reqURL, err := requestURL(cfg.Target, p.Request.Path)
	if err != nil {
		return Summary{}, err
	}
	if progress == nil {
		progress = new(Progress)
	}
	start := cfg.Start
	if start.IsZero() {
		start = time.Now()
	}

	sched := newScheduler(p.Schedule(), reqURL, newRealClock(start))
	attacker := vegeta.NewAttacker(
		vegeta.Timeout(time.Duration(p.Client.Timeout)),
		vegeta.Workers(16),
		vegeta.MaxWorkers(maxWorkers(cfg.MaxWorkers, p)),
		vegeta.Connections(connections(cfg.Connections)),
		vegeta.KeepAlive(true),
		// Bodies are read to the end (so connections are reused) but never kept.
		vegeta.MaxBody(0),
	)

	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-ctx.Done():
			sched.stop()
			attacker.Stop()
		case <-stopWatch:
		}
	}()

	method := p.Request.Method
	targeter := func(tgt *vegeta.Target) error {
		_, u, ok := sched.next()
		if !ok {
			// Cannot happen while every tick follows a claim; stop rather than send an
			// attempt nobody scheduled.
			return errors.New("attack: tick without a claimed attempt")
		}
		tgt.Method = method
		tgt.URL = u
		return nil
	}

	c := consumer{
		sched:    sched,
		recorder: cfg.Recorder,
		start:    start,
		retry:    p.Client.Retry,
		attempts: p.Client.Retry.Attempts(),
		rng:      rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)),
		progress: progress,
	}
	for res := range attacker.Attack(targeter, sched, 0, "stormtest") {
		if err := c.consume(res); err != nil && c.err == nil {
			// Keep draining so vegeta's workers can finish, but send nothing new.
			c.err = err
			sched.stop()
			attacker.Stop()
		}
	}

	retries, claimed := sched.pending()
	sum := Summary{
		Start:         start,
		End:           time.Now(),
		Requests:      sched.requests(),
		Attempts:      c.recorded,
		UnsentRetries: uint64(retries + claimed),
		Interrupted:   ctx.Err() != nil,
	}
	return sum, c.err
}

// consumer turns vegeta results into records and decides retries. It runs in the one
// goroutine that reads vegeta's results channel.
type consumer struct {
	sched    *scheduler
	recorder Recorder
	start    time.Time
	retry    profiles.Retry
	attempts int
	rng      *rand.Rand
	progress *Progress
	rec      results.Record
	recorded uint64
	err      error
}

func (c *consumer) consume(res *vegeta.Result) error {
	slot, ok := slotOf(res.URL)
	if !ok {
		return fmt.Errorf("attack: result for an unknown attempt (url %q, error %q)", res.URL, res.Error)
	}
	a := c.sched.get(slot)
	sent := res.Timestamp.Sub(c.start)
	end := sent + res.Latency
	kind := classify(res.Code, res.Error)

	rec := &c.rec
	*rec = results.Record{
		RequestID:   a.requestID,
		Attempt:     a.number,
		Phase:       a.phase,
		Kind:        kind,
		Code:        res.Code,
		Intended:    c.start.Add(a.intended).UnixNano(),
		SendLag:     sent - a.intended,
		ServiceTime: res.Latency,
		RequestAge:  a.intended - a.first,
	}
	if kind != results.KindOK {
		rec.Error = errorMessage(res.Error)
	}
	werr := c.recorder.Write(rec)
	if werr == nil {
		c.recorded++
	}
	c.progress.Attempts.Add(1)
	if kind == results.KindOK {
		c.progress.Successes.Add(1)
	}

	if kind != results.KindOK && int(a.number) < c.attempts && retryable(kind) {
		delay := c.retry.Delay(int(a.number), a.prevDelay, c.rng)
		next := a
		next.number++
		next.intended = end + delay
		next.prevDelay = delay
		c.sched.retry(slot, next)
		c.progress.Retries.Add(1)
	} else {
		c.sched.finish(slot)
	}
	if werr != nil {
		return fmt.Errorf("recording attempt %d of request %d: %w", a.number, a.requestID, werr)
	}
	return nil
}

// retryable says which failures a client tries again: the ones a retry can cure.
func retryable(k results.Kind) bool {
	switch k {
	case results.KindTimeout, results.KindRefused, results.KindReset, results.Kind5xx, results.Kind429:
		return true
	}
	return false
}

// slotOf reads the slot number from the URL fragment the scheduler put there. HTTP clients
// never send the fragment, so the target sees the plain URL.
func slotOf(u string) (uint32, bool) {
	i := strings.LastIndexByte(u, '#')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(u[i+1:], 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// requestURL joins the target's base URL and the profile's path, and rejects what cannot be
// attacked with a message that names the problem.
func requestURL(target, path string) (string, error) {
	if target == "" {
		return "", errors.New("no target URL given")
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" {
		// "127.0.0.1:8080" is the usual slip; url.Parse's own message does not say so.
		return "", fmt.Errorf("bad target URL %q: want a URL such as http://127.0.0.1:8080", target)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("bad target URL %q: scheme must be http or https", target)
	}
	if u.Host == "" {
		return "", fmt.Errorf("bad target URL %q: no host", target)
	}
	if u.Fragment != "" {
		return "", fmt.Errorf("bad target URL %q: a fragment is never sent to a server; remove it", target)
	}
	if path != "" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(path, "/")
	}
	return u.String(), nil
}

func maxWorkers(configured uint64, p *profiles.Profile) uint64 {
	if configured > 0 {
		return configured
	}
	timeout := time.Duration(p.Client.Timeout).Seconds()
	n := p.PeakRate() * float64(p.Client.Retry.Attempts()) * timeout * 1.5
	return uint64(math.Min(math.Max(n, 64), 20000))
}

func connections(configured int) int {
	if configured > 0 {
		return configured
	}
	return vegeta.DefaultConnections
}

// Preflight connects once to the target's host, so that a typo in the port or a target that
// is not running is reported at once, in one line, rather than as a run full of refusals.
func Preflight(ctx context.Context, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("bad target URL %q: %w", target, err)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w", target, err)
	}
	return conn.Close()
}
