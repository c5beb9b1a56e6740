package attack

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// engine sends one client group's attempts: it is the seam between deciding (the group's
// scheduler, which says when and what) and sending (an HTTP client). Three implement it:
// stdEngine (net/http: everything the transport section can ask for) and fastEngine
// (fasthttp: plain HTTP/1.1 and TLS, less CPU per attempt), each sending from a pool
// (pool.go), and loopEngine (plain HTTP/1.1 from one event loop per group, on the consumer's
// goroutine; Linux). chooseEngine picks one per run.
//
// Run's goroutine calls attack once per group, then calls the next function it returns until
// it reports false; next is called from that one goroutine only (the consumer's, or the
// fan-in's when several groups or scrapes are merged), so an engine may turn its client's
// results into outcomes inside next rather than on a goroutine of its own: one channel hop
// per attempt fewer (loopEngine runs its whole event loop inside next). The engine's own goroutines (or loop) take attempts from the group (the scheduler's Pace,
// which blocks until one is due and claims it, called by one goroutine at a time; then
// group.take) and send each one once, with no retry of their own; every attempt taken is
// delivered as exactly one outcome, and next reports false once the scheduler said stop
// and every attempt in flight has been delivered. stop may be called from any goroutine (the
// context watcher, the consumer when the sink fails), after the scheduler was stopped: the
// engine sends nothing new and lets what is in flight finish within the client timeout.
type engine interface {
	attack() (next func() (outcome, bool))
	stop()
}

// outcome is one attempt as an engine saw it, whatever the engine: the consumer records it
// and asks package retry what follows.
type outcome struct {
	slot  uint32 // the scheduler's slot of the attempt
	known bool   // slot is valid; false only for a result no claim explains (a bug)
	code  uint16 // the response's status; 0 when none was read completely
	kind  results.Kind
	err   string        // the recorded error message: the root cause, no URL or address
	sent  time.Time     // when the request started
	lat   time.Duration // from sent until the body was read, or the attempt failed
	// header holds the response headers the retry policy reads (Retry-After); nil when
	// there were none.
	header http.Header
	// date is the response's Date header, for the clock estimate (package shard), while the
	// engine hands it over (the run's first shard.ClockWindow); "" otherwise.
	date string
}

// Engine names, as Summary and the results header report them.
const (
	engineStd  = profiles.EngineStd
	engineFast = profiles.EngineFast
	engineLoop = profiles.EngineLoop
)

// engineChoice is which engine a run uses and why, for the results header and the analysis.
type engineChoice struct {
	name   string // engineStd, engineFast or engineLoop
	reason string
}

// chooseEngine decides the run's engine from what was asked (the profile's transport.engine,
// which --engine sets) and what the run needs. An explicit fast or loop that the run needs
// more than it can do is bad input: an error naming the first such need and what to do.
// auto picks the leanest engine that can do everything: loop, then fast, then std.
// urls are where the run sends: the target, or every endpoint of the request plan.
func chooseEngine(p *profiles.Profile, tr *transport, urls []string) (engineChoice, error) {
	asked := ""
	if p.Transport != nil {
		asked = p.Transport.Engine
	}
	switch asked {
	case "", engineStd:
		return engineChoice{engineStd, "the default (--engine std): net/http, every transport option"}, nil
	case engineFast, engineLoop, profiles.EngineAuto:
	default:
		return engineChoice{}, fmt.Errorf("--engine (transport.engine): %q is not an engine (expected std, fast, loop or auto)", asked)
	}
	fastNeed := fastCannot(p, tr, urls)
	loopNeed := fastNeed
	if loopNeed == "" {
		loopNeed = loopCannot(urls)
	}
	switch {
	case asked == engineLoop && loopNeed != "":
		alt := "use --engine std or auto"
		if fastNeed == "" {
			alt = "use --engine fast or auto"
		}
		return engineChoice{}, fmt.Errorf("--engine loop (transport.engine) cannot run this profile: %s; %s", loopNeed, alt)
	case asked == engineLoop:
		return engineChoice{engineLoop, "asked for (--engine loop): one event loop per client group, plain HTTP/1.1"}, nil
	case asked == engineFast && fastNeed != "":
		return engineChoice{}, fmt.Errorf("--engine fast (transport.engine) cannot run this profile: %s; use --engine std or auto", fastNeed)
	case asked == engineFast:
		return engineChoice{engineFast, "asked for (--engine fast): fasthttp, HTTP/1.1"}, nil
	case fastNeed != "":
		return engineChoice{engineStd, "auto: " + fastNeed + ", which only std does"}, nil
	case loopNeed != "":
		return engineChoice{engineFast, "auto: the profile needs only HTTP/1.1, which fast does with less CPU per attempt than std (not loop: " + loopNeed + ")"}, nil
	}
	return engineChoice{engineLoop, "auto: the profile needs only plain HTTP/1.1, which loop does with the least CPU per attempt"}, nil
}

