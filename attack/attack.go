// Package attack drives a profile against an HTTP target, open-loop: first
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/internal/cpustat"
	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/internal/secret"
	"github.com/stormtest/stormtest/internal/version"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/retry"
	"github.com/stormtest/stormtest/scrape"
	"github.com/stormtest/stormtest/shard"
	"github.com/stormtest/stormtest/trigger"
)

// Recorder is the part of a results.Sink the consumer uses once the stream has begun: Write,
// called for every completed attempt from the one consumer goroutine; the record is only
// valid during the call.
type Recorder interface {
	Write(*results.Record) error
}

// Observer watches a run as it goes, for live metrics (package ownmetrics). Begin is called
// once, from the goroutine that called Run, with the run's time zero before the first attempt
// is due. Attempt is called for every completed attempt from the one consumer goroutine, after
// it was recorded and the retry was decided (retried: the client will try the request again);
// the record is only valid during the call. Attempt is on the attack's hot path: it must not
// block, take locks or allocate (atomic adds are fine), or the generator falls behind.
type Observer interface {
	Begin(start time.Time)
	Attempt(rec *results.Record, retried bool)
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
	// Observer, when set, sees every completed attempt (live metrics).
	Observer Observer
	// Part is this generator's share of the run when several generators split it (package
	// shard): it sends the first attempts and closed-loop users the part owns, with its own
	// seed derived from the run's. The zero value is the whole run.
	Part shard.Part
	// RunID names the run in the header; shards of one run must share it. Empty derives it
	// from the profile's name and Start (shard.RunID), which shards given one --start-at share.
	RunID string
	// RedactQuery names query parameters of the target whose values are secrets: the header
	// records them as REDACTED (userinfo is always redacted), the attack still sends them.
	RedactQuery []string
	// RedactHeaders names request headers whose values are secrets beyond the defaults
	// (package internal/secret decides): the header records them as [redacted].
	RedactHeaders []string
	// Env expands the ${NAME} references of Target, of the request's paths and of its header
	// values when requests are built (os.LookupEnv in the CLI). Target and the profile keep
	// the references as written, and only they are recorded. nil: no variable is set.
	Env envvar.Lookup
	// MaxWorkers bounds concurrent attempts per client group; 0 sizes it from the profile
	// (peak rate × attempts × timeout), because an open-loop generator needs a worker for
	// every attempt in flight, and a generator out of workers falls behind and stops
	// measuring the target.
	MaxWorkers uint64
	// Connections is the number of idle keep-alive connections kept per host (the std
	// engine; the fast one keeps one per busy worker).
	Connections int
	// MaxBody caps the bytes read of each response body; 0 means DefaultMaxBody. Bodies are
	// counted and dropped, never kept; one past the cap fails its attempt as
	// results.KindTooLarge and closes its connection.
	MaxBody int64
	// OnTrigger, when set, gets every trigger call of the profile as it completes, from
	// that call's goroutine (package trigger): the CLI prints a failed one at once. Every
	// call is also recorded in the trailer.
	OnTrigger func(results.TriggerCall)
}

// DefaultMaxBody is the body cap when Config.MaxBody is 0: far above any page or API
// response a load test measures, far below the 1 GiB or endless body of a broken target.
const DefaultMaxBody = 16 << 20

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
	// Connections counts the connections opened (TCP or Unix; over TLS, each is a
	// handshake), Protocols the responses by protocol ("HTTP/2.0": n).
	Connections uint64
	Protocols   map[string]uint64
	// Engine is the engine that sent the attempts (std or fast), EngineReason why it was
	// chosen; the results header records both.
	Engine, EngineReason string
	Interrupted          bool // stopped by ctx before the profile ended
	// Clock is the generator's clock offset against the target's, from the Date header of
	// the first minute of responses (shard.Clock); nil when no response had one.
	Clock *results.ClockOffset
}

// Progress is a live view of a running attack; every field and method is safe to use at any
// time from any goroutine.
type Progress struct {
	Sent      atomic.Uint64 // attempts handed to the engine's workers
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
	if _, err := scrapeEndpoints(c); err != nil {
		return err
	}
	if err := trigger.Validate(c.Target, c.Profile.Triggers); err != nil {
		return err
	}
	target := c.Target
	if c.Profile.Request.TargetsFile == "" { // a targets file's URLs are checked when it is read
		expanded, err := expand("--target", c.Target, c.Env)
		if err != nil {
			return err
		}
		if _, err := requestURL(expanded, ""); err != nil {
			return errors.New(strings.ReplaceAll(err.Error(), expanded, c.Target))
		}
		target = expanded
	}
	// The transport's files (CA, client certificate) are read now: a bad one is bad input.
	tr, err := newTransport(c.Profile.Transport, target)
	if err != nil {
		return err
	}
	// So is an engine that cannot do what the profile asks, and a preconnect it cannot use.
	// (A targets file's URLs are checked when it is read, in Run.)
	choice, err := chooseEngine(c.Profile, tr, []string{target})
	if err != nil || tr.t.Preconnect == 0 {
		return err
	}
	_, err = preconnectAddrs(c.Profile, tr, choice.name, []string{target})
	return err
}

