package attack

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/internal/testpki"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// testCerts is a CA of the test's own, a server certificate from it for the names the
// loopback servers answer as, a client certificate from it, and one from a CA the servers
// do not trust; every one also as the PEM files a user passes to --ca, --cert and --key.
type testCerts struct {
	server                 tls.Certificate
	caFile, otherCAFile    string
	certFile, keyFile      string
	strayCert, strayKey    string // a client certificate from the other CA
	clientName, serverName string
}

func newTestCerts(t *testing.T) *testCerts {
	t.Helper()
	dir := t.TempDir()
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ca, err := testpki.NewCA("stormtest test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue("staging", []string{"localhost", "127.0.0.1", "staging.invalid"}, false)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ca.Issue("stormtest-client", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	stray, err := other.Issue("stray-client", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return &testCerts{
		server:      srv.TLS,
		caFile:      must(testpki.Write(dir, "ca.pem", ca.PEM)),
		otherCAFile: must(testpki.Write(dir, "other-ca.pem", other.PEM)),
		certFile:    must(testpki.Write(dir, "client.pem", cl.CertPEM)),
		keyFile:     must(testpki.Write(dir, "client-key.pem", cl.KeyPEM)),
		strayCert:   must(testpki.Write(dir, "stray.pem", stray.CertPEM)),
		strayKey:    must(testpki.Write(dir, "stray-key.pem", stray.KeyPEM)),
		clientName:  "stormtest-client",
		serverName:  "staging.invalid",
	}
}

// observer is what a test server saw: the Host headers, TLS server names, protocols and
// client certificates of its requests.
type observer struct {
	mu                         sync.Mutex
	hosts, snis, protos, peers map[string]int
	n                          int
}

func (o *observer) handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.hosts == nil {
			o.hosts, o.snis, o.protos, o.peers = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
		}
		o.n++
		o.hosts[r.Host]++
		o.protos[r.Proto]++
		if r.TLS != nil {
			o.snis[r.TLS.ServerName]++
			for _, c := range r.TLS.PeerCertificates[:min(1, len(r.TLS.PeerCertificates))] {
				o.peers[c.Subject.CommonName]++
			}
		}
	}
}

func (o *observer) only(m map[string]int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(m) != 1 {
		return ""
	}
	for k := range m {
		return k
	}
	return ""
}

// tlsServer starts an HTTPS server on 127.0.0.1 with the test's certificate. h2 makes it
// HTTP/2 only (ALPN offers only h2, as httptest does with EnableHTTP2); tweak adjusts its
// TLS configuration (client certificates, versions).
func tlsServer(t *testing.T, certs *testCerts, h2 bool, tweak func(*tls.Config), o *observer) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(o.handler())
	srv.EnableHTTP2 = h2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{certs.server}}
	if tweak != nil {
		tweak(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func transportProfile(t *testing.T, tr *profiles.Transport, extra string) *profiles.Profile {
	t.Helper()
	p := testfix.MustParse(t, "phases: [{duration: 1s, rate: 20}]\nclient: {timeout: 2s"+extra+"}\n")
	p.Transport = tr
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func requireClientCert(certs *testCerts) func(*tls.Config) {
	return func(c *tls.Config) {
		cfg, err := tlsConfig(&profiles.TLS{CA: []string{certs.caFile}})
		if err != nil {
			panic(err)
		}
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = cfg.RootCAs // the system's roots and the test's CA
	}
}

// TestPreflightExplainsTLS: before anything is sent, a TLS setup that cannot work fails in
// one line that names the flag or profile key that fixes it; a working one passes.
func TestPreflightExplainsTLS(t *testing.T) {
	certs := newTestCerts(t)
	plain := tlsServer(t, certs, false, nil, &observer{})
	h2only := tlsServer(t, certs, true, nil, &observer{})
	mtls := tlsServer(t, certs, false, requireClientCert(certs), &observer{})
	tls12 := tlsServer(t, certs, false, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, &observer{})
	no := false
	tests := []struct {
		name   string
		target string
		tr     *profiles.Transport
		want   []string // "" : passes
	}{
		{"no CA", plain.URL, nil, []string{"unknown authority", `"CN=stormtest test CA,O=stormtest tests"`, "--ca FILE", "transport.tls.ca", "--insecure"}},
		{"another CA", plain.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.otherCAFile}}}, []string{"unknown authority", "--ca FILE"}},
		{"the CA", plain.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}}}, nil},
		{"insecure", plain.URL, &profiles.Transport{TLS: &profiles.TLS{Insecure: true}}, nil},
		{"wrong name", plain.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}, ServerName: "api.example.com"}},
			[]string{`not valid for "api.example.com"`, "--server-name", "--connect-to"}},
		{"the name via connect_to", "https://staging.invalid:443", &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}},
			ConnectTo: []string{"staging.invalid:443:" + strings.TrimPrefix(plain.URL, "https://")}}, nil},
		{"client certificate missing", mtls.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}}},
			[]string{"requires a client certificate", "--cert FILE --key FILE", "transport.tls.cert"}},
		{"client certificate from another CA", mtls.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}, Cert: certs.strayCert, Key: certs.strayKey}},
			[]string{"refused the client certificate", "--cert"}},
		{"client certificate", mtls.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}, Cert: certs.certFile, Key: certs.keyFile}}, nil},
		{"TLS 1.3 wanted, 1.2 served", tls12.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}, MinVersion: "1.3"}},
			[]string{"no TLS version in common", "--tls-min-version"}},
		// A Go server lets an HTTP/1.1 client onto an h2-only listener, so this passes.
		{"HTTP/1.1 asked of an HTTP/2 server", h2only.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}}, HTTP2: &no}, nil},
		{"http2 server, default", h2only.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile}}}, nil},
		{"not PEM", plain.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.keyFile}}}, []string{"holds no PEM certificate", "--ca"}},
		{"missing CA file", plain.URL, &profiles.Transport{TLS: &profiles.TLS{CA: []string{certs.caFile + ".gone"}}}, []string{"CA file (--ca, transport.tls.ca)", "no such file"}},
		{"h2c to https", plain.URL, &profiles.Transport{H2C: true}, []string{"--h2c", "https://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Target: tt.target, Profile: transportProfile(t, tt.tr, "")}.Preflight(context.Background())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Preflight: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Preflight passed")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("more than one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
		})
	}
}

