package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/demo"
	"github.com/stormtest/stormtest/hlog"
	"github.com/stormtest/stormtest/live"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
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
			// Attempts in flight at a stop are each bounded by their group's client timeout.
			var wait time.Duration
			for _, g := range prof.Groups() {
				wait = max(wait, time.Duration(g.Timeout))
			}
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

func analyzeFlags() []cli.Flag {
	def := analyze.DefaultOptions()
	return []cli.Flag{
		&cli.DurationFlag{Name: "window", Value: def.Window, Usage: "width of a time window"},
		&cli.Float64Flag{Name: "tolerance", Value: def.Tolerance, Usage: "fraction of intended load goodput may miss and still be healthy"},
		&cli.IntFlag{Name: "min-count", Value: def.MinCount, Usage: "requests a health judgement needs (windows are widened to get them)"},
		&cli.IntFlag{Name: "sustain", Value: def.Sustain, Usage: "consecutive judgements that make an onset or a recovery"},
		&cli.DurationFlag{Name: "grace", Value: def.Grace, Usage: "how long after the trigger a failure must last to be metastable (0: max(10s, 5 × client timeout))"},
		&cli.Float64Flag{Name: "band", Value: def.Band, Usage: "how close two first-attempt rates must be (fraction) to count as the same load in the hysteresis check"},
		&cli.Float64Flag{Name: "capacity", Usage: "the target's known capacity in requests/s, for the vulnerable note (0: estimate from the run)"},
	}
}

// analyzeOptions reads the analysis flags and checks them against their bounds, as profile
// fields are: a flag out of range is bad input (exit 2), never silently replaced.
func analyzeOptions(c *cli.Context) (analyze.Options, error) {
	opt := analyze.DefaultOptions()
	opt.Window = c.Duration("window")
	opt.Tolerance = c.Float64("tolerance")
	opt.MinCount = c.Int("min-count")
	opt.Sustain = c.Int("sustain")
	opt.Grace = c.Duration("grace")
	opt.Band = c.Float64("band")
	opt.Capacity = c.Float64("capacity")
	if err := opt.Validate(); err != nil {
		return opt, usageError("%s: %v", c.Command.Name, err)
	}
	return opt, nil
}

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Usage:     "judge a recorded run: stable, overloaded (recovered) or metastable, or down / inconclusive when it cannot show either, with the evidence",
		ArgsUsage: "FILE...",
		Description: "Several files are merged as shards of one run (one per generator machine).\n\n" +
			"Example:\n" +
			"  stormtest analyze run.st\n" +
			"  stormtest analyze --json run.st | jq .verdict",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object (schema in the README); the same as --format json"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text (coloured on a terminal), json or markdown (for a pull request or a ticket)"},
			&cli.StringFlag{Name: "hlog", Usage: "also write an HdrHistogram interval log (1 s intervals, tagged per phase) to this file; one results file only"},
		}, analyzeFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError("analyze: no results file given")
			}
			if c.String("hlog") != "" && c.NArg() != 1 {
				return usageError("analyze: --hlog takes one results file, got %d", c.NArg())
			}
			opt, err := analyzeOptions(c)
			if err != nil {
				return err
			}
			rep, err := analyze.Files(c.Args().Slice(), opt)
			if err != nil {
				return usageError("%v", err)
			}
			if out := c.String("hlog"); out != "" {
				r, err := results.Open(c.Args().First())
				if err != nil {
					return usageError("%v", err)
				}
				err = writeOutput(c, out, func(w io.Writer) error { return hlog.Write(w, r, c.Duration("window")) })
				r.Close()
				if err != nil {
					return err
				}
			}
			format, err := analyze.ParseFormat(c.String("format"))
			if err != nil {
				return usageError("analyze: %v", err)
			}
			if c.Bool("json") {
				format = analyze.FormatJSON
			}
			return rep.Write(c.App.Writer, format, isTerminal(c.App.Writer))
		},
	}
}

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "reproduce a Monday-morning metastable outage on the built-in target, then show retries were why",
		Description: "Starts two built-in targets on loopback with half their database pool applied, drives the\n" +
			"monday-morning profile against one with retrying clients and against the other with clients\n" +
			"that do not retry, and analyses both: the first stays down after the peak (metastable), the\n" +
			"second recovers (overloaded). Takes about 35 seconds.\n\n" +
			"Example:\n" +
			"  stormtest demo --dir out/demo",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "out/demo", Usage: "where the results files go"},
		},
		Action: func(c *cli.Context) error {
			_, err := demo.Run(c.Context, demo.Options{Dir: c.String("dir")}, c.App.Writer)
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			return nil
		},
	}
}

