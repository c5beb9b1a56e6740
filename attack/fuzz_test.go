package attack

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// FuzzTargetsFile feeds arbitrary vegeta targets files (the "http" format) to the reader a
// profile's targets_file goes through: it must never panic; an error is one line naming the
// file; a plan it accepts has 1 to maxEndpoints targets, each with an upper-case method, an
// absolute http(s) URL without fragment that parses back to itself, and header lines free of
// line breaks.
func FuzzTargetsFile(f *testing.F) {
	for _, s := range []string{
		"GET http://127.0.0.1:8080/\n",
		"GET http://127.0.0.1:8080/a\nX-A: 1\nX-B: two words\n\nPOST http://127.0.0.1:8080/b\nContent-Type: application/json\n@testdata/fuzz-body.json\n",
		"# comment\n\nGET https://user:pw@example.test/x?y=1\n",
		"GET http://127.0.0.1/#frag\n", "get http://127.0.0.1/\n", "GET /relative\n", "GET\n", "GET ftp://h/\n",
		"GET http://h/\nbad header\n", "GET http://h/\nX-A:\n", "GET http://h/\n@testdata/missing\n",
		"PUT http://[::1]:80/%zz\n", "GET http://h/\r\nX: 1\r\n", "",
	} {
		f.Add([]byte(s))
	}
	const name = "targets.txt"
	method := regexp.MustCompile(`^[A-Z]+$`)
	f.Fuzz(func(t *testing.T, in []byte) {
		// A body line "@path" makes vegeta read that file: keep the fuzzer to small regular
		// files (it could otherwise name /dev/zero and read forever).
		sc := bufio.NewScanner(bytes.NewReader(in))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "@") {
				if fi, err := os.Stat(line[1:]); err == nil && (!fi.Mode().IsRegular() || fi.Size() > 1<<20) {
					t.Skip("body file is not a small regular file")
				}
			}
		}
		plan, err := readTargets(bytes.NewReader(in), name)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if !strings.Contains(msg, name) {
				t.Fatalf("error does not name the file: %q", msg)
			}
			return
		}
		if n := len(plan.endpoints); n == 0 || n > maxEndpoints {
			t.Fatalf("%d targets", n)
		}
		for i, ep := range plan.endpoints {
			if !method.MatchString(ep.method) {
				t.Fatalf("target %d: method %q", i, ep.method)
			}
			u, err := url.Parse(ep.url)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				t.Fatalf("target %d: URL %q (%v)", i, ep.url, err)
			}
			if u.String() != ep.url {
				t.Fatalf("target %d: URL %q is not canonical (%q)", i, ep.url, u.String())
			}
			if _, err := http.NewRequest(ep.method, ep.url, nil); err != nil {
				t.Fatalf("target %d: net/http refuses %s %q: %v", i, ep.method, ep.url, err)
			}
			for k, vs := range ep.header {
				for _, v := range append([]string{k}, vs...) {
					if strings.ContainsAny(v, "\r\n") {
						t.Fatalf("target %d: header %q: %q has a line break", i, k, v)
					}
				}
			}
		}
	})
}