// Engine says which engine Run will send with ("std", "fast" or "loop") and why, for a profile whose
// request section can be read (Validate passed).
func (c Config) Engine() (name, reason string, err error) {
	if c.Profile == nil {
		return "", "", errors.New("attack: no profile")
	}
	s, err := prepare(c)
	if err != nil {
		return "", "", err
	}
	return s.engine.name, s.engine.reason, nil
}

// sender is what a run sends with: the request plan, the transport and the engine, and the
// addresses to dial connections to before the first attempt (transport.preconnect).
type sender struct {
	plan       *requestPlan
	tr         *transport
	engine     engineChoice
	preconnect []string
}

// prepare reads the profile's request and transport sections and chooses the engine.
func prepare(cfg Config) (sender, error) {
	p := cfg.Profile
	plan, err := newRequestPlan(cfg.Target, p.Request, cfg.Env)
	if err != nil {
		return sender{}, err
	}
	tr, err := newTransport(p.Transport, plan.baseURL())
	if err != nil {
		return sender{}, err
	}
	// Response bodies are read up to a cap and counted, never kept: a 1 GiB or endless body
	// must not hold a worker until the timeout.
	tr.maxBody = cfg.MaxBody
	if tr.maxBody <= 0 {
		tr.maxBody = DefaultMaxBody
	}
	urls := make([]string, len(plan.endpoints))
	for i, ep := range plan.endpoints {
		urls[i] = ep.url
	}
	choice, err := chooseEngine(p, tr, urls)
	if err != nil {
		return sender{}, err
	}
	snd := sender{plan: plan, tr: tr, engine: choice}
	if tr.t.Preconnect > 0 {
		if snd.preconnect, err = preconnectAddrs(p, tr, choice.name, urls); err != nil {
			return sender{}, err
		}
	}
	return snd, nil
}

// Rules are the secret rules of the attack: the default headers, RedactHeaders and
// RedactQuery.
func (c Config) Rules() secret.Rules {
	return secret.Rules{Headers: c.RedactHeaders, Query: c.RedactQuery}
}

// Scrubber replaces every secret of this attack in a message: the target's userinfo and
// secret query values, literal values of secret headers, and the value of every ${NAME}
// the target, the paths and the headers reference. The CLI passes every line it prints
// through it.
func (c Config) Scrubber() *secret.Scrubber {
	sc := new(secret.Scrubber)
	rules := c.Rules()
	sc.AddEnv(c.Target, c.Env)
	if target, err := envvar.Expand(c.Target, c.Env); err == nil {
		sc.AddURL(target, rules)
	}
	sc.AddURL(c.Target, rules)
	if c.Profile == nil {
		return sc
	}
	r := c.Profile.Request
	headers := func(h map[string]string) {
		for name, value := range h {
			sc.AddHeader(name, value, rules, c.Env)
		}
	}
	headers(r.Headers)
	sc.AddEnv(r.Path, c.Env)
	for _, p := range r.Paths {
		sc.AddEnv(p.Path, c.Env)
	}
	for _, e := range r.Requests {
		headers(e.Headers)
		sc.AddEnv(e.Path, c.Env)
	}
	// A proxy's user:password is sent to the proxy only (Proxy-Authorization).
	if t := c.Profile.Transport; t != nil && t.Proxy != "" {
		sc.AddURL(t.Proxy, rules)
	}
	return sc
}

// DefaultMaxLate is how long after its t=0 a generator may still start (the CLI's
// --max-late): the first attempts it owes since t=0 leave at once, and a second's worth is a
// burst a target absorbs; more would be load the profile never asked for.
const DefaultMaxLate = time.Second

// startLead puts time zero a little in the future, so the first attempts are not already
// late by the time it takes to open the sink and start the workers.
const startLead = 20 * time.Millisecond

