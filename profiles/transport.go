package profiles

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/stormtest/stormtest/internal/secret"
)

// Transport is how a run's requests reach the target: TLS, the HTTP version, and where
// connections go (another address, a proxy, a Unix socket). Like the rest of a profile it is
// configuration only: package attack builds the HTTP client from it. The CLI's flags (--ca,
// --insecure, --connect-to…) are laid over a profile's transport with WithTransport, so the
// results header, which records the profile as run, records the transport as run.
type Transport struct {
	TLS *TLS `yaml:"tls,omitempty" json:"tls,omitempty"`
	// HTTP2 false forces HTTP/1.1 over TLS. Left out (or true), TLS's ALPN negotiates
	// HTTP/2 where the server offers it, as Go's client does.
	HTTP2 *bool `yaml:"http2,omitempty" json:"http2,omitempty"`
	// H2C speaks HTTP/2 in cleartext (prior knowledge, no upgrade) to an http:// target.
	H2C bool `yaml:"h2c,omitempty" json:"h2c,omitempty"`
	// ConnectTo sends the connections for HOST:PORT to another address while the requests
	// keep their Host header and TLS server name, like curl's --connect-to: each entry is
	// "HOST:PORT:ADDR:PORT"; an empty HOST or PORT matches any, an empty ADDR or PORT keeps
	// the original. The first entry that matches wins.
	ConnectTo []string `yaml:"connect_to,omitempty" json:"connect_to,omitempty"`
	// Proxy is the HTTP(S) (or socks5) proxy every request goes through, overriding the
	// environment's HTTPS_PROXY, HTTP_PROXY and NO_PROXY, which are honoured when it is
	// left out. ProxyNone goes direct whatever the environment says.
	Proxy string `yaml:"proxy,omitempty" json:"proxy,omitempty"`
	// UnixSocket sends every connection to this Unix socket; the target URL still gives the
	// Host header (and the TLS server name for https).
	UnixSocket string `yaml:"unix_socket,omitempty" json:"unix_socket,omitempty"`
	// Engine picks the HTTP client that sends the attempts: one of Engines. Empty is
	// EngineStd. EngineFast is a lean HTTP/1.1 client that cannot negotiate HTTP/2, speak
	// h2c, go through a proxy or follow redirects; EngineLoop is leaner still (one event
	// loop per client group, Linux only) and also cannot speak TLS. EngineAuto picks the
	// leanest that can do everything the run asks, and EngineStd when neither can
	// (package attack decides, and says why).
	Engine string `yaml:"engine,omitempty" json:"engine,omitempty"`
	// Preconnect keeps at least this many connections open to each origin from before the
	// first attempt to the end of the run, as wrk opens all of its connections before it
	// starts: an attempt that finds no idle connection takes one dialed ahead instead of
	// dialing. 0 (the default) dials only when an attempt needs a connection. For HTTP/1.1
	// connections that are reused (package attack refuses it otherwise, and says why).
	Preconnect int `yaml:"preconnect,omitempty" json:"preconnect,omitempty"`
}

// MaxPreconnect bounds Transport.Preconnect: more connections than a generator has ports for
// one origin is a typo, not a plan.
const MaxPreconnect = 60000

// The engines a run can ask for (Transport.Engine).
const (
	EngineStd  = "std"
	EngineFast = "fast"
	EngineLoop = "loop"
	EngineAuto = "auto"
)

// Engines lists the values Transport.Engine takes.
var Engines = []string{EngineStd, EngineFast, EngineLoop, EngineAuto}

// ProxyNone as Transport.Proxy ignores the proxy environment variables.
const ProxyNone = "none"

// TLS is the client side of TLS for https:// targets.
type TLS struct {
	// CA lists PEM files of certificate authorities trusted on top of the system's roots:
	// an internal CA, or a self-signed server certificate. Relative to the profile file.
	CA []string `yaml:"ca,omitempty" json:"ca,omitempty"`
	// Cert and Key are a PEM client certificate and its private key, for a server that
	// asks for one (mutual TLS). Relative to the profile file.
	Cert string `yaml:"cert,omitempty" json:"cert,omitempty"`
	Key  string `yaml:"key,omitempty" json:"key,omitempty"`
	// ServerName is the name sent in SNI and checked against the server's certificate,
	// when it is not the target URL's host.
	ServerName string `yaml:"server_name,omitempty" json:"server_name,omitempty"`
	// Insecure skips the verification of the server's certificate. The attack warns at its
	// start, and the results header records it (this field, in the profile as run).
	Insecure bool `yaml:"insecure,omitempty" json:"insecure,omitempty"`
	// MinVersion is the lowest TLS version accepted: one of TLSVersions. Empty: 1.2.
	MinVersion string `yaml:"min_version,omitempty" json:"min_version,omitempty"`
}