func profilesCommand() *cli.Command {
	return &cli.Command{
		Name:  "profiles",
		Usage: "list, show and validate traffic profiles",
		Description: "Example:\n" +
			"  stormtest profiles                      # list the built-ins\n" +
			"  stormtest profiles show monday-morning > mine.yaml\n" +
			"  stormtest profiles validate mine.yaml",
		Action: func(c *cli.Context) error {
			for _, name := range profiles.BuiltinNames() {
				p, _ := profiles.Builtin(name)
				fmt.Fprintf(c.App.Writer, "%-16s %6s  %s\n", name, p.Schedule().Duration(), firstSentence(p.Description))
			}
			return nil
		},
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "print a profile as YAML that can be edited and passed back with --profile FILE",
				ArgsUsage: "NAME|FILE",
				Flags: []cli.Flag{
					&cli.Float64Flag{Name: "rate-scale", Value: 1, Usage: "show the profile with every rate multiplied"},
					&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "show the profile with every phase duration multiplied"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("profiles show: give one profile name or file")
					}
					p, err := loadScaled(c, c.Args().First())
					if err != nil {
						return err
					}
					data, err := p.Marshal()
					if err != nil {
						return cli.Exit(err.Error(), exitFail)
					}
					_, err = c.App.Writer.Write(data)
					return err
				},
			},
			{
				Name:      "validate",
				Usage:     "check profile files; exit 2 with the first problem of each",
				ArgsUsage: "FILE...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageError("profiles validate: no file given")
					}
					for _, path := range c.Args().Slice() {
						p, err := profiles.Load(path)
						if err != nil {
							return usageError("%v", err)
						}
						load := fmt.Sprintf("%.0f first attempts", p.Schedule().Total())
						if p.ClosedLoop() {
							load = fmt.Sprintf("up to %d users", p.PeakUsers())
						}
						fmt.Fprintf(c.App.Writer, "%s: ok (%s, %d phases, %s, %s)\n",
							path, p.Name, len(p.Phases), p.Schedule().Duration(), load)
					}
					return nil
				},
			},
		},
	}
}

// loadScaled loads a profile and applies --rate-scale and --time-scale, so one file serves a
// staging run, a CI gate and a capacity test.
func loadScaled(c *cli.Context, nameOrPath string) (*profiles.Profile, error) {
	p, err := profiles.Load(nameOrPath)
	if err != nil {
		return nil, usageError("%v", err)
	}
	rate, dur := c.Float64("rate-scale"), c.Float64("time-scale")
	if !(rate > 0) || !(dur > 0) || math.IsInf(rate, 0) || math.IsInf(dur, 0) {
		return nil, usageError("--rate-scale and --time-scale must be positive and finite, got %g and %g", rate, dur)
	}
	if rate == 1 && dur == 1 {
		return p, nil
	}
	scaled := p.Scaled(rate, dur)
	if err := scaled.Validate(); err != nil {
		return nil, usageError("%s scaled by rate %g, time %g: %v", p.Name, rate, dur, err)
	}
	return scaled, nil
}

// redactIn is err's message with the target replaced by its redacted form: messages about a
// bad or unreachable target quote it, and stderr ends up in CI logs.
func redactIn(err error, target, redacted string) string {
	msg := err.Error()
	if target != "" && target != redacted {
		msg = strings.ReplaceAll(msg, target, redacted)
	}
	return msg
}

// isTerminal reports whether w is a terminal: colour and redrawn progress only go there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// firstSentence keeps a listing to one line per profile.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
