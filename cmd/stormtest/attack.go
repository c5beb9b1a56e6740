package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/live"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/trigger"
)

func attackCommand() *cli.Command {
	return &cli.Command{
		Name:  "attack",
		Usage: "drive a profile against a target and record every attempt",
		Description: "Open-loop: first attempts follow the profile's rate curve whatever the target does; each\n" +
			"client times out and retries by the profile's policy. Every attempt is streamed to --out as\n" +
			"it completes; Ctrl-C stops, waits for attempts in flight and keeps everything recorded.\n\n" +
			"Example:\n" +
			"  stormtest attack --target http://127.0.0.1:8080 --profile monday-morning --out run.st\n" +
			"  stormtest analyze run.st",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "base URL of the service under test (required)", Required: true},
			&cli.StringFlag{Name: "profile", Value: "monday-morning", Usage: "built-in profile name or YAML file"},
			&cli.StringFlag{Name: "out", Usage: "results file to write (required)", Required: true},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace --out if it exists"},
			&cli.StringSliceFlag{Name: "redact-query", Usage: "query parameter of --target whose value is a secret, written as REDACTED (repeatable; user:password@ is always redacted)"},
			&cli.Float64Flag{Name: "rate-scale", Value: 1, Usage: "multiply every rate (and closed-loop population) of the profile"},
			&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "multiply every phase's duration (and think time) of the profile"},
			&cli.Uint64Flag{Name: "max-workers", Usage: "bound on concurrent attempts (0: sized from the profile)"},
			&cli.IntFlag{Name: "connections", Usage: "idle keep-alive connections per host (0: vegeta's default)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress (the analysis is still printed at the end)"},
		},
		Action: func(c *cli.Context) error {
			prof, err := loadScaled(c, c.String("profile"))
			if err != nil {
				return err
			}
			out := c.String("out")
			// Only the redacted target is ever printed or written; cfg keeps the real one.
			shown := attack.RedactURL(c.String("target"), c.StringSlice("redact-query"))
			cfg := attack.Config{
				Target:      c.String("target"),
				Profile:     prof,
				MaxWorkers:  c.Uint64("max-workers"),
				Connections: c.Int("connections"),
				RedactQuery: c.StringSlice("redact-query"),
			}
			if err := cfg.Validate(); err != nil {
				return usageError("%s", redactIn(err, cfg.Target, shown))
			}
			output := attack.Output{Path: out, Overwrite: c.Bool("overwrite")}
			// Checked before anything is sent: a FIFO, a device or an existing file is bad input.
			if err := attack.CheckOutput(output); err != nil {
				return usageError("%v", err)
			}
			if err := cfg.Preflight(c.Context); err != nil {
				return usageError("%s", redactIn(err, cfg.Target, shown))
			}
			fmt.Fprintf(c.App.ErrWriter, "attacking %s with profile %s for %s, recording to %s (as %s until the run ends)\n",
				shown, prof.Name, prof.Schedule().Duration(), out, out+attack.PartialSuffix)
			progress := new(attack.Progress)
			cfg.Progress = progress
			// A failed trigger call is an error shown at once; the run goes on, and the
			// trailer records every call.
			cfg.OnTrigger = func(call results.TriggerCall) {
				if !call.OK {
					fmt.Fprintf(c.App.ErrWriter, "stormtest: trigger %s; the run goes on\n", trigger.Describe(call))
				}
			}
			// Attempts in flight at a stop are each bounded by their group's client timeout.
			wait := prof.LongestTimeout()
			stopperFrom(c.Context).describe(
				func() string {
					return fmt.Sprintf("waiting up to %s for %d attempts in flight", wait, progress.InFlight())
				},
				func() string {
					return fmt.Sprintf("what was recorded up to the last second is in %s", out+attack.PartialSuffix)
				})
			display := live.Start(c.App.ErrWriter, live.ModeFor(c.App.ErrWriter, c.Bool("quiet")), prof, time.Now(), progress, live.Options{})
			sum, err := attack.Run(c.Context, cfg, attack.NewFileSink(output))
			display.Stop()
			if err != nil {
				if sum.Attempts > 0 {
					return cli.Exit(fmt.Sprintf("%s (the %d attempts recorded so far are in %s)", redactIn(err, cfg.Target, shown), sum.Attempts, attack.RecordedPath(output)), exitFail)
				}
				return cli.Exit(redactIn(err, cfg.Target, shown), exitFail)
			}
			state := "done"
			if sum.Interrupted {
				state = "interrupted"
			}
			fmt.Fprintf(c.App.ErrWriter, "%s: %d requests, %d attempts in %s, recorded to %s\n\n",
				state, sum.Requests, sum.Attempts, sum.End.Sub(sum.Start).Round(time.Millisecond), out)
			// What was recorded is analysed straight away, also after Ctrl-C.
			rep, err := analyze.Files([]string{out}, analyze.DefaultOptions())
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			return rep.Write(c.App.Writer, analyze.FormatText, isTerminal(c.App.Writer))
		},
	}
}
