package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCompletionCandidates: what a Tab offers at each point of a command line, straight from
// the commands' own definitions.
func TestCompletionCandidates(t *testing.T) {
	cases := []struct {
		words []string
		want  []string // exactly these, in order; nil: nothing (the shell completes files)
	}{
		{[]string{"att"}, []string{"attack"}},
		{[]string{"pro"}, []string{"profiles"}},
		{[]string{"profiles", "sh"}, []string{"show"}},
		{[]string{"attack", "--profile", "mon"}, []string{"monday-morning"}},
		{[]string{"capacity", "--profile", "r"}, []string{"retry-storm"}},
		{[]string{"attack", "--profile=st"}, []string{"--profile=steady"}},
		{[]string{"attack", "--profile", "=", "fl"}, []string{"flash-crowd"}}, // bash splits at =
		{[]string{"attack", "--target", "http://x", "--redact-q"}, []string{"--redact-query"}},
		{[]string{"attack", "-"}, nil}, // checked below: every flag of attack
		{[]string{"report", "run.st", "--o"}, []string{"--out"}},
		{[]string{"report", "run.st", "-o", ""}, nil},
		{[]string{"analyze", "run.st", "--js"}, []string{"--json"}},
		{[]string{"analyze", ""}, nil}, // a results file: the shell's file completion
		{[]string{"attack", "--out", ""}, nil},
		{[]string{"__comp"}, nil}, // hidden
	}
	for _, tc := range cases {
		code, stdout, stderr := runCLI(t, context.Background(), append([]string{"__complete", "--"}, tc.words...)...)
		if code != exitOK {
			t.Fatalf("%q: exit %d: %s", tc.words, code, stderr)
		}
		got := strings.Fields(stdout)
		if tc.words[len(tc.words)-1] == "-" {
			for _, f := range []string{"--target", "--profile", "--header", "-H", "--redact", "--out", "--help"} {
				if !slices.Contains(got, f) {
					t.Errorf("%q: %q lacks %s", tc.words, got, f)
				}
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestCompletionScripts: each script is valid for its shell (bash -n, zsh -n, fish -n), and
// the bash script, sourced in a real bash with the binary on the PATH, registers itself and
// completes `stormtest attack --profile mon` to monday-morning; fish's own `complete -C`
// does the same with the fish script. With CI=true a missing shell is a failure.
func TestCompletionScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "stormtest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := dir + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			sh, err := exec.LookPath(shell)
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is not installed (.ci/run installs it)", shell)
				}
				t.Skipf("%s is not installed", shell)
			}
			code, script, stderr := runCLI(t, context.Background(), "completion", shell)
			if code != exitOK || !strings.Contains(script, "stormtest __complete --") {
				t.Fatalf("completion %s: exit %d, %s\n%s", shell, code, stderr, script)
			}
			file := filepath.Join(dir, "completion."+shell)
			if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh, "-n", file).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, out)
			}
			var probe string
			switch shell {
			case "bash":
				probe = `source "$1"
complete -p stormtest
COMP_WORDS=(stormtest attack --profile mon); COMP_CWORD=3; _stormtest_complete
printf 'reply:%s\n' "${COMPREPLY[@]}"
COMP_WORDS=(stormtest rep); COMP_CWORD=1; _stormtest_complete
printf 'reply:%s\n' "${COMPREPLY[@]}"`
			case "fish":
				probe = `source $argv[1]; complete -C 'stormtest attack --profile mon' | string replace -r '^' 'reply:'; complete -C 'stormtest rep' | string replace -r '^' 'reply:'`
			default:
				return // zsh: its completion system needs a terminal; the syntax was checked
			}
			cmd := exec.Command(sh, "-c", probe, "probe", file)
			if shell == "fish" {
				cmd = exec.Command(sh, "-c", probe, file)
			}
			cmd.Env = append(os.Environ(), "PATH="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", shell, err, out)
			}
			for _, want := range []string{"reply:monday-morning", "reply:report"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("%s completion lacks %q:\n%s", shell, want, out)
				}
			}
			if shell == "bash" && !strings.Contains(string(out), "-F _stormtest_complete stormtest") {
				t.Errorf("complete -p does not show the registration:\n%s", out)
			}
		})
	}
	if code, _, stderr := runCLI(t, context.Background(), "completion", "tcsh"); code != exitUsage || !strings.Contains(stderr, `unknown shell "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}
}
