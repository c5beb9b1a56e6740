package attack

import (
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/internal/testfix"
)

// TestRequestMixArrivesExactlyAndByWeight runs a read/write mix (request.requests) and checks
// at the target that every request arrives exactly as its entry says (method, path and
// query, headers shared and its own, body inline, JSON or from a file, ${NAME} expanded),
// that the mix follows the weights, and that the results header keeps the references and
// redacts the values.
func TestRequestMixArrivesExactlyAndByWeight(t *testing.T) {
	forEachEngine(t, testRequestMixArrivesExactlyAndByWeight)
}

func testRequestMixArrivesExactlyAndByWeight(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "item.xml")
	if err := os.WriteFile(bodyFile, []byte("<item id=\"7\"/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	type want struct {
		method, uri, body string
		header            map[string]string
	}
	shared := map[string]string{"X-Tenant": "acme", "Authorization": "Bearer tok-123456"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range shared {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	wants := map[string]want{
		"GET /items?id=1":   {"GET", "/items?id=1", "", with(map[string]string{"Content-Type": ""})},
		"POST /items":       {"POST", "/items", `{"name":"widget","qty":2,"tags":["a","b"],"ok":true,"note":null}`, with(map[string]string{"Content-Type": "application/json", "Idempotency-Key": "k-1"})},
		"PUT /items/7?v=2":  {"PUT", "/items/7?v=2", "<item id=\"7\"/>", with(map[string]string{"Content-Type": "application/xml", "X-Tenant": "globex"})},
		"DELETE /items/7":   {"DELETE", "/items/7", "reason=gone", with(nil)},
		"GET /secret?k=abc": {"GET", "/secret?k=abc", "", with(map[string]string{"X-Api-Key": "key-987654"})},
	}
	weights := map[string]float64{"GET /items?id=1": 6, "POST /items": 2, "PUT /items/7?v=2": 1, "DELETE /items/7": 1, "GET /secret?k=abc": 2}

	var mu sync.Mutex
	counts := map[string]int{}
	var bad []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.RequestURI
		mu.Lock()
		defer mu.Unlock()
		counts[key]++
		wt, ok := wants[key]
		if !ok || string(body) != wt.body {
			bad = append(bad, key+" body "+string(body))
			return
		}
		for name, v := range wt.header {
			if got := r.Header.Get(name); got != v {
				bad = append(bad, key+" header "+name+"="+got)
			}
		}
	})
	p := parseOn(t, eng, `
phases: [{duration: 1s, rate: 600}]
client: {timeout: 1s}
request:
  headers: {X-Tenant: acme, Authorization: "Bearer ${TOKEN}"}
  requests:
    - {weight: 6, method: GET, path: "/items?id=1"}
    - weight: 2
      method: POST
      path: /items
      headers: {Idempotency-Key: k-1}
      json: {name: widget, qty: 2, tags: [a, b], ok: true, note: null}
    - {weight: 1, method: PUT, path: "/items/${ITEM}?v=2", headers: {Content-Type: application/xml, X-Tenant: globex}, body_file: `+bodyFile+`}
    - {method: DELETE, path: /items/7, body: reason=gone}
    - {weight: 2, path: "/secret?k=${QK}", headers: {X-Api-Key: "${KEY}"}}
`)
	env := envvar.Map(map[string]string{"TOKEN": "tok-123456", "ITEM": "7", "QK": "abc", "KEY": "key-987654"})
	rec := &memRecorder{}
	if _, err := Run(context.Background(), Config{Target: srv.URL, Profile: p, Env: env}, rec); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d requests not as their entry says, e.g. %q", len(bad), bad[0])
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 600 || len(rec.recs) != 600 {
		t.Fatalf("the target saw %d requests and %d were recorded, want 600", total, len(rec.recs))
	}
	// Each entry's share is weight/12 of 600: a binomial count, within 5 standard deviations.
	for key, w := range weights {
		exp := 600 * w / 12
		sd := 5 * math.Sqrt(exp*(1-w/12))
		if n := float64(counts[key]); n < exp-sd || n > exp+sd {
			t.Errorf("%s: %v requests, want %.0f ± %.0f (weights %v)", key, n, exp, sd, counts)
		}
	}
	// The results header keeps what was written: references, not their values; secret
	// headers redacted; other headers as they are.
	h := rec.header.Profile.Request
	if h.Headers["Authorization"] != "[redacted]" || h.Headers["X-Tenant"] != "acme" ||
		h.Requests[4].Headers["X-Api-Key"] != "[redacted]" || h.Requests[4].Path != "/secret?k=${QK}" || h.Requests[2].Path != "/items/${ITEM}?v=2" {
		t.Errorf("results header request %+v", h)
	}
}

// TestRequestPlanErrorsNameTheField: a variable unset when the attack builds its requests,
// or a value the environment made multi-line, is refused naming the field, never the value.
func TestRequestPlanErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, request string
		env           map[string]string
		want          string
	}{
		{"unset in a header", `{headers: {Authorization: "Bearer ${TOKEN}"}}`, nil, `request.headers["Authorization"]: ${TOKEN} is not set`},
		{"unset in a path", `{path: "/x/${ID}"}`, nil, "request path: ${ID} is not set"},
		{"unset in an entry's header", `{requests: [{path: /a, headers: {X-Key: "${K}"}}]}`, nil, `request.requests[0].headers["X-Key"]: ${K} is not set`},
		{"multi-line value", `{headers: {X-Key: "${K}"}}`, map[string]string{"K": "abc\r\nEvil: 1"}, `request.headers["X-Key"]: the value from the environment has a line break`},
		{"bad path after expansion", `{path: "/x${P}"}`, map[string]string{"P": " y#frag-secret"}, `bad request path "/x${P}"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testfix.MustParse(t, "phases: [{duration: 1s, rate: 1}]\nrequest: "+tc.request+"\n")
			_, err := newRequestPlan("http://127.0.0.1:1", p.Request, envvar.Map(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			for _, v := range tc.env {
				if strings.Contains(err.Error(), strings.TrimSpace(v)) {
					t.Errorf("the error %q quotes the variable's value", err)
				}
			}
		})
	}
}
