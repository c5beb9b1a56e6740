package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	code := run(ctx, append([]string{"stormtest"}, args...), stdout, stderr)
	stdout.Close()
	stderr.Close()
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	return code, string(out), string(errOut)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadInputGetsOneLineAndExit2 checks every kind of bad input a user can give: each gets
// exit code 2 and a single line on stderr that names the problem.
func TestBadInputGetsOneLineAndExit2(t *testing.T) {
	badProfile := writeFile(t, "bad.yaml", "phases:\n  - {name: x, duration: 1 sec, rate: 10}\n")
	notResults := writeFile(t, "notes.txt", "these are not results\n")
	envProfile := writeFile(t, "env.yaml", "phases: [{duration: 1s, rate: 1}]\nrequest:\n  headers: {X-Key: \"${STORMTEST_UNSET_VAR}\"}\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"malformed profile", []string{"profiles", "validate", badProfile}, "bad.yaml:2"},
		{"unknown profile", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "nope", "--out", "x.st"}, `unknown profile "nope"`},
		{"bad URL", []string{"attack", "--target", "127.0.0.1:8080", "--profile", "steady", "--out", filepath.Join(t.TempDir(), "x.st")}, "bad target URL"},
		{"unrelated results file", []string{"analyze", notResults}, "not a stormtest results file"},
		{"missing results file", []string{"analyze", filepath.Join(t.TempDir(), "missing.st")}, "missing.st"},
		{"no results file", []string{"analyze"}, "no results file"},
		{"unreachable target", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--out", filepath.Join(t.TempDir(), "x.st")}, "unreachable"},
		{"bad scale", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--rate-scale", "0", "--out", "x.st"}, "--rate-scale"},
		{"negative heap floor", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--heap-floor-mib", "-1", "--out", "x.st"}, "--heap-floor-mib -1: must be between 0"},
		{"heap floor past its bound for capacity", []string{"capacity", "--target", "http://127.0.0.1:1", "--profile", "steady", "--heap-floor-mib", "70000"}, "--heap-floor-mib 70000: must be between 0"},
		{"bad serve knob", []string{"serve", "--capacity-fraction", "1.5"}, "CapacityFraction"},
		{"serve TLS key without certificate", []string{"serve", "--addr", "127.0.0.1:0", "--tls-key", notResults}, "--tls-key without --tls-cert"},
		{"serve TLS certificate that is not one", []string{"serve", "--addr", "127.0.0.1:0", "--tls-cert", notResults, "--tls-key", notResults}, "--tls-cert/--tls-key: tls: failed to find any PEM data"},
		{"missing required flag", []string{"attack", "--profile", "steady"}, "target"},
		{"unset variable in -H", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--out", "x.st", "-H", "Authorization: Bearer ${STORMTEST_UNSET_VAR}"},
			`--header "Authorization": ${STORMTEST_UNSET_VAR} is not set`},
		{"unset variable in -H for capacity", []string{"capacity", "--target", "http://127.0.0.1:1", "--profile", "steady", "-H", "X-Key: ${STORMTEST_UNSET_VAR}"},
			`${STORMTEST_UNSET_VAR} is not set`},
		{"unset variable in the profile", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", envProfile, "--out", "x.st"},
			`env.yaml:3: request.headers["X-Key"]: ${STORMTEST_UNSET_VAR} is not set`},
		{"unset variable in --target", []string{"attack", "--target", "http://${STORMTEST_UNSET_VAR}:1", "--profile", "steady", "--out", "x.st"},
			`--target: ${STORMTEST_UNSET_VAR} is not set`},
		{"-H without a name", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--out", "x.st", "-H", "Bearer abc"}, `expected "Name: value"`},
		{"unknown shell", []string{"completion", "powershell"}, `unknown shell "powershell"`},
		{"bad scrape URL", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--scrape", "ftp://u:s3cret@x/m", "--out", "x.st"},
			`--scrape: observe.scrape[0]: "ftp://xxxxx@x/m" has no http or https scheme`},
		{"bad scrape selector", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--scrape", "/metrics", "--scrape-match", "9lives", "--out", "x.st"},
			`observe.match[0]: "9lives" is not a metric name`},
		{"scrape interval without endpoints", []string{"attack", "--target", "http://127.0.0.1:1", "--profile", "steady", "--scrape-interval", "2s", "--out", "x.st"},
			"observe.scrape: no endpoints"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, context.Background(), tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.want)
			}
		})
	}
}