// Servers other than Go's refuse an HTTP/1.1-only client on an h2-only port with an alert,
// which no loopback server here sends; the explanation is checked on its message.
func TestExplainNoApplicationProtocol(t *testing.T) {
	err := explainTLS(errors.New("remote error: tls: no application protocol"), "api", false, false, false)
	if !strings.Contains(err.Error(), "drop --http1 (transport.http2: false)") {
		t.Errorf("%v", err)
	}
	if err := explainTLS(errors.New("remote error: tls: no application protocol"), "api", false, false, true); strings.Contains(err.Error(), "--http1") {
		t.Errorf("blames --http1 when HTTP/2 was offered: %v", err)
	}
}

// runWith runs the one-second, 20-request profile against target and checks every attempt
// succeeded; it returns the sink, whose header and trailer the caller checks.
func runWith(t *testing.T, target string, p *profiles.Profile) *memRecorder {
	t.Helper()
	cfg := Config{Target: target, Profile: p}
	if err := cfg.Preflight(context.Background()); err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	rec := &memRecorder{}
	sum, err := Run(context.Background(), cfg, rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rec.recs) != 20 || sum.Attempts != 20 {
		t.Fatalf("%d records, %d attempts; want 20", len(rec.recs), sum.Attempts)
	}
	for _, r := range rec.recs {
		if r.Kind != results.KindOK {
			t.Fatalf("attempt failed: %s %d %s", r.Kind, r.Code, r.Error)
		}
	}
	if !reflect.DeepEqual(rec.trailer.Protocols, sum.Protocols) || rec.trailer.Connections != sum.Connections {
		t.Errorf("trailer %v/%d, summary %v/%d", rec.trailer.Protocols, rec.trailer.Connections, sum.Protocols, sum.Connections)
	}
	return rec
}

