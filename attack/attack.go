// Package attack drives a profile against an HTTP target with vegeta, open-loop: first
// attempts follow the profile's rate curve whatever the target does, and each simulated client
// times out and retries by its group's policy. (A closed-loop profile drives a population of
// users instead.) Every attempt is handed to a results.Sink as it completes: Run builds the
// run's header and trailer once, and a Sink (the results file of NewFileSink, an
// analyze.Analyzer, a results.Tee of both) takes the stream from there.
package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/internal/cpustat"
	"github.com/stormtest/stormtest/internal/version"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/retry"
	"github.com/stormtest/stormtest/trigger"
)

// Recorder is the part of a results.Sink the consumer uses once the stream has begun: Write,
// called for every completed attempt from the one consumer goroutine; the record is only
// valid during the call.
type Recorder interface {
	Write(*results.Record) error
}

// Config is one attack.
type Config struct {
	// Target is the base URL; the profile's request path is appended to it. It may be empty
	// when the profile names a vegeta targets file, whose URLs are absolute.
	Target  string
	Profile *profiles.Profile
	// Start is the run's time zero (the profile's t=0); zero means a little after now
	// (startLead), so the first attempts are not late before the workers have started.
	Start time.Time
	// Progress, when set, is updated live as the attack goes.
	Progress *Progress
	// Shard and Shards name this generator when several run the same profile; they go into
	// the header. Shards below 1 means 1.
	Shard, Shards int
	// RedactQuery names query parameters of the target whose values are secrets: the header
	// records them as REDACTED (userinfo is always redacted), the attack still sends them.
	RedactQuery []string
	// MaxWorkers bounds concurrent attempts per client group; 0 sizes it from the profile
	// (peak rate × attempts × timeout), because an open-loop generator needs a worker for
	// every attempt in flight, and a generator out of workers falls behind and stops
	// measuring the target.
	MaxWorkers uint64
	// Connections is the number of idle keep-alive connections kept per host.
	Connections int
	// OnTrigger, when set, gets every trigger call of the profile as it completes, from
	// that call's goroutine (package trigger): the CLI prints a failed one at once. Every
	// call is also recorded in the trailer.
	OnTrigger func(results.TriggerCall)
}

// Summary says how an attack went.
type Summary struct {
	Start, End    time.Time
	Requests      uint64 // logical requests started
	Attempts      uint64 // attempts completed and recorded
	UnsentRetries uint64 // retries still waiting for their backoff when the run stopped
	// RetriesDenied are retries a retry budget refused; DeadlineExpired are requests whose
	// next retry would have come after their deadline.
	RetriesDenied   uint64
	DeadlineExpired uint64
	// RedirectHops are redirects followed (client follow_redirects): each is one more request
	// the target saw than the attempts recorded.
	RedirectHops uint64
	Interrupted  bool // stopped by ctx before the profile ended
}

// Progress is a live view of a running attack; every field and method is safe to use at any
// time from any goroutine.
type Progress struct {
	Sent      atomic.Uint64 // attempts handed to vegeta's workers
	Requests  atomic.Uint64 // first attempts sent
	Attempts  atomic.Uint64 // attempts completed
	Successes atomic.Uint64
	Retries   atomic.Uint64 // retries scheduled

	// second and lat belong to the one goroutine that calls observe (the consumer); only the
	// finished p99 is shared, through an atomic, so recording takes no lock per attempt.
	second  int64          // the second (since the run's start) lat is collecting
	lat     *hdr.Histogram // latency of attempts that ended in that second, µs
	lastP99 atomic.Int64   // p99 of the last complete second, a time.Duration
}

// InFlight is how many attempts were sent and have not completed.
func (p *Progress) InFlight() uint64 {
	done := p.Attempts.Load()
	if sent := p.Sent.Load(); sent > done {
		return sent - done
	}
	return 0
}

// LastP99 is the p99 latency (from intended start) of the attempts that ended in the last
// complete second.
func (p *Progress) LastP99() time.Duration {
	return time.Duration(p.lastP99.Load())
}

