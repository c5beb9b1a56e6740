package attack

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// fastEngine sends a group's attempts with fasthttp's HostClient, HTTP/1.1 only, from the
// group's worker pool. The profile of a max-rate run showed net/http's two goroutines per
// connection (readLoop, writeLoop, and the select and wake-ups between them and the caller)
// and its ~6 KB of allocations per request (header maps, contexts, timers, the body buffer)
// taking most of the generator's CPU; here a worker writes the request and reads the response
// on its own goroutine, into a request and response it reuses, and hands the outcome to the
// consumer by value: no allocation per attempt when the target answers.
type fastEngine struct {
	g       *group
	hosts   []*fasthttp.HostClient // by endpoint; endpoints of one origin share one
	protos  []fasthttp.Request     // by endpoint: the request to send, copied for each attempt
	timeout time.Duration          // the client's timeout: the whole attempt, dial to body
	maxBody int64                  // the body cap (0: none)
	stats   *transportStats
	pool    *pool

	// dateUntil is when the engine stops handing over the Date header: until then the
	// consumer estimates the generator's clock against the target's from it.
	dateUntil time.Time
}

// fastIdleConn is how long fastEngine keeps an idle connection. Shorter than the common
// server keep-alive timeouts (Node's 5 s), so a connection is closed here before the server
// closes it: fasthttp, told not to resend anything (every attempt is recorded as sent), would
// report a request on a connection the server had just closed as a reset.
const fastIdleConn = 4 * time.Second

// fastInMemory is the largest response body the fast engine reads whole into a buffer it
// reuses; a longer one is streamed and dropped as it is read.
const fastInMemory = 64 << 10

// fastUserAgent is what net/http sends, so that the target sees the same requests whatever
// the engine.
const fastUserAgent = "Go-http-client/1.1"

func newFastEngine(g *group, tr *transport, plan *requestPlan, cl profiles.Client, workers uint64) (*fastEngine, error) {
	e := &fastEngine{
		g:       g,
		timeout: time.Duration(cl.Timeout),
		maxBody: tr.maxBody,
		stats:   tr.stats,
		protos:  make([]fasthttp.Request, len(plan.endpoints)),
		hosts:   make([]*fasthttp.HostClient, len(plan.endpoints)),
	}
	e.pool = newPool(g, workers, tr.t.Preconnect, func() sendFunc {
		var w fastWorker
		return func(slot uint32, ep *endpoint) outcome {
			return e.send(slot, ep, &w)
		}
	})
	byOrigin := map[string]*fasthttp.HostClient{}
	for i := range plan.endpoints {
		ep := &plan.endpoints[i]
		u, err := url.Parse(ep.url)
		if err != nil {
			return nil, err
		}
		origin := u.Scheme + "://" + hostPort(u)
		hc := byOrigin[origin]
		if hc == nil {
			hc = tr.fastHostClient(u, int(e.pool.max))
			byOrigin[origin] = hc
		}
		e.hosts[i] = hc
		fastRequest(&e.protos[i], ep, cl.Reuses())
	}
	return e, nil
}

// fastRequest sets req to ep's request as the fast and loop engines send it: net/http's
// User-Agent unless the profile sets one, the profile's Host header, and Connection: close
// when the client does not reuse connections.
func fastRequest(req *fasthttp.Request, ep *endpoint, reuse bool) {
	req.SetRequestURI(ep.url)
	req.Header.SetMethod(ep.method)
	req.Header.SetUserAgent(fastUserAgent)
	for name, values := range ep.header {
		if http.CanonicalHeaderKey(name) == "Host" {
			if len(values) > 0 {
				req.Header.SetHost(values[0])
			}
			continue
		}
		// Set, then Add: a profile's User-Agent replaces the default one.
		for j, v := range values {
			if j == 0 {
				req.Header.Set(name, v)
			} else {
				req.Header.Add(name, v)
			}
		}
	}
	if len(ep.body) > 0 {
		req.SetBodyRaw(ep.body)
	}
	if !reuse {
		req.SetConnectionClose()
	}
}

// fastHostClient is a fasthttp client for the origin of u, with the run's TLS configuration
// and routing (connect_to, Unix socket), and with fasthttp's own resending turned off.
func (tr *transport) fastHostClient(u *url.URL, maxConns int) *fasthttp.HostClient {
	tls := u.Scheme == "https"
	hc := &fasthttp.HostClient{
		Addr:                     hostPort(u),
		IsTLS:                    tls,
		NoDefaultUserAgentHeader: true,
		MaxConns:                 maxConns,
		MaxIdleConnDuration:      fastIdleConn,
		// fasthttp resends a failed idempotent request on another connection; every
		// attempt is recorded as sent, so it may resend only a request that never left:
		// one refused by a connection the framing check had broken (errBrokenConn).
		MaxIdemponentCallAttempts: 2,
		RetryIfErr: func(_ *fasthttp.Request, _ int, err error) (bool, bool) {
			return false, errors.Is(err, errBrokenConn)
		},
		// Send paths as written (fasthttp would clean them), and read heads as large as the
		// framing check keeps.
		DisablePathNormalizing: true,
		ReadBufferSize:         maxHead,
		// Bodies are counted up to the run's cap (attack --max-body-mib) and dropped, as the
		// net/http engine does: a huge or endless body fails as too-large (see send). Without
		// streaming fasthttp would hold each body in memory up to the cap: a target sending
		// huge bodies to 64 workers would have cost 64 × 16 MiB. Streamed, a body up to
		// fastInMemory is still read in one go; longer ones pass through the connection's
		// read buffer.
		StreamResponseBody:  true,
		MaxResponseBodySize: fastInMemory,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c, err := tr.dial(ctx, "tcp", addr)
			if err != nil || tls {
				return c, err
			}
			// Plain HTTP/1: the same framing check as net/http's connections get, and one
			// deadline update per attempt instead of two.
			return &framedConn{Conn: c, oneDeadline: true}, nil
		},
	}
	if tls {
		hc.TLSConfig = tr.tls.Clone()
		// Only HTTP/1.1: fast is chosen only when HTTP/2 is off.
		hc.TLSConfig.NextProtos = nil
	}
	return hc
}

