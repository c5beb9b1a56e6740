package capacity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/profiles"
)

// TestProbeSendsTheProfilesCredentials: a capacity probe sends the profile's headers with
// their ${NAME} references expanded from the prober's Env, like attack does.
func TestProbeSendsTheProfilesCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	var with, without atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-5566" {
			without.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		with.Add(1)
	}))
	defer srv.Close()
	prof, err := profiles.Parse([]byte(`
name: creds
phases: [{duration: 1s, rate: 1}]
client: {timeout: 250ms}
request: {path: /, headers: {Authorization: "Bearer ${TOKEN}"}}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := &HTTPProber{Target: srv.URL, Profile: prof, Analyze: analyze.DefaultOptions(),
		Env: envvar.Map(map[string]string{"TOKEN": "tok-5566"})}
	out, err := h.Probe(context.Background(), Probe{Kind: KindStep, Rate: 40, Duration: profiles.Duration(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if with.Load() != 20 || without.Load() != 0 || out.GoodputRPS == 0 {
		t.Fatalf("the target saw %d requests with the token and %d without (outcome %+v)", with.Load(), without.Load(), out)
	}
}
