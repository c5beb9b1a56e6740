package attack

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// seen is what one test server received.
type seen struct {
	mu   sync.Mutex
	hits int
	bad  []string // requests that carried what they must not
}

// redirectServer answers from routes (path → Location for a 302; "" → 200) and notes every
// request whose headers break the rule check gives.
func redirectServer(t *testing.T, s *seen, routes map[string]string, check func(*http.Request) string) string {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		if msg := check(r); msg != "" {
			s.bad = append(s.bad, r.URL.Path+": "+msg)
		}
		s.mu.Unlock()
		loc, ok := routes[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if loc != "" {
			http.Redirect(w, r, loc, http.StatusFound)
		}
	}).URL
}

// noFragment: the slot number rides in the URL fragment; no header may carry it.
func noFragment(r *http.Request) string {
	if ref := r.Header.Get("Referer"); strings.Contains(ref, "#") {
		return "Referer " + ref
	}
	return ""
}

// noCredentials: another origin never gets the profile's credentials or custom headers.
func noCredentials(r *http.Request) string {
	for _, h := range []string{"Authorization", "Cookie", "X-Tenant", "Referer"} {
		if v := r.Header.Get(h); v != "" {
			return h + ": " + v
		}
	}
	return ""
}

// TestRedirects: by default a 3xx is the attempt's outcome (kind 3xx) and the target sees
// exactly the requests recorded; follow_redirects N follows at most N hops, counts each as a
// request the target saw, never leaks the slot fragment in a Referer and never carries
// credentials or the profile's headers to another origin (a port change included).
func TestRedirects(t *testing.T) { forEachEngine(t, testRedirects) }

func testRedirects(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	cases := []struct {
		name       string
		follow     int
		path       string
		routes     func(other string) map[string]string // the origin's routes
		wantKind   results.Kind
		wantCode   uint16
		hopsPerReq int // redirects followed per request
		originHits int // requests per request at the origin
		otherHits  int // requests per request at the other origin
	}{
		{"loop, not followed", 0, "/loop", func(string) map[string]string { return map[string]string{"/loop": "/loop"} },
			results.Kind3xx, 302, 0, 1, 0},
		{"other host, not followed", 0, "/away", func(o string) map[string]string { return map[string]string{"/away": o + "/end"} },
			results.Kind3xx, 302, 0, 1, 0},
		{"loop, 2 hops", 2, "/loop", func(string) map[string]string { return map[string]string{"/loop": "/loop"} },
			results.Kind3xx, 302, 2, 3, 0},
		{"same origin then other port", 3, "/start", func(o string) map[string]string {
			return map[string]string{"/start": "/next", "/next": o + "/end"}
		}, results.KindOK, 200, 2, 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var origin, other seen
			otherURL := redirectServer(t, &other, map[string]string{"/end": ""}, noCredentials)
			originURL := redirectServer(t, &origin, tc.routes(otherURL), func(r *http.Request) string {
				if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Tenant") != "acme" {
					return "lost the profile's headers on its own origin"
				}
				return noFragment(r)
			})
			yaml := "phases: [{duration: 300ms, rate: 20}]\nclient: {timeout: 1s, follow_redirects: " + strconv.Itoa(tc.follow) + "}\n" +
				"request: {path: " + tc.path + ", headers: {Authorization: Bearer s3cret, Cookie: session=1, X-Tenant: acme}}\n"
			if eng != engineStd && tc.follow > 0 {
				// fast and loop do not follow redirects: asked for, the run is refused before
				// anything is sent; auto sends with std instead, and says why.
				_, err := Run(context.Background(), Config{Target: originURL, Profile: parseOn(t, eng, yaml)}, &memRecorder{})
				if err == nil || !strings.Contains(err.Error(), "follow_redirects") || !strings.Contains(err.Error(), "--engine std or auto") {
					t.Fatalf("%s with follow_redirects: error %v, want one naming follow_redirects and the way out", eng, err)
				}
				origin.mu.Lock()
				defer origin.mu.Unlock()
				if origin.hits != 0 {
					t.Fatalf("a refused run sent %d requests", origin.hits)
				}
				rec := &memRecorder{}
				if _, err := Run(context.Background(), Config{Target: originURL, Profile: parseOn(t, profiles.EngineAuto, yaml)}, rec); err != nil {
					t.Fatal(err)
				}
				if rec.header.Engine != engineStd || !strings.Contains(rec.header.EngineReason, "follow_redirects") {
					t.Fatalf("auto with follow_redirects ran %q (%q), want std because of follow_redirects", rec.header.Engine, rec.header.EngineReason)
				}
				return
			}
			sum, recs := runAttackOn(t, eng, context.Background(), originURL, yaml)
			n := len(recs)
			if n == 0 || uint64(n) != sum.Requests {
				t.Fatalf("%d records for %d requests", n, sum.Requests)
			}
			for _, r := range recs {
				if r.Kind != tc.wantKind || r.Code != tc.wantCode {
					t.Fatalf("attempt recorded as %v %d (%q), want %v %d", r.Kind, r.Code, r.Error, tc.wantKind, tc.wantCode)
				}
			}
			origin.mu.Lock()
			other.mu.Lock()
			defer origin.mu.Unlock()
			defer other.mu.Unlock()
			if bad := append(origin.bad, other.bad...); len(bad) > 0 {
				t.Fatalf("%d requests broke the rules, e.g. %s", len(bad), bad[0])
			}
			if origin.hits != tc.originHits*n || other.hits != tc.otherHits*n {
				t.Fatalf("origin saw %d and the other host %d requests for %d recorded attempts, want %d and %d",
					origin.hits, other.hits, n, tc.originHits*n, tc.otherHits*n)
			}
			if int(sum.RedirectHops) != tc.hopsPerReq*n || origin.hits+other.hits != n+int(sum.RedirectHops) {
				t.Fatalf("%d redirect hops counted; the targets saw %d requests for %d attempts", sum.RedirectHops, origin.hits+other.hits, n)
			}
		})
	}
}
