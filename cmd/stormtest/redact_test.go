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
