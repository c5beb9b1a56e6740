package simservice

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/stormtest/stormtest/internal/testpki"
)

// TestStartTLS: over TLS the service negotiates h2 with a client that offers it and HTTP/1.1
// with one that does not, both with a CA of the test's own; the goaway fault acts on every h2
// connection (share 1) and on no HTTP/1.1 one.
func TestStartTLS(t *testing.T) {
	ca, err := testpki.NewCA("simservice test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("localhost", []string{"127.0.0.1", "localhost"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartTLS(context.Background(), "127.0.0.1:0", DefaultConfig(), &tls.Config{}); err == nil {
		t.Fatal("StartTLS without a certificate started")
	}
	cfg := DefaultConfig()
	cfg.QueryTime = time.Millisecond
	running, err := StartTLS(context.Background(), "127.0.0.1:0", cfg, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer running.Stop()
	if !strings.HasPrefix(running.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %q", running.URL)
	}
	client := func(h2 bool) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		return &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}
	get := func(c *http.Client) (int, error) {
		resp, err := c.Get(running.URL + "/")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.ProtoMajor, errors.New(resp.Status)
		}
		return resp.ProtoMajor, nil
	}
	for _, tc := range []struct {
		h2    bool
		major int
	}{{true, 2}, {false, 1}} {
		major, err := get(client(tc.h2))
		if err != nil || major != tc.major {
			t.Fatalf("h2 offered %v: HTTP/%d, %v; want HTTP/%d", tc.h2, major, err, tc.major)
		}
	}

	if err := running.Server.SetFaults(FaultSpec{Kinds: []Fault{FaultGoAway}, Share: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, err := get(client(true)) // a new connection each time
		var ga http2.GoAwayError
		if err == nil || !(errors.As(err, &ga) || strings.Contains(err.Error(), "GOAWAY")) {
			t.Fatalf("h2 request %d with the goaway fault on every connection: %v; want a GOAWAY error", i, err)
		}
	}
	if n := running.Server.FaultsInjected()[FaultGoAway]; n != 3 {
		t.Errorf("%d GOAWAYs injected, want 3", n)
	}
	if major, err := get(client(false)); err != nil || major != 1 {
		t.Errorf("HTTP/1.1 with the goaway fault on: HTTP/%d, %v; want an answer", major, err)
	}
}