// TestTransportRuns: real runs over each transport; the server sees what the profile asked
// for (protocol, Host, server name, client certificate), and the trailer records the
// protocol negotiated and the connections opened.
func TestTransportRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	certs := newTestCerts(t)
	ca := &profiles.TLS{CA: []string{certs.caFile}}
	no := false

	t.Run("https with the CA, HTTP/1.1 server", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, false, nil, o)
		rec := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: ca}, ""))
		if got := rec.trailer.Protocols; !reflect.DeepEqual(got, map[string]uint64{"HTTP/1.1": 20}) {
			t.Errorf("protocols %v", got)
		}
		if rec.header.Profile.Transport.Insecure() {
			t.Error("header says insecure")
		}
	})
	t.Run("HTTP/2-only server, negotiated", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, true, nil, o)
		rec := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: ca}, ""))
		if got := rec.trailer.Protocols; !reflect.DeepEqual(got, map[string]uint64{"HTTP/2.0": 20}) {
			t.Errorf("protocols %v", got)
		}
		if p := o.only(o.protos); p != "HTTP/2.0" {
			t.Errorf("server saw %v", o.protos)
		}
	})
	t.Run("http2: false on a server offering both", func(t *testing.T) {
		o := &observer{}
		srv := httptest.NewUnstartedServer(o.handler())
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{certs.server}, NextProtos: []string{"h2", "http/1.1"}}
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		rec := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: ca, HTTP2: &no}, ""))
		if got := rec.trailer.Protocols; !reflect.DeepEqual(got, map[string]uint64{"HTTP/1.1": 20}) || o.only(o.protos) != "HTTP/1.1" {
			t.Errorf("protocols %v, server saw %v", got, o.protos)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		srv := tlsServer(t, certs, false, nil, &observer{})
		rec := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: &profiles.TLS{Insecure: true}}, ""))
		if !rec.header.Profile.Transport.Insecure() {
			t.Error("the header does not record that verification was off")
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, false, requireClientCert(certs), o)
		runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: &profiles.TLS{CA: ca.CA, Cert: certs.certFile, Key: certs.keyFile}}, ""))
		if got := o.only(o.peers); got != certs.clientName {
			t.Errorf("server saw client certificates %v", o.peers)
		}
	})
	t.Run("h2c", func(t *testing.T) {
		o := &observer{}
		srv := httptest.NewServer(h2c.NewHandler(o.handler(), &http2.Server{}))
		t.Cleanup(srv.Close)
		rec := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{H2C: true}, ""))
		if got := rec.trailer.Protocols; !reflect.DeepEqual(got, map[string]uint64{"HTTP/2.0": 20}) || o.only(o.protos) != "HTTP/2.0" {
			t.Errorf("protocols %v, server saw %v", got, o.protos)
		}
		if c := rec.trailer.Connections; c < 1 || c > 4 {
			t.Errorf("%d connections for 20 multiplexed requests", c)
		}
		// The h2c transport has no keep-alive switch of its own; keepalive: false still
		// means a connection per attempt.
		fresh := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{H2C: true}, ", keepalive: false"))
		if c := fresh.trailer.Connections; c != 20 {
			t.Errorf("h2c, keepalive false: %d connections for 20 attempts", c)
		}
	})
	t.Run("keepalive false: a connection per attempt", func(t *testing.T) {
		srv := tlsServer(t, certs, false, nil, &observer{})
		reuse := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: ca}, ""))
		fresh := runWith(t, srv.URL, transportProfile(t, &profiles.Transport{TLS: ca}, ", keepalive: false"))
		// 20 requests 50 ms apart, each done in well under that: one connection serves them
		// all, unless the machine stalls a request past the next one's start.
		if c := reuse.trailer.Connections; c < 1 || c > 5 {
			t.Errorf("keepalive: %d connections for 20 attempts", c)
		}
		if c := fresh.trailer.Connections; c != 20 {
			t.Errorf("keepalive false: %d connections for 20 attempts, want 20", c)
		}
	})
	t.Run("connect_to keeps Host and SNI", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, false, nil, o)
		addr := strings.TrimPrefix(srv.URL, "https://")
		runWith(t, "https://staging.invalid", transportProfile(t, &profiles.Transport{TLS: ca,
			ConnectTo: []string{"staging.invalid:443:" + addr}}, ""))
		if h, sni := o.only(o.hosts), o.only(o.snis); h != "staging.invalid" || sni != "staging.invalid" {
			t.Errorf("server saw Host %v, SNI %v", o.hosts, o.snis)
		}
	})
	t.Run("explicit proxy with a password, http", func(t *testing.T) {
		o := &observer{}
		srv := serve(t, o.handler())
		proxy, counts := testProxy(t, map[string]string{"svc.invalid:80": strings.TrimPrefix(srv.URL, "http://")})
		withPassword := strings.Replace(proxy, "http://", "http://loadtest:s3cret@", 1)
		rec := runWith(t, "http://svc.invalid", transportProfile(t, &profiles.Transport{Proxy: withPassword}, ""))
		if counts.hits.Load() != 20 || o.only(o.hosts) != "svc.invalid" {
			t.Errorf("proxy saw %d requests; server saw Host %v", counts.hits.Load(), o.hosts)
		}
		// The password went to the proxy, as Proxy-Authorization, and nowhere else.
		if n := counts.auths.Load(); n != 20 {
			t.Errorf("%d of 20 requests carried Proxy-Authorization to the proxy", n)
		}
		js, err := json.Marshal(rec.header)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), "s3cret") || !strings.Contains(string(js), "xxxxx@127.0.0.1") {
			t.Errorf("results header: %s", js)
		}
	})
	t.Run("proxy from the environment, https through CONNECT", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, true, nil, o)
		proxy, counts := testProxy(t, map[string]string{"staging.invalid:443": strings.TrimPrefix(srv.URL, "https://")})
		t.Setenv("HTTPS_PROXY", proxy)
		t.Setenv("NO_PROXY", "")
		rec := runWith(t, "https://staging.invalid", transportProfile(t, &profiles.Transport{TLS: ca}, ""))
		if counts.hits.Load() < 1 || o.only(o.snis) != "staging.invalid" {
			t.Errorf("proxy saw %d tunnels; server saw SNI %v", counts.hits.Load(), o.snis)
		}
		if got := rec.trailer.Protocols; !reflect.DeepEqual(got, map[string]uint64{"HTTP/2.0": 20}) {
			t.Errorf("protocols through the tunnel %v", got)
		}
		// proxy: none ignores the environment: the name does not resolve, so the
		// preflight fails.
		err := Config{Target: "https://staging.invalid", Profile: transportProfile(t, &profiles.Transport{TLS: ca, Proxy: profiles.ProxyNone}, "")}.Preflight(context.Background())
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("proxy none: %v", err)
		}
	})
	t.Run("unix socket", func(t *testing.T) {
		sock, o := unixServer(t)
		runWith(t, "http://svc.invalid", transportProfile(t, &profiles.Transport{UnixSocket: sock}, ""))
		if o.only(o.hosts) != "svc.invalid" {
			t.Errorf("server saw Host %v", o.hosts)
		}
	})
}