// loopCannot names the first thing a run that fast can do needs that loopEngine cannot, or "".
func loopCannot(urls []string) string {
	if !loopSupported {
		return "the loop engine needs Linux (epoll)"
	}
	for _, s := range urls {
		if s == "" {
			continue // a targets file's URLs, checked once it is read
		}
		if u, err := url.Parse(s); err != nil || u.Scheme != "http" {
			return "TLS (an https:// target); the loop engine speaks plain HTTP/1.1 only"
		}
	}
	return ""
}

// fastCannot names the first thing the run needs that fastEngine cannot do, or "".
func fastCannot(p *profiles.Profile, tr *transport, urls []string) string {
	t := tr.t
	switch {
	case t.H2C:
		return "h2c (cleartext HTTP/2)"
	case t.Proxy != "" && t.Proxy != profiles.ProxyNone:
		return "a proxy (transport.proxy)"
	}
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return "a URL it cannot read"
		}
		if u.Scheme == "https" && tr.http2() {
			return "HTTP/2 may be negotiated with an https:// target (--http1, transport.http2: false, asks for HTTP/1.1 only)"
		}
		if tr.proxy == nil {
			continue
		}
		// The environment's HTTPS_PROXY/HTTP_PROXY applies unless NO_PROXY exempts the URL.
		if pu, err := tr.proxy(&http.Request{URL: u}); err == nil && pu != nil {
			return "a proxy from the environment (HTTPS_PROXY/HTTP_PROXY; --proxy none goes direct)"
		}
	}
	for _, cl := range p.Groups() {
		if cl.FollowRedirects > 0 {
			return fmt.Sprintf("following redirects (client %q: follow_redirects %d)", cl.Name, cl.FollowRedirects)
		}
	}
	return ""
}

// stdEngine is the net/http path: the group's worker pool over the transport's http.Client,
// each attempt sent as vegeta's Attacker sends one (the request built by vegeta's Target, the
// body read to the end and dropped, a status below 200 or from 400 on recorded with its status
// line as the error). It can do everything the transport section asks (HTTP/2, h2c, proxies,
// redirects). It used vegeta's Attacker itself until the one-hour soak showed that pool's
// workers never end: every slow minute left the goroutines it had started behind.
type stdEngine struct {
	g      *group
	client *http.Client
	pool   *pool
}

func newStdEngine(g *group, tr *transport, cl profiles.Client, conns int, workers uint64) *stdEngine {
	e := &stdEngine{g: g, client: tr.client(cl.FollowRedirects, cl.Reuses(), conns, &g.hops)}
	e.client.Timeout = time.Duration(cl.Timeout)
	e.pool = newPool(g, workers, tr.t.Preconnect, func() sendFunc { return e.send })
	return e
}

func (e *stdEngine) stop() {} // the scheduler's stop ends every worker's next Pace

func (e *stdEngine) attack() func() (outcome, bool) { return e.pool.start() }

// send makes one attempt through net/http.
func (e *stdEngine) send(slot uint32, ep *endpoint) outcome {
	o := outcome{slot: slot, known: true, sent: time.Now()}
	fail := func(err error) outcome {
		o.lat = time.Since(o.sent)
		o.code = 0
		o.kind, o.err = failure(err.Error())
		return o
	}
	tgt := vegeta.Target{Method: ep.method, URL: ep.url, Header: ep.header, Body: ep.body}
	req, err := tgt.Request()
	if err != nil {
		return fail(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fail(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fail(err)
	}
	o.lat = time.Since(o.sent)
	o.code = uint16(resp.StatusCode)
	o.header = resp.Header
	o.date = resp.Header.Get("Date")
	text := ""
	if o.code < 200 || o.code >= 400 {
		text = resp.Status
	}
	if o.kind = classify(o.code, text); o.kind != results.KindOK {
		o.err = errorMessage(text)
	}
	return o
}

// take hands the attempt the scheduler claimed to an engine's worker: its slot and endpoint.
// It counts the attempt as sent, and as a request when it is the request's first attempt. Workers of either engine call it, concurrently, right after a
// claim.
func (g *group) take() (slot uint32, ep *endpoint, ok bool) {
	slot, ep, first, ok := g.sched.next()
	if !ok {
		return 0, nil, false
	}
	g.progress.Sent.Add(1)
	if first {
		g.progress.Requests.Add(1)
	}
	return slot, ep, true
}

// statusError is the error text the std engine (as vegeta) gives a response with a status below 200 or from 400
// on ("503 Service Unavailable"), so that both engines record the same message.
func statusError(code int, reason string) string {
	if reason == "" {
		reason = http.StatusText(code)
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", code, reason))
}

// countProto counts a response by protocol version, as countingTransport does for net/http.
func (s *transportStats) countProto(major, minor int) {
	var c *atomic.Uint64
	switch {
	case major == 2:
		c = &s.http2
	case major == 1 && minor == 1:
		c = &s.http11
	case major == 1 && minor == 0:
		c = &s.http10
	default:
		c = &s.others
	}
	c.Add(1)
}