// Run attacks until the profile ends or ctx is cancelled, and streams the run into sink: it
// builds the header (the profile as run, with the seed actually used and credentials
// redacted) and calls Begin, calls Write for every attempt as it completes, and calls End
// once with the trailer, also when the attack is interrupted or fails midway, so whatever
// was recorded stays readable. Every call comes from the goroutine that called Run, which is
// also the one that reads the engines' outcomes. Attempts in flight when it stops are waited for
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
	eps, err := scrapeEndpoints(cfg)
	if err != nil {
		return Summary{}, err
	}
	if cfg.Part.Count == 0 {
		cfg.Part = shard.One
	}
	if err := cfg.Part.Valid(); err != nil {
		return Summary{}, fmt.Errorf("attack: %w", err)
	}
	snd, err := prepare(cfg)
	if err != nil {
		return Summary{}, err
	}
	if len(snd.preconnect) > 0 {
		// Before time zero is set, so the dials make no attempt late (a shard given its
		// start must finish them before it; LateStart records it if not).
		sp := newSpares(snd.tr.t.Preconnect, snd.preconnect, snd.tr.dialNew)
		fctx, cancel := context.WithTimeout(ctx, preconnectTimeout(cfg.Profile))
		sp.fill(fctx)
		cancel()
		sp.start()
		defer sp.close()
		snd.tr.spares = sp
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().Add(startLead)
	}
	if cfg.RunID == "" {
		cfg.RunID = shard.RunID(cfg.Profile.Name, cfg.Start)
	}
	prof := *cfg.Profile
	if prof.Seed == 0 {
		// Record the seed actually used, so the run can be repeated exactly. Shards started
		// separately must agree on it without talking: they take it from the run id.
		prof.Seed = rand.Uint64() | 1
		if cfg.Part.Sharded() {
			prof.Seed = shard.RunSeed(cfg.RunID)
		}
	}
	cfg.Profile = &prof
	h := header(cfg)
	// Measured as late as possible before the first attempt can be due: a shard whose pod
	// or process came up after t=0 sends the attempts already due at once, and says so.
	if late := time.Since(cfg.Start); late > 0 {
		h.LateStart = late
	}
	h.Engine, h.EngineReason = snd.engine.name, snd.engine.reason
	for _, e := range eps {
		h.Scrape = append(h.Scrape, e.Shown)
	}
	if h.Profile.Observe != nil {
		// The profile as recorded names the endpoints as given, so redact them there too.
		for i, s := range h.Profile.Observe.Scrape {
			h.Profile.Observe.Scrape[i] = RedactURL(s, cfg.RedactQuery)
		}
	}
	if err := sink.Begin(h); err != nil {
		return Summary{}, err
	}
	if cfg.Observer != nil {
		cfg.Observer.Begin(cfg.Start)
	}

	sampler := cpustat.Start(cfg.Start, time.Second)
	// Triggers run beside the attack, never in its way. With several generators only the
	// first makes the calls: each call is one change to the target, not one per shard.
	var triggers *trigger.Runner
	if len(prof.Triggers) > 0 && cfg.Part.Index == 0 {
		triggers = trigger.Start(trigger.Config{
			Start: cfg.Start, Target: cfg.Target, Triggers: prof.Triggers, OnCall: cfg.OnTrigger,
			Redact: cfg.Rules().URL,
		})
	}
	scr, err := startScraper(cfg, eps)
	if err != nil {
		return Summary{}, err
	}
	sum, runErr := run(ctx, cfg, snd, sink, scr)
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
		Connections:     sum.Connections,
		Protocols:       sum.Protocols,
		Clock:           sum.Clock,
	}
	if scr != nil {
		trailer.ScrapeWarnings = scr.Warnings()
	}
	switch {
	case runErr != nil:
		trailer.Reason = cfg.Scrubber().String(runErr.Error())
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
	target := cfg.Rules().URL(cfg.Target)
	if prof.Request.TargetsFile != "" {
		target = "targets file " + prof.Request.TargetsFile
	}
	host, _ := os.Hostname()
	return results.Header{
		Format:    results.FormatVersion,
		Generator: version.Generator(),
		Host:      host,
		Shard:     cfg.Part.Index,
		Shards:    max(cfg.Part.Count, 1),
		RunID:     cfg.RunID,
		Target:    target,
		Start:     cfg.Start,
		// Credentials in request headers stay out of the header; ${NAME} references are
		// recorded as written, never expanded.
		Profile: prof.RedactedBy(cfg.Rules()),
		Groups:  groups,
	}
}

