package profiles

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const transportYAML = `transport:
  tls:
    ca: [ca.pem, other-ca.pem]
    cert: client.pem
    key: client-key.pem
    server_name: api.staging.internal
    min_version: 1.3
  http2: false
  connect_to: ["api.staging.internal:443:127.0.0.1:8443", "[::1]::[::1]:9000"]
  preconnect: 128
client:
  timeout: 1s
  keepalive: false
`

func TestParseTransport(t *testing.T) {
	p, err := Parse([]byte(strings.Replace(valid, "client:\n  timeout: 1s\n", transportYAML, 1)), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := &Transport{
		TLS: &TLS{CA: []string{"ca.pem", "other-ca.pem"}, Cert: "client.pem", Key: "client-key.pem",
			ServerName: "api.staging.internal", MinVersion: "1.3"},
		HTTP2:      &no,
		ConnectTo:  []string{"api.staging.internal:443:127.0.0.1:8443", "[::1]::[::1]:9000"},
		Preconnect: 128,
	}
	if !reflect.DeepEqual(p.Transport, want) {
		t.Errorf("transport = %+v, want %+v", p.Transport, want)
	}
	if p.Client.Reuses() {
		t.Error("client.keepalive: false reads as reusing connections")
	}
	// It survives the round trips a profile makes: YAML (profiles show) and JSON (the
	// results header).
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, "x.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("YAML round trip changed the profile:\n%s", out)
	}
	checkJSONRoundTrip(t, p)
	// The schema accepts what Parse accepts.
	c := loadSchema(t)
	js, _ := json.Marshal(p)
	if errs := c.check(c.root, decodeJSON(t, js), "p"); len(errs) > 0 {
		t.Errorf("schema refuses a valid transport: %v", errs)
	}
}

func TestParseTransportErrors(t *testing.T) {
	with := func(s string) string { return valid + "transport:\n" + s }
	tests := []struct {
		name  string
		input string
		line  int
		want  []string
	}{
		{"unknown key", with("  tsl: {}\n"), 12, []string{`unknown key "tsl"`, "connect_to"}},
		{"unknown tls key", with("  tls:\n    verify: false\n"), 13, []string{`unknown key "verify"`, "insecure"}},
		{"cert without key", with("  tls:\n    cert: c.pem\n"), 13, []string{"transport.tls.cert", "without key"}},
		{"key without cert", with("  tls:\n    key: k.pem\n"), 13, []string{"transport.tls.key", "without cert"}},
		{"bad min version", with("  tls:\n    min_version: 1.4\n"), 13, []string{"transport.tls.min_version", `"1.4"`, "1.0, 1.1, 1.2, 1.3"}},
		{"insecure not a bool", with("  tls:\n    insecure: yes please\n"), 13, []string{"transport.tls.insecure", "true or false"}},
		{"h2c with http2 false", with("  h2c: true\n  http2: false\n"), 12, []string{"transport.h2c", "http2: false"}},
		{"connect_to three fields", with("  connect_to: [a:443:b]\n"), 12, []string{"transport.connect_to[0]", "3 fields", "HOST:PORT:ADDR:PORT"}},
		{"connect_to bad port", with("  connect_to: [a:443:b:99999]\n"), 12, []string{"transport.connect_to[0]", `"99999"`}},
		{"connect_to empty", with("  connect_to: []\n"), 12, []string{"transport.connect_to: an empty list", "HOST:PORT:ADDR:PORT"}},
		{"tls ca empty", with("  tls: {ca: []}\n"), 12, []string{"transport.tls.ca: an empty list", "PEM file"}},
		{"connect_to a mapping", with("  connect_to: {a: b}\n"), 12, []string{"transport.connect_to", "a list of"}},
		{"connect_to going nowhere", with("  connect_to: ['a:443::']\n"), 12, []string{"transport.connect_to[0]", "nowhere"}},
		{"proxy not a URL", with("  proxy: proxy.internal:3128\n"), 12, []string{"transport.proxy", "not a proxy URL", "http://HOST:PORT"}},
		{"proxy password never echoed", with("  proxy: ftp://u:hunter2@proxy\n"), 12, []string{"transport.proxy", "xxxxx"}},
		{"proxy and connect_to", with("  proxy: http://p:3128\n  connect_to: [a:443:b:443]\n"), 12, []string{"transport.proxy", "connect_to"}},
		{"unix socket and connect_to", with("  unix_socket: /run/s.sock\n  connect_to: [a:443:b:443]\n"), 12, []string{"transport.unix_socket", "connect_to"}},
		{"preconnect negative", with("  preconnect: -1\n"), 12, []string{"transport.preconnect", "-1 is out of range", "0 to 60000"}},
		{"preconnect too many", with("  preconnect: 60001\n"), 12, []string{"transport.preconnect", "60001 is out of range"}},
		{"preconnect not a number", with("  preconnect: all\n"), 12, []string{"transport.preconnect", "0 to 60000"}},
		{"preconnect a fraction", with("  preconnect: 2.5\n"), 12, []string{"transport.preconnect", "0 to 60000"}},
		{"keepalive not a bool", strings.Replace(valid, "timeout: 1s", "timeout: 1s\n  keepalive: off", 1), 8, []string{"client.keepalive", "true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.input), "x.yaml")
			checkParseError(t, p, err, tt.line, tt.want)
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q carries the proxy password", err)
			}
		})
	}
}

