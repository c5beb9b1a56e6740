package profiles

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/internal/secret"
)

const requestsBase = "phases: [{duration: 1s, rate: 1}]\n"

// TestRequestsParse: a read/write mix reads into entries with their defaults, keeps a JSON
// body's key order, and writes back (YAML and JSON) to an equal profile.
func TestRequestsParse(t *testing.T) {
	p, err := Parse([]byte(requestsBase+`request:
  headers: {Authorization: "Bearer ${TOKEN}"}
  requests:
    - {weight: 3, path: "/items?id=1"}
    - method: POST
      path: /items
      headers: {Idempotency-Key: k-1}
      json: {name: widget, qty: 2, price: 1.50, tags: [a, "1"], nested: {z: 1, a: null}, on: true}
    - {method: PUT, path: /items/1, body: "a=1&b=2"}
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := p.Request
	if r.Method != "" || r.Path != "" || len(r.Requests) != 3 {
		t.Fatalf("request %+v: want three entries and no top-level method or path", r)
	}
	if e := r.Requests[0]; e.Weight != 3 || e.Method != "GET" {
		t.Errorf("entry 0 %+v: want weight 3, method GET (the default)", e)
	}
	if e := r.Requests[1]; e.Weight != 1 || string(e.JSON) != `{"name":"widget","qty":2,"price":1.50,"tags":["a","1"],"nested":{"z":1,"a":null},"on":true}` {
		t.Errorf("entry 1 weight %v json %s: want weight 1 and the JSON in written order", e.Weight, e.JSON)
	}
	if e := r.Requests[2]; e.Body != "a=1&b=2" {
		t.Errorf("entry 2 body %q", e.Body)
	}
	checkJSONRoundTrip(t, p)
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(data, "again.yaml")
	if err != nil {
		t.Fatalf("Marshal wrote what Parse refuses: %v\n%s", err, data)
	}
	again.Name = p.Name
	if !reflect.DeepEqual(again.Request, p.Request) {
		t.Errorf("YAML round trip changed the request:\n%+v\n%+v\n%s", p.Request, again.Request, data)
	}
}

// TestRequestsErrors: every mistake in a request mix, or in a ${NAME} reference, is one line
// at its line naming the field.
func TestRequestsErrors(t *testing.T) {
	cases := []struct {
		name, request string
		line          int
		want          []string
	}{
		{"empty list", "request: {requests: []}", 2, []string{"request.requests", "an empty list"}},
		{"not a list", "request: {requests: /a}", 2, []string{"request.requests", "a list of requests"}},
		{"unknown key", "request:\n  requests:\n    - {path: /a, bdy: x}", 4, []string{"request.requests[0]", `unknown key "bdy"`}},
		{"zero weight", "request:\n  requests:\n    - {path: /a}\n    - {path: /b, weight: 0}", 5, []string{"request.requests[1].weight", "0 is not a finite weight > 0"}},
		{"no path", "request:\n  requests:\n    - {method: GET}", 4, []string{"request.requests[0].path", "missing"}},
		{"bad path", "request:\n  requests:\n    - {path: items}", 4, []string{"request.requests[0].path", `"items" is not a path`}},
		{"bad method", "request:\n  requests:\n    - {path: /a, method: 'GE T'}", 4, []string{"request.requests[0].method", "not an HTTP method"}},
		{"two bodies", "request:\n  requests:\n    - {path: /a, body: x, json: {a: 1}}", 4, []string{"request.requests[0]", "more than one of body, json and body_file"}},
		{"with path", "request:\n  path: /x\n  requests:\n    - {path: /a}", 3, []string{"request.path", "set with requests"}},
		{"with targets file", "request:\n  targets_file: t.txt\n  requests:\n    - {path: /a}", 4, []string{"request.requests", "set with targets_file"}},
		{"bad header name", "request:\n  requests:\n    - {path: /a, headers: {'X Y': 1}}", 4, []string{`request.requests[0].headers["X Y"]`, "not a header name"}},
		{"header twice", "request:\n  requests:\n    - path: /a\n      headers: {X-A: 1, x-a: 2}", 5, []string{`request.requests[0].headers["x-a"]`, "set twice"}},
		{"JSON key not a string", "request:\n  requests:\n    - path: /a\n      json: {[1]: 2}", 5, []string{"request.requests[0].json", "object keys are strings"}},
		{"JSON infinity", "request:\n  requests:\n    - path: /a\n      json: {a: .inf}", 5, []string{"request.requests[0].json.a", "not a JSON number"}},
		{"unterminated reference", "request: {headers: {Authorization: 'Bearer ${TOKEN'}}", 2, []string{`request.headers["Authorization"]`, "no closing }"}},
		{"bad variable name", "request: {path: '/x/${1ID}'}", 2, []string{"request.path", `"${1ID}"`, "not a variable name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(requestsBase+tc.request+"\n"), "x.yaml")
			checkParseError(t, p, err, tc.line, tc.want)
		})
	}
}

// TestLoadEnv: an unset variable is refused at its line; a set one is checked, kept as
// written in headers and paths, and expanded in a body file's path.
func TestLoadEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(file, []byte(requestsBase+`request:
  method: POST
  path: /orders/${ORDER}
  headers:
    X-Api-Key: ${KEY}
  body_file: ${BODY_DIR}/body.json
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ORDER": "17", "KEY": "k-secret", "BODY_DIR": dir}
	p, err := LoadEnv(file, envvar.Map(env))
	if err != nil {
		t.Fatal(err)
	}
	if p.Request.Path != "/orders/${ORDER}" || p.Request.Headers["X-Api-Key"] != "${KEY}" || p.Request.BodyFile != filepath.Join(dir, "body.json") {
		t.Errorf("request %+v: want the path and header as written, the body file expanded", p.Request)
	}
	for unset, line := range map[string]int{"ORDER": 4, "KEY": 6, "BODY_DIR": 7} {
		partial := map[string]string{}
		for k, v := range env {
			if k != unset {
				partial[k] = v
			}
		}
		_, err := LoadEnv(file, envvar.Map(partial))
		if err == nil || !strings.HasPrefix(err.Error(), file+":"+itoa(line)+":") || !strings.Contains(err.Error(), "${"+unset+"} is not set") {
			t.Errorf("without %s: %v, want line %d saying it is not set", unset, err, line)
		}
	}
	if _, err := Load(file); err == nil || !strings.Contains(err.Error(), "is not set") {
		t.Errorf("Load (no environment): %v, want an unset variable", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestAddHeaders: -H lines add to the profile's headers, win over one of the same name in any
// case, and are refused in one line without quoting what was typed.
func TestAddHeaders(t *testing.T) {
	p, err := Parse([]byte(requestsBase+"request: {headers: {accept: text/html, X-A: 1}}\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AddHeaders([]string{"Accept: application/json, text/plain", "Authorization:Bearer ${T}"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Accept": "application/json, text/plain", "X-A": "1", "Authorization": "Bearer ${T}"}
	if !reflect.DeepEqual(p.Request.Headers, want) {
		t.Errorf("headers %v, want %v", p.Request.Headers, want)
	}
	for _, bad := range []string{"Bearer tok-secret", "Bad Name: x", ": x", "X-Ref: ${T"} {
		err := p.AddHeaders([]string{bad})
		if err == nil || strings.Contains(err.Error(), "tok-secret") || strings.Contains(err.Error(), "\n") {
			t.Errorf("AddHeaders(%q) = %v: want a one-line error that does not quote the line", bad, err)
		}
	}
	tf := &Profile{Request: Request{TargetsFile: "t.txt"}}
	if err := tf.AddHeaders([]string{"X: 1"}); err == nil || !strings.Contains(err.Error(), "targets file") {
		t.Errorf("AddHeaders with a targets file: %v", err)
	}
}

// TestRedactedBy: the secret headers of the request and of every entry read [redacted], the
// others are kept, and the profile itself is unchanged.
func TestRedactedBy(t *testing.T) {
	p, err := Parse([]byte(requestsBase+`request:
  headers: {Cookie: s=1, X-Tenant: acme, X-Key: "${KEY}"}
  requests:
    - {path: /a, headers: {X-Custom-Secret: abc, Accept: text/plain, proxy-authorization: Basic xyz}}
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := p.clone()
	q := p.RedactedBy(secretRules("x-custom-secret"))
	if got := q.Request.Headers; got["Cookie"] != RedactedValue || got["X-Tenant"] != "acme" || got["X-Key"] != RedactedValue {
		t.Errorf("shared headers %v", got)
	}
	if got := q.Request.Requests[0].Headers; got["X-Custom-Secret"] != RedactedValue || got["Accept"] != "text/plain" || got["proxy-authorization"] != RedactedValue {
		t.Errorf("entry headers %v", got)
	}
	if !reflect.DeepEqual(*p, before) {
		t.Error("RedactedBy changed the profile")
	}
}

func secretRules(headers ...string) secret.Rules { return secret.Rules{Headers: headers} }

// TestRequestsBounds: MaxRequests entries are accepted and one more refused; the body files
// of a mix are bounded together by MaxBodyBytes, one file counted once however often named.
func TestRequestsBounds(t *testing.T) {
	entries := func(n int) string {
		return requestsBase + "request:\n  requests:\n" + strings.Repeat("    - {path: /a}\n", n)
	}
	if _, err := Parse([]byte(entries(MaxRequests)), "x.yaml"); err != nil {
		t.Fatalf("%d requests: %v", MaxRequests, err)
	}
	p, err := Parse([]byte(entries(MaxRequests+1)), "x.yaml")
	checkParseError(t, p, err, 4, []string{"request.requests", "1001 requests, above the maximum 1000", "MaxRequests"})

	dir := t.TempDir()
	write := func(name string, size int) {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("half.bin", MaxBodyBytes/2)
	write("other.bin", MaxBodyBytes/2)
	write("one.bin", 1)
	load := func(files ...string) error {
		doc := requestsBase + "request:\n  requests:\n"
		for _, f := range files {
			doc += "    - {method: POST, path: /a, body_file: " + f + "}\n"
		}
		file := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(file)
		return err
	}
	if err := load("half.bin", "other.bin", "half.bin", "half.bin"); err != nil {
		t.Errorf("two distinct files of MaxBodyBytes together, one named thrice: %v", err)
	}
	if err := load("half.bin", "other.bin", "one.bin"); err == nil || !strings.Contains(err.Error(), "request.requests[2].body_file") ||
		!strings.Contains(err.Error(), "add up to 10485761 bytes") {
		t.Errorf("one byte past MaxBodyBytes together: %v", err)
	}
}
