package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/capacity"
	"github.com/stormtest/stormtest/target"
)

// runCapacityCLI runs a command in-process, with capacity added to the app when it does not
// list it yet.
func runCapacityCLI(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(out, errf)
	if !slices.ContainsFunc(app.Commands, func(x *cli.Command) bool { return x.Name == "capacity" }) {
		app.Commands = append(app.Commands, capacityCommand())
	}
	code = exitOK
	if err := app.RunContext(context.Background(), append([]string{"stormtest"}, args...)); err != nil {
		code = exitUsage
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		fmt.Fprintln(errf, "stormtest: "+err.Error())
	}
	out.Close()
	errf.Close()
	e, _ := os.ReadFile(errf.Name())
	return code, string(e)
}

func TestCapacityRefusesStateOfAnotherTarget(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := target.Start(ctx, "127.0.0.1:0", target.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-run.Done() }()
	state := filepath.Join(t.TempDir(), "state.json")
	if err := capacity.NewState("http://127.0.0.1:1", "x").Save(state); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCapacityCLI(t, "capacity", "--target", run.URL, "--state", state, "--quiet")
	if code != exitUsage || !strings.Contains(stderr, "it measured target http://127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestCapacityBadFlags(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--policies immediate,hammer", `unknown policy "hammer"`},
		{"--durations 2s,fast", `"fast" is not a positive duration`},
		{"--min-size 3 --max-size 2", "1 < min < max"},
	} {
		args := append([]string{"capacity", "--target", "http://127.0.0.1:1"}, strings.Fields(tc.args)...)
		code, stderr := runCapacityCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