func TestParseConnectTo(t *testing.T) {
	tests := []struct {
		in, addr, want string
		match          bool
	}{
		{"api.internal:443:127.0.0.1:8443", "api.internal:443", "127.0.0.1:8443", true},
		{"API.internal:443:127.0.0.1:8443", "api.INTERNAL:443", "127.0.0.1:8443", true},
		{"api.internal:443:127.0.0.1:8443", "api.internal:80", "api.internal:80", false},
		{"api.internal:443:127.0.0.1:8443", "other:443", "other:443", false},
		{"::127.0.0.1:", "anything:8080", "127.0.0.1:8080", true},              // any host and port, keep the port
		{"api.internal:::9000", "api.internal:443", "api.internal:9000", true}, // keep the host
		{"[::1]:443:[fe80::1]:8443", "[::1]:443", "[fe80::1]:8443", true},
	}
	for _, tt := range tests {
		r, err := ParseConnectTo(tt.in)
		if err != nil {
			t.Errorf("ParseConnectTo(%q): %v", tt.in, err)
			continue
		}
		if got, ok := r.Apply(tt.addr); got != tt.want || ok != tt.match {
			t.Errorf("%q applied to %q = %q, %v; want %q, %v", tt.in, tt.addr, got, ok, tt.want, tt.match)
		}
	}
	for _, bad := range []string{"", "a", "a:1:b", "a:1:b:2:3", "[::1:443:b:1", "[::1]x:443:b:1", "a:x:b:1", "a:1:b:0", "a:1::"} {
		if _, err := ParseConnectTo(bad); err == nil {
			t.Errorf("ParseConnectTo(%q) accepted it", bad)
		}
	}
}

func TestWithTransport(t *testing.T) {
	p, err := Parse([]byte(valid+"transport:\n  tls: {ca: [a.pem], server_name: x}\n  connect_to: ['x:443:10.0.0.1:443']\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	q, err := p.WithTransport(Transport{
		TLS:       &TLS{CA: []string{"b.pem"}, Insecure: true, MinVersion: "1.3"},
		HTTP2:     &no,
		ConnectTo: []string{"x:443:127.0.0.1:8443"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Transport{
		TLS:       &TLS{CA: []string{"a.pem", "b.pem"}, ServerName: "x", Insecure: true, MinVersion: "1.3"},
		HTTP2:     &no,
		ConnectTo: []string{"x:443:127.0.0.1:8443", "x:443:10.0.0.1:443"}, // the flag's first: it wins
	}
	if !reflect.DeepEqual(q.Transport, want) {
		t.Errorf("merged = %+v / %+v, want %+v / %+v", q.Transport, q.Transport.TLS, want, want.TLS)
	}
	if len(p.Transport.TLS.CA) != 1 || p.Transport.TLS.Insecure || p.Transport.HTTP2 != nil {
		t.Errorf("WithTransport changed the profile it was given: %+v", p.Transport)
	}
	if !q.Transport.Insecure() || p.Transport.Insecure() {
		t.Error("Insecure() does not follow tls.insecure")
	}
	// Nothing to lay over leaves no transport section at all.
	plain := mustBuiltin(t, "steady")
	if r, err := plain.WithTransport(Transport{}); err != nil || r.Transport != nil {
		t.Errorf("empty overrides: %+v, %v", r.Transport, err)
	}
	// The result is validated: a flag that contradicts the profile is refused.
	h2c, err := Parse([]byte(valid+"transport:\n  h2c: true\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h2c.WithTransport(Transport{HTTP2: &no}); err == nil || !strings.Contains(err.Error(), "transport.h2c") {
		t.Errorf("h2c profile with --http1: %v", err)
	}
	if _, err := h2c.WithTransport(Transport{HTTP2: &yes}); err != nil {
		t.Errorf("h2c with http2 true: %v", err)
	}
}

func TestRedactedProxy(t *testing.T) {
	p, err := Parse([]byte(valid+"transport:\n  proxy: http://build:s3cret@proxy.internal:3128\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := p.Redacted()
	js, _ := json.Marshal(r)
	if strings.Contains(string(js), "s3cret") || !strings.Contains(r.Transport.Proxy, "xxxxx@proxy.internal:3128") {
		t.Errorf("redacted proxy %q (%s)", r.Transport.Proxy, js)
	}
	if p.Transport.Proxy != "http://build:s3cret@proxy.internal:3128" {
		t.Errorf("Redacted changed the profile: %q", p.Transport.Proxy)
	}
}

// A profile's TLS files and socket are relative to the profile's directory, and a missing
// file is refused on its line when the profile is loaded, not when the attack starts.
func TestLoadTransportFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "client.pem", "client-key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "p.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(valid+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("transport:\n  unix_socket: app.sock\n  tls:\n    ca: ca.pem\n    cert: client.pem\n    key: client-key.pem\n")
	p, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	tl := p.Transport.TLS
	if tl.CA[0] != filepath.Join(dir, "ca.pem") || tl.Cert != filepath.Join(dir, "client.pem") ||
		tl.Key != filepath.Join(dir, "client-key.pem") || p.Transport.UnixSocket != filepath.Join(dir, "app.sock") {
		t.Errorf("files not resolved against the profile's directory: %+v %q", tl, p.Transport.UnixSocket)
	}
	write("transport:\n  tls:\n    ca: [ca.pem, missing.pem]\n")
	_, err = Load(file)
	if err == nil || !strings.Contains(err.Error(), "p.yaml:13: transport.tls.ca[1]: "+filepath.Join(dir, "missing.pem")+": no such file") {
		t.Errorf("missing CA file: %v", err)
	}
}