// testProxy is a forward proxy on 127.0.0.1 for the names in routes (host:port → the
// loopback address that serves it): absolute-form requests for plain HTTP, CONNECT tunnels
// for HTTPS.
// proxyCounts is what a testProxy handled: requests and tunnels, and of those the ones that
// carried the password loadtest:s3cret.
type proxyCounts struct{ hits, auths atomic.Int64 }

func testProxy(t *testing.T, routes map[string]string) (string, *proxyCounts) {
	t.Helper()
	counts := new(proxyCounts)
	hits := &counts.hits
	forward := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Host = routes[r.In.URL.Host]
		r.Out.Host = r.In.Host
	}}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		to := routes[r.Host]
		if r.Method != http.MethodConnect {
			to = routes[r.URL.Host+":80"]
		}
		if to == "" {
			http.Error(w, "no route to "+r.Host, http.StatusBadGateway)
			return
		}
		hits.Add(1)
		if r.Header.Get("Proxy-Authorization") == "Basic bG9hZHRlc3Q6czNjcmV0" { // loadtest:s3cret
			counts.auths.Add(1)
		}
		if r.Method != http.MethodConnect {
			r.URL.Host += ":80"
			forward.ServeHTTP(w, r)
			return
		}
		up, err := net.Dial("tcp", to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		down, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			up.Close()
			down.Close()
			return
		}
		go func() {
			_, _ = io.Copy(up, buf)
			up.Close()
		}()
		_, _ = io.Copy(down, up)
		down.Close()
	})
	return srv.URL, counts
}

// unixServer serves an observer on a Unix socket in a temporary directory, until the test ends.
func unixServer(t *testing.T) (sock string, o *observer) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	o = &observer{}
	srv := &http.Server{Handler: o.handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock, o
}

// checkTransportRun checks a 20-attempt run (transportProfile) sent by eng over HTTP/1.1:
// the engine that ran, the protocol of every response, and the connections opened.
func checkTransportRun(t *testing.T, rec *memRecorder, eng string, conns func(uint64) bool) {
	t.Helper()
	if rec.header.Engine != eng {
		t.Fatalf("engine %q (%s), want %s", rec.header.Engine, rec.header.EngineReason, eng)
	}
	if got := rec.trailer.Protocols; !reflect.DeepEqual(got, map[string]uint64{"HTTP/1.1": 20}) {
		t.Errorf("protocols %v", got)
	}
	if c := rec.trailer.Connections; !conns(c) {
		t.Errorf("%d connections for 20 attempts", c)
	}
}
