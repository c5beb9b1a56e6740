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
	"time"
)

// TestNoSecretInAnyArtefact carries every kind of secret internal/secret knows at once (a
// password in the target's userinfo, a --redact-query parameter, a ${VAR} value in a header
// no name rule covers, and a --redact header) through every command that writes an artefact: attack (the results file,
// twice, for compare), analyze in every format and its --hlog, report of one run and of two,
// export in every format, hlog, gate's JUnit and JSON, compare in every format and capacity
// (its state file, its result in both formats and its HTML report). Then it greps every file
// written and every line printed for every secret. The target checks it received them all.
func TestNoSecretInAnyArtefact(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	const (
		user, pass = "alice-user", "s3cretpass"
		query      = "t0kenvalue"
		token      = "tok-9f8e7d6c5b4a"
		tenant     = "tenant-secret-77"
	)
	secrets := []string{user, pass, query, token, tenant}
	t.Setenv("STORMTEST_ALL_TOKEN", token)
	var good, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		if u != user || p != pass || r.URL.Query().Get("token") != query ||
			r.Header.Get("X-Session") != "Bearer "+token || r.Header.Get("X-Tenant") != tenant {
			if bad.Add(1) == 1 {
				t.Logf("first refused request: %s %v", r.URL, r.Header)
			}
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		good.Add(1)
	}))
	defer srv.Close()
	target := strings.Replace(srv.URL, "http://", "http://"+user+":"+pass+"@", 1) + "/?token=" + query + "&page=2"
	secretFlags := []string{"--redact-query", "token", "-H", "X-Tenant: " + tenant, "--redact", "x-tenant"}

	dir := t.TempDir()
	prof := writeFile(t, "p.yaml", `name: all-secrets
phases: [{name: only, duration: 1s, rate: 20}]
client: {timeout: 1s}
request:
  headers: {X-Session: "Bearer ${STORMTEST_ALL_TOKEN}"}
`)
	var printed strings.Builder
	in := func(name string) string { return filepath.Join(dir, name) }
	// stepTo runs a command and keeps what it printed on stdout in the file named (if any):
	// an analysis or a comparison saved for a ticket is an artefact too.
	stepTo := func(save string, want int, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code, stdout, stderr := runCLI(t, ctx, args...)
		printed.WriteString(stdout + stderr)
		if code != want {
			t.Fatalf("%q: exit %d, want %d: %s", args, code, want, stderr)
		}
		if save != "" {
			if err := os.WriteFile(in(save), []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	step := func(want int, args ...string) { t.Helper(); stepTo("", want, args...) }
	for _, run := range []string{"before.st", "after.st"} {
		step(exitOK, append([]string{"attack", "--target", target, "--profile", prof, "--out", in(run), "--quiet"}, secretFlags...)...)
	}
	if good.Load() != 40 || bad.Load() != 0 {
		t.Fatalf("the target saw %d requests with every credential and %d without; the attack must send them all", good.Load(), bad.Load())
	}
	run := in("after.st")
	for _, f := range []string{"text", "json", "markdown"} {
		stepTo("analyze."+f, exitOK, "analyze", "--format", f, run)
	}
	step(exitOK, "analyze", "--hlog", in("analyze.hlog"), run)
	step(exitOK, "report", "-o", in("report.html"), run)
	step(exitOK, "report", "-o", in("report-two.html"), in("before.st"), run)
	for _, f := range []string{"vegeta-json", "vegeta-csv", "csv"} {
		step(exitOK, "export", "--format", f, "--out", in("export."+f), run)
	}
	step(exitOK, "hlog", "--out", in("hlog.hlog"), run)
	step(exitFail, "gate", "--threshold", "p99<1ns", "--junit", in("junit.xml"), run)
	stepTo("gate.json", exitFail, "gate", "--threshold", "p99<1ns", "--format", "json", run)
	for _, f := range []string{"text", "json", "markdown"} {
		stepTo("compare."+f, exitOK, "compare", "--format", f, in("before.st"), run)
	}
	// A short knee search (two steps of 0.5 s) against the same target, with every secret.
	capArgs := []string{"capacity", "--target", target, "--profile", prof, "--start-rate", "20", "--max-rate", "40",
		"--step", "500ms", "--repeats", "1", "--policies", "", "--state", in("capacity-state.json"), "--report", in("capacity.html"), "--quiet"}
	step(exitOK, append(append(capArgs, "--out", in("capacity.txt")), secretFlags...)...)
	step(exitOK, append(append(capArgs, "--format", "json", "--out", in("capacity.json")), secretFlags...)...)

	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"before.st", "after.st", "analyze.text", "analyze.json", "analyze.markdown", "analyze.hlog", "report.html",
		"report-two.html", "export.vegeta-json", "export.vegeta-csv", "export.csv", "hlog.hlog", "junit.xml", "compare.text",
		"compare.json", "compare.markdown", "gate.json", "capacity-state.json", "capacity.html", "capacity.txt", "capacity.json"}
	have := map[string]bool{}
	for _, f := range files {
		have[f.Name()] = true
		data, err := os.ReadFile(in(f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s contains the secret %q", f.Name(), s)
			}
		}
	}
	for _, name := range want {
		if !have[name] {
			t.Errorf("artefact %s was not written", name)
		}
	}
	for _, s := range secrets {
		if strings.Contains(printed.String(), s) {
			t.Errorf("printed output contains the secret %q", s)
		}
	}
	t.Logf("%d artefacts and %d bytes printed grepped for %d secrets", len(files), printed.Len(), len(secrets))
	// The artefacts still say where the load went.
	if data, _ := os.ReadFile(in("capacity-state.json")); !strings.Contains(string(data), "token=REDACTED") {
		t.Errorf("the capacity state does not name the redacted target: %.300s", data)
	}
}
