package capacity

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/internal/testpki"
	"github.com/stormtest/stormtest/profiles"
)

// TestReadyUsesTheRunsTransport: the readiness check of --ready-url reaches an HTTPS target
// behind an internal CA with the client attack.HTTPClient builds from the transport (--ca),
// where Go's default client cannot verify it.
func TestReadyUsesTheRunsTransport(t *testing.T) {
	ca, err := testpki.NewCA("ready CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("ready", []string{"127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := testpki.Write(t.TempDir(), "ca.pem", ca.PEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	probe := Probe{Kind: KindSettle}
	h := &HTTPProber{Target: srv.URL, ReadyURL: srv.URL + "/healthz"}
	if o, err := h.Probe(context.Background(), probe); err != nil || o.Ready == nil || *o.Ready || !strings.Contains(o.Detail, "unknown authority") {
		t.Errorf("default client: %+v, %v; want not ready, unknown authority", o, err)
	}
	h.Client, err = attack.HTTPClient(&profiles.Transport{TLS: &profiles.TLS{CA: []string{caFile}}}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := h.Probe(context.Background(), probe); err != nil || o.Ready == nil || !*o.Ready {
		t.Errorf("client with the CA: %+v, %v; want ready", o, err)
	}
}