// run is the attack itself, from cfg.Start on, sending with snd, writing every attempt to rec,
// and every scrape of the target's metrics that scr (nil: none) delivers to rec's ScrapeSink,
// on this goroutine.
func run(ctx context.Context, cfg Config, snd sender, rec Recorder, scr *scrape.Scraper) (Summary, error) {
	p := cfg.Profile
	plan, tr := snd.plan, snd.tr
	progress := cfg.Progress
	if progress == nil {
		progress = new(Progress)
	}
	start := cfg.Start

	groups, err := newGroups(p, plan, tr, snd.engine.name, start, cfg, progress)
	if err != nil {
		return Summary{}, err
	}
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-ctx.Done():
			for _, g := range groups {
				g.sched.stop()
				g.engine.stop()
			}
		case <-stopWatch:
		}
	}()

	c := consumer{recorder: rec, observer: cfg.Observer, start: start, groups: groups, progress: progress, clockUntil: start.Add(shard.ClockWindow)}
	handle := func(g *group, res *outcome) {
		if err := c.consume(g, res); err != nil && c.err == nil {
			// Keep draining so the workers can finish, but send nothing new.
			c.err = err
			for _, g := range groups {
				g.sched.stop()
				g.engine.stop()
			}
		}
	}
	// Scrapes are stored by this goroutine too, between attempts, as the Sink contract wants;
	// the scraper never waits for it (see package scrape).
	storeScrape := scrapeSink(rec)
	handleScrape := func(sc *results.Scrape) {
		if err := storeScrape(sc); err != nil && c.err == nil {
			c.err = err
			for _, g := range groups {
				g.sched.stop()
				g.engine.stop()
			}
		}
	}
	switch {
	case scr != nil:
		var attempts <-chan groupResult
		if len(groups) == 1 {
			g := groups[0]
			attempts = tagged(g, g.engine.attack())
		} else {
			attempts = attackAll(groups)
		}
		scrapes := scr.C()
	loop:
		for {
			select {
			case gr, ok := <-attempts:
				if !ok {
					break loop
				}
				handle(gr.group, &gr.res)
			case sc := <-scrapes:
				handleScrape(sc)
			}
		}
		scr.Stop()
		for sc := range scrapes {
			handleScrape(sc)
		}
	case len(groups) == 1:
		// One group (the usual case) needs no fan-in: pulling from the engine on this
		// goroutine saves a channel hop and a goroutine switch per result.
		g := groups[0]
		next := g.engine.attack()
		for {
			res, ok := next()
			if !ok {
				break
			}
			handle(g, &res)
		}
	default:
		for gr := range attackAll(groups) {
			handle(gr.group, &gr.res)
		}
	}

	sum := Summary{Start: start, End: time.Now(), Attempts: c.recorded, Interrupted: ctx.Err() != nil,
		Connections: tr.stats.conns.Load(), Protocols: tr.stats.protocols(),
		Engine: snd.engine.name, EngineReason: snd.engine.reason}
	if off, unc, n, ok := c.clock.Estimate(); ok {
		sum.Clock = &results.ClockOffset{Offset: off, Uncertainty: unc, Samples: n}
	}
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

// newGroups sets up a scheduler and an engine (engineStd, engineFast or engineLoop) per client group: each
// group has its own timeout, and its share of the profile's first attempts as its own
// schedule, so that shares are exact.
func newGroups(p *profiles.Profile, plan *requestPlan, tr *transport, eng string, start time.Time, cfg Config, progress *Progress) ([]*group, error) {
	clients := p.Groups()
	ids := new(atomic.Uint64)
	groups := make([]*group, len(clients))
	for i, cl := range clients {
		gp := p
		if len(clients) > 1 {
			gp = p.Scaled(cl.Share, 1)
		}
		// Each shard draws from its own seed (shard.Part.Seed), the whole run from the run's.
		seed := cfg.Part.Seed(p.Seed)
		sched := newScheduler(gp.Schedule(), plan, newRealClock(start), ids, seed+uint64(i)*0x9e3779b97f4a7c15,
			time.Duration(cl.Think))
		sched.setPart(cfg.Part)
		g := &group{
			progress: progress,
			index:    uint8(i),
			sched:    sched,
			retry:    retry.New(cl, seed, uint64(i)),
		}
		workers := maxWorkers(cfg.MaxWorkers, gp, cl)
		switch eng {
		case engineLoop:
			e, err := newLoopEngine(g, tr, plan, cl, workers)
			if err != nil {
				// The groups before this one hold an epoll set and an eventfd each.
				for _, prev := range groups[:i] {
					prev.engine.(*loopEngine).end()
				}
				return nil, err
			}
			e.dateUntil = start.Add(shard.ClockWindow)
			g.engine = e
		case engineFast:
			e, err := newFastEngine(g, tr, plan, cl, workers)
			if err != nil {
				return nil, err
			}
			// The clock estimate (package shard) reads the Date header of the first minute's
			// responses; after that the fast engine copies no header it need not.
			e.dateUntil = start.Add(shard.ClockWindow)
			g.engine = e
		default:
			g.engine = newStdEngine(g, tr, cl, connections(cfg.Connections), workers)
		}
		groups[i] = g
	}
	return groups, nil
}

type groupResult struct {
	group *group
	res   outcome
}

// tagged passes one group's results on as groupResults, for the select beside the scrapes.
func tagged(g *group, next func() (outcome, bool)) <-chan groupResult {
	out := make(chan groupResult, 64)
	go func() {
		defer close(out)
		for {
			res, ok := next()
			if !ok {
				return
			}
			out <- groupResult{g, res}
		}
	}()
	return out
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
			next := g.engine.attack()
			for {
				res, ok := next()
				if !ok {
					return
				}
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
