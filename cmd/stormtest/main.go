// Command stormtest finds metastable overload before production does: it drives traffic
// shapes with retrying clients against an HTTP target, records every attempt and says whether
// the target stayed stable, was overloaded and recovered, or stayed down after the trigger
// was gone.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/internal/version"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, stopSignals...)
	stops := &stopper{signals: signals, cancel: cancel, stderr: os.Stderr, exit: os.Exit}
	go stops.watch()
	code := run(withStopper(ctx, stops), os.Args, os.Stdout, os.Stderr)
	os.Exit(stops.exitCode(code))
}

// Exit codes, shared by every command.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and its check failed
	exitUsage = 2 // bad flags or input: nothing was judged
)

// run is main without the process: tests call it with their own arguments and writers.
func run(ctx context.Context, args []string, stdout, stderr *os.File) int {
	app := newApp(stdout, stderr)
	if err := app.RunContext(ctx, reorderArgs(app, args)); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(stderr, "stormtest: "+msg)
			}
			return ec.ExitCode()
		}
		fmt.Fprintln(stderr, "stormtest: "+err.Error())
		return exitUsage
	}
	return exitOK
}

func newApp(stdout, stderr *os.File) *cli.App {
	return &cli.App{
		Name:    "stormtest",
		Usage:   "find metastable overload before production does",
		Version: version.Version,
		Description: "Drives traffic shapes (profiles) with simulated retrying clients against an HTTP\n" +
			"target, records every attempt, and tells stable, overloaded and metastable apart.\n\n" +
			"Try it on the built-in target:  stormtest demo",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Commands: []*cli.Command{
			serveCommand(),
			attackCommand(),
			analyzeCommand(),
			demoCommand(),
			profilesCommand(),
			reportCommand(),
			capacityCommand(),
			gateCommand(),
			compareCommand(),
			exportCommand(),
			hlogCommand(),
			completionCommand(),
			completeCommand(),
			kubeCommand(),
		},
		// Errors are printed once, by run, as one line.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// usageError marks bad input: the command did not get as far as judging anything.
func usageError(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), exitUsage)
}
