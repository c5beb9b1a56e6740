package attack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/net/http/httpproxy"
	"golang.org/x/net/http2"

	"github.com/stormtest/stormtest/profiles"
)

// transport is what the HTTP clients of one run share, built once from the profile's
// transport section: the TLS configuration (its files read once, so a bad one fails before
// anything is sent), the proxy choice, where connections go, and the counters the trailer
// reports. Each client group gets its own http.Client from it (client), because groups
// differ in redirects and keep-alive.
type transport struct {
	t     profiles.Transport
	tls   *tls.Config
	proxy func(*http.Request) (*url.URL, error) // nil: direct
	rules []profiles.ConnectRule
	stats *transportStats
	// maxBody caps the bytes of a response body the clients read (0: no cap); Run sets it
	// from Config.MaxBody.
	maxBody int64
	// spares, when the profile asks for preconnect, holds the connections dialed ahead;
	// Run sets it before the first attempt.
	spares *spares
}

// transportStats counts what the trailer reports about connections. The workers update
// it from their goroutines; Run reads it once they have all finished.
type transportStats struct {
	conns                         atomic.Uint64 // connections opened: TCP (or Unix) dials
	http10, http11, http2, others atomic.Uint64 // responses by the protocol they came in
}

// protocols is the responses by protocol, as the trailer records them ("HTTP/2.0": n); nil
// when there were none.
func (s *transportStats) protocols() map[string]uint64 {
	m := map[string]uint64{}
	for name, n := range map[string]uint64{
		"HTTP/1.0": s.http10.Load(), "HTTP/1.1": s.http11.Load(), "HTTP/2.0": s.http2.Load(), "other": s.others.Load(),
	} {
		if n > 0 {
			m[name] = n
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// tlsVersions maps profiles.TLSVersions to crypto/tls.
var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// newTransport reads t (nil: defaults) for a run against target, the base URL the run
// starts with. Its errors are bad input, each one line naming the flag and the profile key.
func newTransport(t *profiles.Transport, target string) (*transport, error) {
	tr := &transport{stats: new(transportStats)}
	if t != nil {
		tr.t = *t
	}
	if u, err := url.Parse(target); err == nil && tr.t.H2C && u.Scheme == "https" {
		return nil, fmt.Errorf("--h2c (transport.h2c) is cleartext HTTP/2, but the target %s is https://: use an http:// target, or drop --h2c (HTTP/2 over TLS is negotiated by default)", target)
	}
	cfg, err := tlsConfig(tr.t.TLS)
	if err != nil {
		return nil, err
	}
	tr.tls = cfg
	for _, s := range tr.t.ConnectTo {
		r, err := profiles.ParseConnectTo(s)
		if err != nil {
			return nil, fmt.Errorf("--connect-to (transport.connect_to): %w", err)
		}
		tr.rules = append(tr.rules, r)
	}
	switch {
	case len(tr.rules) > 0 || tr.t.UnixSocket != "":
		// The connections go where they were sent; an environment proxy would take them
		// elsewhere. (An explicit proxy with either is refused by the profile's validation.)
	case tr.t.Proxy == profiles.ProxyNone:
	case tr.t.Proxy != "":
		u, err := profiles.ProxyURL(tr.t.Proxy)
		if err != nil {
			return nil, fmt.Errorf("--proxy (transport.proxy): %w", err)
		}
		tr.proxy = http.ProxyURL(u)
	default:
		// Read now, not through http.ProxyFromEnvironment, which reads the environment once
		// per process: each run sees the environment it was started in.
		env := httpproxy.FromEnvironment().ProxyFunc()
		tr.proxy = func(r *http.Request) (*url.URL, error) { return env(r.URL) }
	}
	return tr, nil
}

// tlsConfig builds the client's TLS configuration. Files are read here, once per run.
func tlsConfig(t *profiles.TLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t == nil {
		return cfg, nil
	}
	if t.MinVersion != "" {
		v, ok := tlsVersions[t.MinVersion]
		if !ok {
			return nil, fmt.Errorf("--tls-min-version (transport.tls.min_version): %q is not a TLS version (expected 1.0, 1.1, 1.2 or 1.3)", t.MinVersion)
		}
		cfg.MinVersion = v
	}
	if len(t.CA) > 0 {
		// Added to the system's roots, so that a target behind a public certificate still
		// verifies when an internal CA is given for another.
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range t.CA {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("CA file (--ca, transport.tls.ca): %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s (--ca, transport.tls.ca) holds no PEM certificate (expected a -----BEGIN CERTIFICATE----- block)", f)
			}
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		if t.Cert == "" || t.Key == "" {
			return nil, errors.New("a client certificate needs both --cert and --key (transport.tls.cert and key)")
		}
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s with key %s (--cert/--key, transport.tls.cert/key): %w", t.Cert, t.Key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	cfg.ServerName = t.ServerName
	cfg.InsecureSkipVerify = t.Insecure
	return cfg, nil
}

// http2 reports whether HTTP/2 over TLS may be negotiated.
func (tr *transport) http2() bool { return tr.t.HTTP2 == nil || *tr.t.HTTP2 }

// dial gives the engines a connection for addr: one dialed ahead (transport.preconnect), or a
// new one (dialNew).
func (tr *transport) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if tr.spares != nil {
		return tr.spares.get(ctx, network, addr)
	}
	return tr.dialNew(ctx, network, addr)
}

// dialNew opens a connection for addr, sent to the Unix socket or the connect_to address when
// the profile says so, and counts it.
func (tr *transport) dialNew(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: 30 * time.Second}
	var c net.Conn
	var err error
	if tr.t.UnixSocket != "" {
		c, err = d.DialContext(ctx, "unix", tr.t.UnixSocket)
	} else {
		c, err = d.DialContext(ctx, network, tr.route(addr))
	}
	if err == nil {
		tr.stats.conns.Add(1)
	}
	return c, err
}

// route is where a connection for addr goes: the first matching connect_to rule's address,
// or addr itself.
func (tr *transport) route(addr string) string {
	for _, r := range tr.rules {
		if to, ok := r.Apply(addr); ok {
			return to
		}
	}
	return addr
}

// client is the HTTP client of one client group: the run's transport with the group's
// redirect policy (see checkRedirect) and connection reuse. The pool's workers call it
// concurrently, as they do any http.Client.
func (tr *transport) client(follow int, keepAlive bool, conns int, hops *atomic.Uint64) *http.Client {
	var rt http.RoundTripper
	if tr.t.H2C {
		// Prior-knowledge HTTP/2 without TLS: the http2 package's own transport, told to
		// dial in cleartext where it would dial TLS. No framedConn: its checks are HTTP/1's.
		rt = &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return tr.dial(ctx, network, addr)
			},
		}
	} else {
		t := &http.Transport{
			Proxy:               tr.proxy,
			DialContext:         frameDialer(tr.dial),
			TLSClientConfig:     tr.tls.Clone(),
			TLSHandshakeTimeout: 10 * time.Second,
			// A custom dialer and TLS config turn Go's automatic HTTP/2 off; ask for it.
			ForceAttemptHTTP2:   tr.http2(),
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     vegeta.DefaultMaxConnections,
			DisableKeepAlives:   !keepAlive,
		}
		if !tr.http2() {
			// An empty, non-nil map is how net/http is told not to offer h2 in ALPN.
			t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		rt = t
	}
	return &http.Client{
		Transport:     &countingTransport{rt: rt, stats: tr.stats, closeEach: tr.t.H2C && !keepAlive, maxBody: tr.maxBody},
		CheckRedirect: checkRedirect(follow, hops),
	}
}

// countingTransport counts each response by the protocol it came in. It is called from
// the pool's workers, concurrently; it allocates nothing, except in closeEach mode.
type countingTransport struct {
	rt    http.RoundTripper
	stats *transportStats
	// closeEach asks for the connection to be closed after each request, for the h2c
	// transport, which has no DisableKeepAlives of its own.
	closeEach bool
	// maxBody, when > 0, fails a body past that many bytes with errBodyTooLarge.
	maxBody int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.closeEach && !req.Close {
		r := *req // a RoundTripper must not change the caller's request
		r.Close = true
		req = &r
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	s := c.stats
	switch {
	case resp.ProtoMajor == 2:
		s.http2.Add(1)
	case resp.ProtoMajor == 1 && resp.ProtoMinor == 1:
		s.http11.Add(1)
	case resp.ProtoMajor == 1 && resp.ProtoMinor == 0:
		s.http10.Add(1)
	default:
		s.others.Add(1)
	}
	if c.maxBody > 0 && resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: c.maxBody}
	}
	return resp, nil
}

// errBodyTooLarge fails a response body past the cap. The std engine reads bodies to the end (to
// reuse the connection) into io.Discard, so without a cap a 1 GiB or endless body holds a
// worker until the client's timeout. It has no ": ", so errorMessage keeps it whole, and it
// classifies as KindTooLarge.
var errBodyTooLarge = errors.New("response body past the size cap (attack --max-body-mib), read up to the cap and dropped, connection closed")

// cappedBody counts a body as it is read and fails it once it passes the cap. It is read by
// the one worker that made the request.
type cappedBody struct {
	io.ReadCloser
	left int64 // bytes still allowed
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	// Read one byte past the cap, to tell a body of exactly the cap from a longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, errBodyTooLarge
	}
	return n, err
}

// HTTPClient is a plain client with t's TLS, proxy and routing, for what is not part of the
// measured load (capacity's readiness check), so that it reaches the target the way the
// attack does. It follows no redirects and reuses connections.
func HTTPClient(t *profiles.Transport, target string) (*http.Client, error) {
	tr, err := newTransport(t, target)
	if err != nil {
		return nil, err
	}
	return tr.client(0, true, 2, new(atomic.Uint64)), nil
}
