package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stormtest/stormtest/results"
)

// TestSecretsInTargetURLStayOutOfArtefacts runs attack → analyze (every format) → report →
// export (every format) → hlog on a target URL with a password and a token, and looks for the
// secrets in every file and every line printed. The attack itself must still send them.
func TestSecretsInTargetURLStayOutOfArtefacts(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	var authed, refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "alice" || pass != "s3cretpass" || r.URL.Query().Get("token") != "t0kenvalue" {
			refused.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		authed.Add(1)
	}))
	defer srv.Close()
	target := strings.Replace(srv.URL, "http://", "http://alice:s3cretpass@", 1) + "/?token=t0kenvalue&page=2"
	secrets := []string{"s3cretpass", "t0kenvalue", "alice"}

	dir := t.TempDir()
	prof := writeFile(t, "p.yaml", "name: secret\nphases: [{name: only, duration: 1s, rate: 20}]\nclient: {timeout: 1s}\n")
	run := filepath.Join(dir, "run.st")
	var printed strings.Builder
	step := func(args ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		printed.WriteString(stdout + stderr)
		if code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
	}
	step("attack", "--target", target, "--redact-query", "token", "--profile", prof, "--out", run, "--quiet")
	if authed.Load() != 20 || refused.Load() != 0 {
		t.Fatalf("the target saw %d authenticated and %d refused requests; the attack must still send the credentials", authed.Load(), refused.Load())
	}
	for _, f := range []string{"text", "json", "markdown"} {
		step("analyze", "--format", f, run)
	}
	step("analyze", "--hlog", filepath.Join(dir, "a.hlog"), run)
	step("report", "-o", filepath.Join(dir, "report.html"), run)
	for _, f := range []string{"vegeta-json", "vegeta-csv", "csv"} {
		step("export", "--format", f, "--out", filepath.Join(dir, "export."+f), run)
	}
	step("hlog", "--out", filepath.Join(dir, "b.hlog"), run)

	files, err := os.ReadDir(dir)
	if err != nil || len(files) < 7 {
		t.Fatalf("artefacts %v (%v)", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s contains %q", f.Name(), s)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(printed.String(), s) {
			t.Errorf("printed output contains %q:\n%s", s, printed.String())
		}
	}
	// The redacted URL still says where the load went.
	if !strings.Contains(printed.String(), "token=REDACTED") || !strings.Contains(printed.String(), "page=2") {
		t.Errorf("printed output lacks the redacted target:\n%s", printed.String())
	}
}

// TestTokenFromEnvironmentStaysOutOfArtefacts runs attack with a bearer token from the
// environment (${TOKEN} in the profile), an API key from -H and a header named by --redact,
// checks that the target receives all three on every request, and greps every artefact of
// the run for them: the results file, analyze in every format, the HTML report, the exports
// in every format, both .hlog files, gate's JUnit and JSON, and everything printed.
func TestTokenFromEnvironmentStaysOutOfArtefacts(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	const (
		token  = "tok-9f8e7d6c5b4a"
		apiKey = "key-0a1b2c3d4e5f"
		tenant = "tenant-secret-77"
	)
	t.Setenv("STORMTEST_TEST_TOKEN", token)
	t.Setenv("STORMTEST_TEST_KEY", apiKey)
	var good, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-Api-Key") != apiKey ||
			r.Header.Get("X-Tenant") != tenant || r.URL.Path != "/orders" {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		good.Add(1)
	}))
	defer srv.Close()

	dir := t.TempDir()
	prof := writeFile(t, "p.yaml", `name: token
phases: [{name: only, duration: 1s, rate: 20}]
client: {timeout: 1s}
request:
  path: /orders
  headers: {Authorization: "Bearer ${STORMTEST_TEST_TOKEN}"}
`)
	run := filepath.Join(dir, "run.st")
	var printed strings.Builder
	step := func(want int, args ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		printed.WriteString(stdout + stderr)
		if code != want {
			t.Fatalf("%q: exit %d, want %d: %s", args, code, want, stderr)
		}
	}
	// The flags after the profile's: -H with a reference in single quotes, -H with a
	// literal value under --redact.
	step(exitOK, "attack", "--target", srv.URL, "--profile", prof, "--out", run, "--quiet",
		"-H", "X-Api-Key: ${STORMTEST_TEST_KEY}", "--header", "X-Tenant: "+tenant, "--redact", "x-tenant")
	if good.Load() != 20 || bad.Load() != 0 {
		t.Fatalf("the target saw %d requests with the credentials and %d without; every request must carry them", good.Load(), bad.Load())
	}
	for _, f := range []string{"text", "json", "markdown"} {
		step(exitOK, "analyze", "--format", f, run)
	}
	step(exitOK, "analyze", "--hlog", filepath.Join(dir, "a.hlog"), run)
	step(exitOK, "report", "-o", filepath.Join(dir, "report.html"), run)
	for _, f := range []string{"vegeta-json", "vegeta-csv", "csv"} {
		step(exitOK, "export", "--format", f, "--out", filepath.Join(dir, "export."+f), run)
	}
	step(exitOK, "hlog", "--out", filepath.Join(dir, "b.hlog"), run)
	step(exitFail, "gate", "--threshold", "p99<1ns", "--junit", filepath.Join(dir, "junit.xml"), run)
	step(exitFail, "gate", "--threshold", "p99<1ns", "--format", "json", run)
	// An unreachable target and a bad path: the error lines must not carry the token either.
	step(exitUsage, "attack", "--target", "http://127.0.0.1:1", "--profile", prof, "--out", filepath.Join(t.TempDir(), "x.st"),
		"-H", "X-Api-Key: ${STORMTEST_TEST_KEY}")

	files, err := os.ReadDir(dir)
	if err != nil || len(files) < 8 {
		t.Fatalf("artefacts %v (%v)", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{token, apiKey, tenant} {
			if strings.Contains(string(data), s) {
				t.Errorf("%s contains %q", f.Name(), s)
			}
		}
	}
	for _, s := range []string{token, apiKey, tenant} {
		if strings.Contains(printed.String(), s) {
			t.Errorf("printed output contains %q:\n%s", s, printed.String())
		}
	}
	// The results file says which headers were sent, without their values.
	h := readHeader(t, run)
	for name, want := range map[string]string{"Authorization": "[redacted]", "X-Api-Key": "[redacted]", "X-Tenant": "[redacted]"} {
		if got := h.Profile.Request.Headers[name]; got != want {
			t.Errorf("results header: %s = %q, want %q", name, got, want)
		}
	}
}

func readHeader(t *testing.T, path string) results.Header {
	t.Helper()
	r, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Header()
}