// observe records a completed attempt's latency, ended at end (since the run's start). It is
// called from one goroutine only: the consumer's.
func (p *Progress) observe(latency, end time.Duration) {
	sec := int64(end / time.Second)
	if p.lat == nil {
		p.lat = hdr.New(1, int64(time.Hour/time.Microsecond), 2)
		p.second = sec
	}
	if sec > p.second {
		p99 := time.Duration(p.lat.ValueAtQuantile(99)) * time.Microsecond
		if sec > p.second+1 {
			p99 = 0 // nothing ended in the last complete second
		}
		p.lastP99.Store(int64(p99))
		p.lat.Reset()
		p.second = sec
	}
	_ = p.lat.RecordValue(max(int64(latency/time.Microsecond), 1))
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
	if err := trigger.Validate(c.Target, c.Profile.Triggers); err != nil {
		return err
	}
	if c.Profile.Request.TargetsFile != "" {
		return nil // its URLs are checked when it is read
	}
	_, err := requestURL(c.Target, c.Profile.Request.Path)
	return err
}

// startLead puts time zero a little in the future, so the first attempts are not already
// late by the time it takes to open the sink and start vegeta's workers.
const startLead = 20 * time.Millisecond

// Run attacks until the profile ends or ctx is cancelled, and streams the run into sink: it
// builds the header (the profile as run, with the seed actually used and credentials
// redacted) and calls Begin, calls Write for every attempt as it completes, and calls End
// once with the trailer, also when the attack is interrupted or fails midway, so whatever
// was recorded stays readable. Every call comes from the goroutine that called Run, which is
// also the one that reads vegeta's results. Attempts in flight when it stops are waited for
// (each is bounded by the client timeout) and recorded, so stopping early loses nothing
// already sent. The error is non-nil only when the attack could not run or the sink failed;
// an interrupted run returns its summary with Interrupted set.
func Run(ctx context.Context, cfg Config, sink results.Sink) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	if sink == nil {
		return Summary{}, errors.New("attack: no sink")
	}
	prof := *cfg.Profile
	if prof.Seed == 0 {
		// Record the seed actually used, so the run can be repeated exactly.
		prof.Seed = rand.Uint64() | 1
	}
	cfg.Profile = &prof
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().Add(startLead)
	}
	if err := sink.Begin(header(cfg)); err != nil {
		return Summary{}, err
	}

	sampler := cpustat.Start(cfg.Start, time.Second)
	// Triggers run beside the attack, never in its way. With several generators only the
	// first makes the calls: each call is one change to the target, not one per shard.
	var triggers *trigger.Runner
	if len(prof.Triggers) > 0 && cfg.Shard == 0 {
		triggers = trigger.Start(trigger.Config{
			Start: cfg.Start, Target: cfg.Target, Triggers: prof.Triggers, OnCall: cfg.OnTrigger,
			Redact: func(u string) string { return RedactURL(u, cfg.RedactQuery) },
		})
	}
	sum, runErr := run(ctx, cfg, sink)
	trailer := results.Trailer{
		Triggers:        triggers.Stop(),
		CPU:             sampler.Stop(),
		End:             sum.End,
		Interrupted:     sum.Interrupted || runErr != nil,
		Requests:        sum.Requests,
		Attempts:        sum.Attempts,
		UnsentRetries:   sum.UnsentRetries,
		RetriesDenied:   sum.RetriesDenied,
		DeadlineExpired: sum.DeadlineExpired,
		RedirectHops:    sum.RedirectHops,
	}
	switch {
	case runErr != nil:
		trailer.Reason = runErr.Error()
	case sum.Interrupted:
		trailer.Reason = "interrupted"
	}
	if err := sink.End(trailer); err != nil && runErr == nil {
		runErr = err
	}
	return sum, runErr
}

// header is what a run of cfg records before its first attempt.
func header(cfg Config) results.Header {
	prof := cfg.Profile
	var groups []string
	for _, g := range prof.Groups() {
		groups = append(groups, g.Name)
	}
	// Redacted once, here: analyze, report, export and hlog all read the target from the
	// header, so none of them can leak what it held.
	target := RedactURL(cfg.Target, cfg.RedactQuery)
	if prof.Request.TargetsFile != "" {
		target = "targets file " + prof.Request.TargetsFile
	}
	host, _ := os.Hostname()
	return results.Header{
		Format:    results.FormatVersion,
		Generator: version.Generator(),
		Host:      host,
		Shard:     cfg.Shard,
		Shards:    max(cfg.Shards, 1),
		Target:    target,
		Start:     cfg.Start,
		// Credentials in request headers stay out of the header.
		Profile: prof.Redacted(),
		Groups:  groups,
	}
}

