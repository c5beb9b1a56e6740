package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/live"
	"github.com/stormtest/stormtest/shard"
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
			// Scale-out (issue 14): N generators that are one run.
			&cli.StringFlag{Name: "shard", Usage: "send shard I of N of the run (I/N, 0-based): every N-th first attempt and closed-loop user; run every I with the same --start-at"},
			&cli.IntFlag{Name: "shards", Usage: "split the run into N shards and take I from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)"},
			&cli.StringFlag{Name: "start-at", Usage: "the run's t=0 as an RFC 3339 time (2025-01-06T09:30:00Z) or +DURATION from now (+30s), shared by every shard"},
			&cli.StringFlag{Name: "run-id", Usage: "the id every shard of the run records (default: from the profile's name and --start-at)"},
			&cli.DurationFlag{Name: "max-late", Value: attack.DefaultMaxLate, Usage: "refuse to start a shard this long after --start-at has passed (0: no bound)"},
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
			if err := shardConfig(c, &cfg, time.Now()); err != nil {
				return err
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
			// Checked again after the preflight, which takes time: a shard must not start late
			// by more than --max-late.
			if err := checkLate(c, cfg, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "attacking %s with profile %s for %s, recording to %s (as %s until the run ends)\n",
				shown, prof.Name, prof.Schedule().Duration(), out, out+attack.PartialSuffix)
			announceShard(c, cfg, time.Now())
			progress := new(attack.Progress)
			cfg.Progress = progress
			// Attempts in flight at a stop are each bounded by their group's client timeout.
			wait := prof.LongestTimeout()
			stopperFrom(c.Context).describe(
				func() string {
					return fmt.Sprintf("waiting up to %s for %d attempts in flight", wait, progress.InFlight())
				},
				func() string {
					return fmt.Sprintf("what was recorded up to the last second is in %s", out+attack.PartialSuffix)
				})
			shownStart := time.Now()
			if !cfg.Start.IsZero() {
				shownStart = cfg.Start
			}
			display := live.Start(c.App.ErrWriter, live.ModeFor(c.App.ErrWriter, c.Bool("quiet")), prof, shownStart, progress, live.Options{})
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
			// What was recorded is analysed straight away, also after Ctrl-C. One shard is part
			// of a run: its analysis says what share of the load it covers.
			rep, err := analyze.Merge([]string{out}, analyze.DefaultOptions(), analyze.MergeOptions{AllowPartial: true})
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			return rep.Write(c.App.Writer, analyze.FormatText, isTerminal(c.App.Writer))
		},
	}
}

// shardConfig reads the scale-out flags into cfg: which part of the run this generator sends
// (--shard I/N, or --shards N with I from JOB_COMPLETION_INDEX), its t=0 (--start-at) and the
// run's id. Shards started separately must share one instant, so a split run needs --start-at,
// and a relative one (+30s, which each process resolves by its own clock) needs --run-id too.
func shardConfig(c *cli.Context, cfg *attack.Config, now time.Time) error {
	part := shard.One
	switch {
	case c.IsSet("shard") && c.IsSet("shards"):
		return usageError("attack: give --shard I/N or --shards N (index from $%s), not both", shard.EnvIndex)
	case c.IsSet("shard"):
		p, err := shard.Parse(c.String("shard"))
		if err != nil {
			return usageError("attack: %v", err)
		}
		part = p
	case c.IsSet("shards"):
		p, err := shard.FromEnv(c.Int("shards"), os.Getenv)
		if err != nil {
			return usageError("attack: %v", err)
		}
		part = p
	}
	cfg.Part = part
	if id := c.String("run-id"); id != "" {
		if err := shard.CheckRunID(id); err != nil {
			return usageError("attack: %v", err)
		}
		cfg.RunID = id
	}
	at := c.String("start-at")
	if at == "" {
		if part.Sharded() {
			return usageError("attack: shard %s needs --start-at, the instant every shard of the run starts at (an RFC 3339 time such as %s)",
				part, now.Add(time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339))
		}
		return nil
	}
	start, err := shard.ParseStartAt(at, now)
	if err != nil {
		return usageError("attack: %v", err)
	}
	if part.Sharded() && strings.HasPrefix(strings.TrimSpace(at), "+") && cfg.RunID == "" {
		return usageError("attack: --start-at %s is resolved by each shard's own clock when it starts, so shards would not share a run id: give them all --run-id too, or one RFC 3339 --start-at", at)
	}
	cfg.Start = start
	return checkLate(c, *cfg, now)
}

// checkLate refuses to start a generator more than --max-late after its t=0: it would send
// every first attempt due since then at once, a burst the profile never asked for.
func checkLate(c *cli.Context, cfg attack.Config, now time.Time) error {
	maxLate := c.Duration("max-late")
	if cfg.Start.IsZero() || maxLate <= 0 {
		return nil
	}
	if late := now.Sub(cfg.Start); late > maxLate {
		return usageError("attack: --start-at %s passed %s ago, more than --max-late %s: start the shards with a later --start-at (or raise --max-late)",
			cfg.Start.UTC().Format(time.RFC3339Nano), late.Round(time.Millisecond), maxLate)
	}
	return nil
}

// announceShard says which part of which run this generator sends and when its t=0 is, or
// how late it is: a late shard's first attempts leave at once and the header records by how
// much (results.Header.LateStart).
func announceShard(c *cli.Context, cfg attack.Config, now time.Time) {
	if cfg.Start.IsZero() {
		return
	}
	who := "run"
	if cfg.Part.Sharded() {
		who = "shard " + cfg.Part.String() + " of run"
	}
	id := cfg.RunID
	if id == "" {
		id = shard.RunID(cfg.Profile.Name, cfg.Start)
	}
	when := cfg.Start.UTC().Format(time.RFC3339Nano)
	if d := cfg.Start.Sub(now); d >= 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s %s: t=0 at %s (in %s)\n", who, id, when, d.Round(time.Millisecond))
	} else {
		fmt.Fprintf(c.App.ErrWriter, "%s %s: t=0 was %s, starting %s late: the first attempts due since then leave at once, their latency counted from when they were due\n",
			who, id, when, (-d).Round(time.Millisecond))
	}
}
