package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReorderArgs: flags move before positional arguments with their values, under their
// first name; a boolean flag never takes the next word; "--" ends the flags.
func TestReorderArgs(t *testing.T) {
	app := newApp(nil, nil)
	cases := []struct{ in, want string }{
		{"report run.st -o out.html", "report -o out.html run.st"},
		{"report run.st --out out.html", "report --o out.html run.st"},
		{"report run.st --out=out.html a.st", "report --o=out.html run.st a.st"},
		{"analyze run.st --json --window 2s", "analyze --json --window 2s run.st"},
		{"analyze --json run.st", "analyze --json run.st"},
		{"profiles show steady --rate-scale 2", "profiles show --rate-scale 2 steady"},
		{"attack -H X:1 --header Y:2 -q", "attack --header X:1 --header Y:2 --quiet"},
		{"analyze --format json -- -odd.st --json", "analyze --format json -- -odd.st --json"},
		{"analyze run.st --no-such-flag", "analyze --no-such-flag run.st"},
		{"report run.st -o x.html --help", "report --help"},
		{"profiles list -h", "profiles --help"},
		{"export run.st --format", "export --format run.st"}, // the value is missing: cli says so
		{"nosuchcommand a --b", "nosuchcommand a --b"},
		{"__complete -- attack --profile mon", "__complete -- attack --profile mon"},
	}
	for _, tc := range cases {
		got := reorderArgs(app, append([]string{"stormtest"}, strings.Fields(tc.in)...))
		if want := append([]string{"stormtest"}, strings.Fields(tc.want)...); !slices.Equal(got, want) {
			t.Errorf("%s\n got %q\nwant %q", tc.in, got, want)
		}
	}
}

// TestFlagsAfterArguments runs every command with its flags before its positional arguments
// and again after them, and requires the same outcome: the same exit code, the same output
// on stdout and the same files. Commands without positional arguments (serve, attack, demo,
// capacity) are run with flags in two orders and bad input, so that they stop at once.
func TestFlagsAfterArguments(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run: records a short results file")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	run := filepath.Join(dir, "run.st")
	prof := writeFile(t, "p.yaml", "name: tiny\nphases: [{name: only, duration: 500ms, rate: 40}]\nclient: {timeout: 1s}\n")
	if code, _, stderr := runCLI(t, context.Background(), "attack", "--target", srv.URL, "--profile", prof, "--out", run, "--quiet"); code != exitOK {
		t.Fatalf("attack: %d %s", code, stderr)
	}
	// OUT is replaced by a file of its own for each order.
	cases := []struct {
		name          string
		before, after string
		code          int
		stdoutWant    string // stdout must contain it (and be the same in both orders)
	}{
		{"analyze --format", "analyze --format json RUN", "analyze RUN --format json", exitOK, `"verdict"`},
		{"analyze --json (boolean)", "analyze --json --window 2s RUN", "analyze RUN --json --window 2s", exitOK, `"verdict"`},
		{"analyze --hlog", "analyze --hlog OUT RUN", "analyze RUN --hlog OUT", exitOK, "INCONCLUSIVE"},
		{"report -o", "report -o OUT RUN", "report RUN -o OUT", exitOK, ""},
		{"report --out= two runs", "report --out=OUT RUN RUN", "report RUN RUN --out=OUT", exitOK, ""},
		{"export", "export --format csv --out OUT RUN", "export RUN --out OUT --format csv", exitOK, ""},
		{"export to stdout", "export --format vegeta-csv RUN", "export RUN --format vegeta-csv", exitOK, "GET"},
		{"hlog", "hlog --interval 500ms --out OUT RUN", "hlog RUN --out OUT --interval 500ms", exitOK, ""},
		{"gate", "gate --threshold p99<1ns --format json --junit OUT RUN", "gate RUN --threshold p99<1ns --junit OUT --format json", exitFail, `"pass": false`},
		{"compare", "compare --format json --fail-on-regression 50 RUN RUN", "compare RUN RUN --fail-on-regression 50 --format json", exitOK, `"before"`},
		{"profiles show", "profiles show --rate-scale 2 steady", "profiles show steady --rate-scale 2", exitOK, "rate: 200"},
		{"profiles validate", "profiles validate PROFILE", "profiles validate PROFILE", exitOK, "ok"},
		{"profiles validate --help", "profiles validate --help PROFILE", "profiles validate PROFILE --help", exitOK, "FILE..."},
		{"profiles --help", "profiles --help list", "profiles list --help", exitOK, "USAGE"},
		{"completion", "completion --help bash", "completion bash --help", exitOK, "bash|zsh|fish"},
		{"attack", "attack --quiet --target http://127.0.0.1:1 --profile steady --out OUT", "attack --out OUT --profile steady --target http://127.0.0.1:1 --quiet", exitUsage, ""},
		{"capacity", "capacity --quiet --target http://127.0.0.1:1 --profile steady", "capacity --profile steady --target http://127.0.0.1:1 --quiet", exitUsage, ""},
		{"serve", "serve --addr 127.0.0.1:0 --capacity-fraction 1.5", "serve --capacity-fraction 1.5 --addr 127.0.0.1:0", exitUsage, ""},
		{"demo", "demo --help", "demo --help", exitOK, "USAGE"},
		{"-- ends the flags", "analyze --json -- RUN", "analyze -- RUN --json", exitUsage, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var outs [2]string
			var stdouts [2]string
			for i, line := range []string{tc.before, tc.after} {
				outs[i] = filepath.Join(t.TempDir(), "out")
				args := strings.Fields(strings.NewReplacer("RUN", run, "OUT", outs[i], "PROFILE", prof).Replace(line))
				code, stdout, stderr := runCLI(t, context.Background(), args...)
				if tc.name == "-- ends the flags" && i == 0 {
					code = exitUsage // the first order is the reference: it is fine
				}
				if code != tc.code {
					t.Fatalf("%s: exit %d, want %d: %s", line, code, tc.code, stderr)
				}
				stdouts[i] = strings.ReplaceAll(stdout, outs[i], "OUT")
				if !strings.Contains(stdout, tc.stdoutWant) {
					t.Errorf("%s: stdout lacks %q:\n%s", line, tc.stdoutWant, stdout)
				}
			}
			if tc.name == "-- ends the flags" {
				return // the second order names a file "--json": refused, as it should be
			}
			if stdouts[0] != stdouts[1] {
				t.Errorf("stdout differs between the two orders:\n%s\n---\n%s", stdouts[0], stdouts[1])
			}
			a, errA := os.ReadFile(outs[0])
			b, errB := os.ReadFile(outs[1])
			if (errA == nil) != (errB == nil) || (errA == nil && len(a) == 0) || !sameArtefact(a, b) {
				t.Errorf("the files written differ between the two orders (%v, %v; %d and %d bytes)", errA, errB, len(a), len(b))
			}
		})
	}
}

// sameArtefact compares two outputs, ignoring lines that carry the time of writing.
func sameArtefact(a, b []byte) bool {
	strip := func(s []byte) string {
		var keep []string
		for _, l := range strings.Split(string(s), "\n") {
			if !strings.Contains(l, "StartTime") && !strings.Contains(l, "generated") && !strings.Contains(l, "timestamp=") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	return strip(a) == strip(b)
}