// TLSVersions are the values of TLS.MinVersion.
var TLSVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// DefaultTLSMinVersion is Go's default minimum for clients.
const DefaultTLSMinVersion = "1.2"

// ConnectRule is one parsed Transport.ConnectTo entry. Hosts are kept without IPv6 brackets;
// an empty field matches any host or port (Host, Port) or keeps the original (To…).
type ConnectRule struct {
	Host, Port, ToHost, ToPort string
}

const connectToExpected = "HOST:PORT:ADDR:PORT such as api.staging.example:443:10.0.0.7:8443 (an empty field matches any / keeps the original; IPv6 in brackets)"

// ParseConnectTo reads one connect_to entry, "HOST:PORT:ADDR:PORT".
func ParseConnectTo(s string) (ConnectRule, error) {
	var parts []string
	rest := s
	for len(parts) < 4 {
		var field string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return ConnectRule{}, fmt.Errorf("%q has an unclosed [ (expected %s)", s, connectToExpected)
			}
			field, rest = rest[1:end], rest[end+1:]
			if rest != "" && !strings.HasPrefix(rest, ":") {
				return ConnectRule{}, fmt.Errorf("%q: no : after ]%s (expected %s)", s, field, connectToExpected)
			}
			rest = strings.TrimPrefix(rest, ":")
		} else {
			var found bool
			field, rest, found = strings.Cut(rest, ":")
			if !found && len(parts) < 3 {
				return ConnectRule{}, fmt.Errorf("%q has %d fields (expected %s)", s, len(parts)+1, connectToExpected)
			}
		}
		parts = append(parts, field)
	}
	if rest != "" {
		return ConnectRule{}, fmt.Errorf("%q has more than 4 fields (expected %s)", s, connectToExpected)
	}
	r := ConnectRule{Host: parts[0], Port: parts[1], ToHost: parts[2], ToPort: parts[3]}
	for _, p := range []string{r.Port, r.ToPort} {
		if p == "" {
			continue
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return ConnectRule{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535 (expected %s)", s, p, connectToExpected)
		}
	}
	if r.ToHost == "" && r.ToPort == "" {
		return ConnectRule{}, fmt.Errorf("%q sends nowhere else (expected %s)", s, connectToExpected)
	}
	return r, nil
}

// Apply returns where a connection for addr ("host:port") goes under r, and whether r
// matched it. Host names compare case-insensitively.
func (r ConnectRule) Apply(addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, false
	}
	if (r.Host != "" && !strings.EqualFold(r.Host, host)) || (r.Port != "" && r.Port != port) {
		return addr, false
	}
	if r.ToHost != "" {
		host = r.ToHost
	}
	if r.ToPort != "" {
		port = r.ToPort
	}
	return net.JoinHostPort(host, port), true
}

// ProxyURL reads Transport.Proxy: nil for ProxyNone.
func ProxyURL(s string) (*url.URL, error) {
	if s == ProxyNone {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5", "socks5h"}, u.Scheme) {
		return nil, fmt.Errorf("%q is not a proxy URL (expected http://HOST:PORT, https://, socks5:// or %s)", redactUserinfo(s), ProxyNone)
	}
	return u, nil
}

// redactUserinfo hides the user:password of a URL (a proxy's, which net/http sends as
// Proxy-Authorization; a scrape endpoint's; a target quoted by an error): it must not reach
// a results file or a message. Package secret decides how, as for a target URL.
func redactUserinfo(s string) string { return secret.Rules{}.URL(s) }