func (e *fastEngine) stop() {} // the scheduler's stop ends every worker's next Pace

func (e *fastEngine) attack() func() (outcome, bool) { return e.pool.start() }

// fastWorker is what one of the pool's workers keeps between its attempts.
type fastWorker struct {
	req  fasthttp.Request
	resp fasthttp.Response
	body io.LimitedReader // reads the response body, up to the cap
	// req holds endpoint's request once prepared.
	prepared bool
	endpoint int
	// date is the last Date header handed over: a server's Date changes once a second, so
	// keeping the string when the bytes are the same leaves the attempt without allocation.
	date string
}

// send makes one attempt: the endpoint's request, once, within the client's timeout.
func (e *fastEngine) send(slot uint32, ep *endpoint, w *fastWorker) outcome {
	req, resp := &w.req, &w.resp
	i := ep.index
	if !w.prepared || w.endpoint != i {
		// fasthttp's Do leaves a request as it was given, so a worker sending the same
		// endpoint again (every attempt of a one-endpoint run) sends it as it stands.
		e.protos[i].CopyTo(req)
		w.prepared, w.endpoint = true, i
	}
	hc := e.hosts[i]
	o := outcome{slot: slot, known: true, sent: time.Now()}
	var err error
	if e.timeout > 0 {
		err = hc.DoTimeout(req, resp, e.timeout)
	} else {
		err = hc.Do(req, resp)
	}
	if err == nil {
		err = e.drain(w)
	}
	o.lat = time.Since(o.sent)
	if err != nil {
		o.kind, o.err = fastError(err)
		return o
	}
	code := resp.StatusCode()
	o.code = uint16(code)
	if resp.Header.IsHTTP11() {
		e.stats.countProto(1, 1)
	} else {
		e.stats.countProto(1, 0)
	}
	text := ""
	if code < 200 || code >= 400 {
		text = statusError(code, string(resp.Header.StatusMessage()))
	}
	if o.kind = classify(o.code, text); o.kind != results.KindOK {
		o.err = text
	}
	if ra := resp.Header.Peek("Retry-After"); len(ra) > 0 {
		o.header = http.Header{"Retry-After": {string(ra)}}
	}
	if o.sent.Before(e.dateUntil) {
		if d := resp.Header.Peek("Date"); len(d) > 0 {
			if string(d) != w.date {
				w.date = string(d)
			}
			o.date = w.date
		}
	}
	return o
}

// drain reads the response body to its end and drops it, up to the run's cap: past it the
// attempt fails with errBodyTooLarge. A body not read to its end (too large, a read error,
// the timeout) closes its connection rather than return it to the pool mid-body.
func (e *fastEngine) drain(w *fastWorker) error {
	stream := w.resp.BodyStream()
	if stream == nil {
		return nil
	}
	w.body.R, w.body.N = stream, math.MaxInt64
	if e.maxBody > 0 {
		w.body.N = e.maxBody + 1
	}
	_, err := io.Copy(io.Discard, &w.body)
	if err == nil && w.body.N == 0 {
		err = errBodyTooLarge
	}
	w.body.R = nil
	if err != nil {
		w.resp.SetConnectionClose()
	}
	if cerr := w.resp.CloseBodyStream(); err == nil {
		err = cerr
	}
	return err
}

// fastError classifies a failed fasthttp attempt by the error's type where it has one (the
// kinds the net/http engine reads from its error text), and gives the recorded message.
func fastError(err error) (results.Kind, string) {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return results.KindTimeout, msgTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return results.KindRefused, "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return results.KindReset, "connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		return results.KindReset, "broken pipe"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return results.KindReset, "server closed the connection before the response was complete"
	case errors.Is(err, errBodyOverrun):
		return results.KindOther, errBodyOverrun.Error()
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return results.KindTooLarge, errBodyTooLarge.Error()
	}
	msg := err.Error()
	if strings.Contains(msg, "cannot parse response status line") || strings.Contains(msg, "unexpected protocol") ||
		strings.Contains(msg, "cannot find http request method") || strings.Contains(msg, "error when reading response headers") && !strings.Contains(msg, "timeout") && !strings.Contains(msg, "EOF") {
		// Not HTTP at all: garbage where a status line belongs, or headers that do not parse.
		if i := strings.Index(msg, ". Buffer size="); i >= 0 {
			msg = msg[:i]
		}
		return results.KindMalformed, "malformed HTTP response: " + firstClause(msg)
	}
	if k, m := failure(msg); k != results.KindOther {
		return k, m // a timeout fasthttp words otherwise, too
	}
	// fasthttp's messages carry a buffer dump after ". Buffer size="; keep the cause.
	if i := strings.Index(msg, ". Buffer size="); i >= 0 {
		msg = msg[:i]
	}
	return results.KindOther, errorMessage(msg)
}

// firstClause is a fasthttp message up to its first quoted dump of the bytes received
// (garbage from a hostile target does not belong in a results file).
func firstClause(msg string) string {
	if i := strings.IndexAny(msg, "\"'"); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimRight(strings.TrimSpace(msg), ":")
}
