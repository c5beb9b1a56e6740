package attack

import (
	"context"
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// engines are the engines the behavioural tests run against: every test of an attack's
// behaviour (timeouts, retries and budgets, Retry-After, the client mix, closed-loop users,
// error kinds, redirects, latency from the intended start, every attempt recorded) runs once
// per engine, as a subtest named after it (loop where the build has it).
var engines = func() []string {
	if loopSupported {
		return []string{engineStd, engineFast, engineLoop}
	}
	return []string{engineStd, engineFast}
}()

func forEachEngine(t *testing.T, test func(t *testing.T, eng string)) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) { test(t, eng) })
	}
}

// parseOn parses a test profile and has it sent by eng (transport.engine).
func parseOn(t testing.TB, eng, yaml string) *profiles.Profile {
	t.Helper()
	return onEngine(t, testfix.MustParse(t, yaml), eng)
}

// onEngine is p sent by eng.
func onEngine(t testing.TB, p *profiles.Profile, eng string) *profiles.Profile {
	t.Helper()
	q, err := p.WithTransport(profiles.Transport{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// runAttackOn is runAttack with the profile sent by eng; it also checks that eng is the
// engine that ran, in the summary and in the results header.
func runAttackOn(t *testing.T, eng string, ctx context.Context, targetURL, yaml string) (Summary, []results.Record) {
	t.Helper()
	rec := &memRecorder{}
	sum, err := Run(ctx, Config{Target: targetURL, Profile: parseOn(t, eng, yaml)}, rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rec.begins != 1 || rec.ends != 1 || rec.trailer.Attempts != uint64(len(rec.recs)) || rec.header.Profile.Seed == 0 {
		t.Fatalf("Begin %d times, End %d times, trailer %+v for %d records, seed %d",
			rec.begins, rec.ends, rec.trailer, len(rec.recs), rec.header.Profile.Seed)
	}
	if sum.Engine != eng || rec.header.Engine != eng || rec.header.EngineReason == "" {
		t.Fatalf("engine %q (header %q, %q), want %q", sum.Engine, rec.header.Engine, rec.header.EngineReason, eng)
	}
	return sum, rec.recs
}

// TestFastEngineTransports: the transports fast can do, in real runs against servers that
// check what they receive: TLS (a CA of the test's own, a client certificate, insecure),
// connect_to, a Unix socket, a connection per attempt. Each must give what std gives.
func TestFastEngineTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	certs := newTestCerts(t)
	ca := &profiles.TLS{CA: []string{certs.caFile}}
	no := false
	fast := func(tr profiles.Transport) *profiles.Transport {
		tr.Engine = engineFast
		return &tr
	}
	check := func(t *testing.T, rec *memRecorder, conns func(uint64) bool) {
		t.Helper()
		checkTransportRun(t, rec, engineFast, conns)
	}
	reused := func(c uint64) bool { return c >= 1 && c <= 5 }
	t.Run("https with the CA, http2 false, on a server offering both", func(t *testing.T) {
		o := &observer{}
		srv := httptest.NewUnstartedServer(o.handler())
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{certs.server}, NextProtos: []string{"h2", "http/1.1"}}
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		check(t, runWith(t, srv.URL, transportProfile(t, fast(profiles.Transport{TLS: ca, HTTP2: &no}), "")), reused)
		if o.only(o.protos) != "HTTP/1.1" {
			t.Errorf("server saw %v", o.protos)
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, false, requireClientCert(certs), o)
		check(t, runWith(t, srv.URL, transportProfile(t, fast(profiles.Transport{HTTP2: &no,
			TLS: &profiles.TLS{CA: ca.CA, Cert: certs.certFile, Key: certs.keyFile}}), "")), reused)
		if got := o.only(o.peers); got != certs.clientName {
			t.Errorf("server saw client certificates %v", o.peers)
		}
	})
	t.Run("an unknown CA fails every attempt as other", func(t *testing.T) {
		srv := tlsServer(t, certs, false, nil, &observer{})
		rec := &memRecorder{}
		if _, err := Run(context.Background(), Config{Target: srv.URL,
			Profile: transportProfile(t, fast(profiles.Transport{HTTP2: &no, Proxy: profiles.ProxyNone}), "")}, rec); err != nil {
			t.Fatal(err)
		}
		for _, r := range rec.recs {
			if r.Kind != results.KindOther || !strings.Contains(r.Error, "certificate") {
				t.Fatalf("attempt recorded as %v %q, want other, naming the certificate", r.Kind, r.Error)
			}
		}
	})
	t.Run("connect_to keeps Host and SNI", func(t *testing.T) {
		o := &observer{}
		srv := tlsServer(t, certs, false, nil, o)
		addr := strings.TrimPrefix(srv.URL, "https://")
		check(t, runWith(t, "https://staging.invalid", transportProfile(t, fast(profiles.Transport{TLS: ca, HTTP2: &no,
			ConnectTo: []string{"staging.invalid:443:" + addr}}), "")), reused)
		if h, sni := o.only(o.hosts), o.only(o.snis); h != "staging.invalid" || sni != "staging.invalid" {
			t.Errorf("server saw Host %v, SNI %v", o.hosts, o.snis)
		}
	})
	t.Run("keepalive false: a connection per attempt", func(t *testing.T) {
		srv := serve(t, (&observer{}).handler())
		check(t, runWith(t, srv.URL, transportProfile(t, fast(profiles.Transport{}), ", keepalive: false")),
			func(c uint64) bool { return c == 20 })
	})
	t.Run("unix socket", func(t *testing.T) {
		sock, o := unixServer(t)
		check(t, runWith(t, "http://svc.invalid", transportProfile(t, fast(profiles.Transport{UnixSocket: sock}), "")), reused)
		if o.only(o.hosts) != "svc.invalid" {
			t.Errorf("server saw Host %v", o.hosts)
		}
	})
}

// TestChooseEngine: auto picks the leanest engine that can do everything the run needs (loop
// for plain HTTP/1.1, fast for HTTP/1.1 over TLS, std otherwise), and says why; an engine
// asked for that cannot run the profile is refused in one line naming the need and the way out.
func TestChooseEngine(t *testing.T) {
	no := false
	cases := []struct {
		name   string
		target string
		tr     profiles.Transport
		client string
		env    map[string]string
		want   string // engine auto picks (fast for loop where the build has no loop)
		why    string // in auto's reason, and in the refusals of the engines it passed over
	}{
		{"plain http", "http://127.0.0.1:8080", profiles.Transport{}, "", nil, engineLoop, "plain HTTP/1.1"},
		{"https may negotiate HTTP/2", "https://127.0.0.1:8443", profiles.Transport{}, "", nil, engineStd, "HTTP/2"},
		{"https, http2 false", "https://127.0.0.1:8443", profiles.Transport{HTTP2: &no}, "", nil, engineFast, "TLS"},
		{"h2c", "http://127.0.0.1:8080", profiles.Transport{H2C: true}, "", nil, engineStd, "h2c"},
		{"explicit proxy", "http://svc.invalid", profiles.Transport{Proxy: "http://127.0.0.1:3128"}, "", nil, engineStd, "proxy"},
		{"proxy from the environment", "http://svc.invalid", profiles.Transport{}, "", map[string]string{"HTTP_PROXY": "http://127.0.0.1:3128"}, engineStd, "environment"},
		{"environment proxy, proxy none", "http://svc.invalid", profiles.Transport{Proxy: profiles.ProxyNone}, "", map[string]string{"HTTP_PROXY": "http://127.0.0.1:3128"}, engineLoop, "plain HTTP/1.1"},
		{"NO_PROXY exempts the target", "http://svc.invalid", profiles.Transport{}, "", map[string]string{"HTTP_PROXY": "http://127.0.0.1:3128", "NO_PROXY": "svc.invalid"}, engineLoop, "plain HTTP/1.1"},
		{"follow_redirects", "http://127.0.0.1:8080", profiles.Transport{}, ", follow_redirects: 2", nil, engineStd, "follow_redirects 2"},
		{"unix socket", "http://svc.invalid", profiles.Transport{UnixSocket: "/tmp/x.sock"}, "", nil, engineLoop, "plain HTTP/1.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"} {
				t.Setenv(k, tc.env[k])
			}
			cfg := func(eng string) Config {
				tr := tc.tr
				tr.Engine = eng
				return Config{Target: tc.target, Profile: transportProfile(t, &tr, tc.client)}
			}
			want, why := tc.want, tc.why
			if want == engineLoop && !loopSupported {
				want, why = engineFast, "Linux"
			}
			name, reason, err := cfg(profiles.EngineAuto).Engine()
			if err != nil || name != want || !strings.Contains(reason, "auto") || !strings.Contains(reason, why) {
				t.Fatalf("auto: %q (%q), %v; want %s because of %q", name, reason, err, want, why)
			}
			if name, _, err := cfg("").Engine(); name != engineStd || err != nil {
				t.Errorf("default: %q, %v; want std", name, err)
			}
			// Each engine leaner than the one auto picked is refused, naming the need and a way out.
			for _, eng := range []string{engineFast, engineLoop} {
				err := cfg(eng).Validate()
				can := eng == want || (eng == engineFast && want == engineLoop)
				switch {
				case can && err != nil:
					t.Errorf("%s: %v", eng, err)
				case !can && (err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "auto")):
					t.Errorf("%s: error %v, want one naming %q and the way out", eng, err, why)
				}
			}
		})
	}
	if _, err := profiles.Parse([]byte("phases: [{duration: 1s, rate: 1}]\ntransport: {engine: turbo}\n"), "p.yaml"); err == nil || !strings.Contains(err.Error(), "transport.engine") {
		t.Errorf("engine: turbo: %v", err)
	}
}