// validate checks the transport on its own; what depends on the target (h2c needs http://)
// is checked by package attack.
func (t *Transport) validate() *fieldError {
	if t == nil {
		return nil
	}
	if tl := t.TLS; tl != nil {
		switch {
		case tl.Cert != "" && tl.Key == "":
			return errAt("transport.tls.cert", "set without key", "both cert and key (PEM files) for a client certificate")
		case tl.Key != "" && tl.Cert == "":
			return errAt("transport.tls.key", "set without cert", "both cert and key (PEM files) for a client certificate")
		case tl.MinVersion != "" && !slices.Contains(TLSVersions, tl.MinVersion):
			return errAt("transport.tls.min_version", fmt.Sprintf("%q is not a TLS version", tl.MinVersion), "one of "+strings.Join(TLSVersions, ", "))
		}
		for i, ca := range tl.CA {
			if ca == "" {
				return errAt(fmt.Sprintf("transport.tls.ca[%d]", i), "is empty", "a PEM file of a certificate authority")
			}
		}
	}
	if t.Engine != "" && !slices.Contains(Engines, t.Engine) {
		return errAt("transport.engine", fmt.Sprintf("is %q", t.Engine), "std, fast, loop or auto")
	}
	if t.Preconnect < 0 || t.Preconnect > MaxPreconnect {
		return errAt("transport.preconnect", fmt.Sprintf("%d is out of range", t.Preconnect), preconnectExpected)
	}
	if t.H2C && t.HTTP2 != nil && !*t.HTTP2 {
		return errAt("transport.h2c", "set with http2: false", "h2c (cleartext HTTP/2) or http2: false (HTTP/1.1), not both")
	}
	for i, s := range t.ConnectTo {
		if _, err := ParseConnectTo(s); err != nil {
			return errAt(fmt.Sprintf("transport.connect_to[%d]", i), err.Error(), "")
		}
	}
	if t.Proxy != "" {
		if _, err := ProxyURL(t.Proxy); err != nil {
			return errAt("transport.proxy", err.Error(), "")
		}
	}
	direct := t.Proxy != "" && t.Proxy != ProxyNone
	switch {
	case t.UnixSocket != "" && len(t.ConnectTo) > 0:
		return errAt("transport.unix_socket", "set with connect_to", "one place to send connections: unix_socket or connect_to")
	case direct && t.UnixSocket != "":
		return errAt("transport.proxy", "set with unix_socket", "a proxy or a Unix socket, not both")
	case direct && len(t.ConnectTo) > 0:
		return errAt("transport.proxy", "set with connect_to", "a proxy or connect_to, not both: connect_to decides where connections go")
	}
	return nil
}

// WithTransport returns a copy of p whose transport is p's with o laid over it, as the
// command-line flags are: o's CA files are added to p's, its connect_to entries come
// before p's (so they win), every other setting o makes replaces p's. The result is validated. p is not modified.
func (p *Profile) WithTransport(o Transport) (*Profile, error) {
	q := p.clone()
	t := q.Transport
	if t == nil {
		t = &Transport{}
	}
	if o.TLS != nil {
		if t.TLS == nil {
			t.TLS = &TLS{}
		}
		tl, ol := t.TLS, o.TLS
		tl.CA = append(tl.CA, ol.CA...)
		for _, f := range []struct{ dst, src *string }{
			{&tl.Cert, &ol.Cert}, {&tl.Key, &ol.Key}, {&tl.ServerName, &ol.ServerName}, {&tl.MinVersion, &ol.MinVersion},
		} {
			if *f.src != "" {
				*f.dst = *f.src
			}
		}
		tl.Insecure = tl.Insecure || ol.Insecure
	}
	if o.HTTP2 != nil {
		t.HTTP2 = clonePtr(o.HTTP2)
	}
	t.H2C = t.H2C || o.H2C
	// The flags' entries come first: the first matching entry wins.
	t.ConnectTo = append(slices.Clone(o.ConnectTo), t.ConnectTo...)
	if o.Proxy != "" {
		t.Proxy = o.Proxy
	}
	if o.UnixSocket != "" {
		t.UnixSocket = o.UnixSocket
	}
	if o.Engine != "" {
		t.Engine = o.Engine
	}
	if o.Preconnect != 0 {
		t.Preconnect = o.Preconnect
	}
	if !t.isZero() {
		q.Transport = t
	}
	if err := q.Transport.validate(); err != nil {
		return nil, err
	}
	return &q, nil
}

func (t *Transport) isZero() bool {
	return t == nil || (t.TLS == nil && t.HTTP2 == nil && !t.H2C && len(t.ConnectTo) == 0 && t.Proxy == "" && t.UnixSocket == "" && t.Engine == "" && t.Preconnect == 0)
}

// Insecure reports whether the run skips TLS verification.
func (t *Transport) Insecure() bool { return t != nil && t.TLS != nil && t.TLS.Insecure }

func (t *Transport) clone() *Transport {
	if t == nil {
		return nil
	}
	c := *t
	c.HTTP2 = clonePtr(t.HTTP2)
	c.ConnectTo = slices.Clone(t.ConnectTo)
	if t.TLS != nil {
		tl := *t.TLS
		tl.CA = slices.Clone(t.TLS.CA)
		c.TLS = &tl
	}
	return &c
}