// run is the attack itself, from cfg.Start on, writing every attempt to rec.
func run(ctx context.Context, cfg Config, rec Recorder) (Summary, error) {
	p := cfg.Profile
	plan, err := newRequestPlan(cfg.Target, p.Request)
	if err != nil {
		return Summary{}, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = new(Progress)
	}
	start := cfg.Start

	groups := newGroups(p, plan, start, cfg, progress)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-ctx.Done():
			for _, g := range groups {
				g.sched.stop()
				g.attacker.Stop()
			}
		case <-stopWatch:
		}
	}()

	c := consumer{recorder: rec, start: start, groups: groups, progress: progress}
	handle := func(g *group, res *vegeta.Result) {
		if err := c.consume(g, res); err != nil && c.err == nil {
			// Keep draining so vegeta's workers can finish, but send nothing new.
			c.err = err
			for _, g := range groups {
				g.sched.stop()
				g.attacker.Stop()
			}
		}
	}
	if len(groups) == 1 {
		// One group (the usual case) needs no fan-in: reading vegeta's channel directly
		// saves a channel hop and a goroutine switch per result.
		g := groups[0]
		for res := range g.attacker.Attack(g.targeter, g.sched, 0, "stormtest") {
			handle(g, res)
		}
	} else {
		for gr := range attackAll(groups) {
			handle(gr.group, gr.res)
		}
	}

	sum := Summary{Start: start, End: time.Now(), Attempts: c.recorded, Interrupted: ctx.Err() != nil}
	for _, g := range groups {
		retries, claimed := g.sched.pending()
		sum.Requests += g.sched.requests()
		sum.UnsentRetries += uint64(retries + claimed)
		sum.RetriesDenied += g.denied
		sum.DeadlineExpired += g.expired
		sum.RedirectHops += g.hops.Load()
	}
	return sum, c.err
}

// newGroups sets up one vegeta attacker per client group: each group has its own timeout, and
// its share of the profile's first attempts as its own schedule, so that shares are exact.
func newGroups(p *profiles.Profile, plan *requestPlan, start time.Time, cfg Config, progress *Progress) []*group {
	clients := p.Groups()
	ids := new(atomic.Uint64)
	groups := make([]*group, len(clients))
	for i, cl := range clients {
		gp := p
		if len(clients) > 1 {
			gp = p.Scaled(cl.Share, 1)
		}
		sched := newScheduler(gp.Schedule(), plan, newRealClock(start), ids, p.Seed+uint64(i)*0x9e3779b97f4a7c15,
			time.Duration(cl.Think))
		g := &group{
			progress: progress,
			index:    uint8(i),
			sched:    sched,
			retry:    retry.New(cl, p.Seed, uint64(i)),
		}
		g.attacker = vegeta.NewAttacker(
			// First: vegeta.Client replaces the whole client, the options after it
			// adjust it.
			vegeta.Client(newHTTPClient(cl.FollowRedirects, &g.hops)),
			vegeta.Timeout(time.Duration(cl.Timeout)),
			vegeta.Workers(16),
			vegeta.MaxWorkers(maxWorkers(cfg.MaxWorkers, gp, cl)),
			vegeta.Connections(connections(cfg.Connections)),
			vegeta.KeepAlive(true),
			// Bodies are read to the end (so connections are reused) but never kept.
			vegeta.MaxBody(0),
		)
		groups[i] = g
	}
	return groups
}

type groupResult struct {
	group *group
	res   *vegeta.Result
}

// attackAll starts every group's attack and merges their results into one channel, so that
// one goroutine records and decides retries for all of them.
func attackAll(groups []*group) <-chan groupResult {
	out := make(chan groupResult, 64*len(groups))
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for res := range g.attacker.Attack(g.targeter, g.sched, 0, "stormtest") {
				out <- groupResult{g, res}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

func maxWorkers(configured uint64, gp *profiles.Profile, cl profiles.Client) uint64 {
	if configured > 0 {
		return configured
	}
	var n float64
	if gp.ClosedLoop() {
		// A closed-loop user has at most one attempt in flight.
		n = float64(maxUsers(gp.Schedule())) * 1.5
	} else {
		n = gp.PeakRate() * float64(retry.Attempts(cl.Retry)) * time.Duration(cl.Timeout).Seconds() * 1.5
	}
	return uint64(math.Min(math.Max(n, 64), 20000))
}

func connections(configured int) int {
	if configured > 0 {
		return configured
	}
	return vegeta.DefaultConnections
}

// errTickWithoutClaim cannot happen while every tick follows a claim; the attack stops
// rather than send an attempt nobody scheduled.
var errTickWithoutClaim = fmt.Errorf("attack: tick without a claimed attempt")
