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
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/shard"
	"github.com/stormtest/stormtest/trigger"
)

func attackCommand() *cli.Command {
	return &cli.Command{
		Name:  "attack",
		Usage: "drive a profile against a target and record every attempt",
		Description: "Open-loop: first attempts follow the profile's rate curve whatever the target does; each\n" +
			"client times out and retries by the profile's policy. Every attempt is streamed to --out as\n" +
			"it completes; Ctrl-C stops, waits for attempts in flight and keeps everything recorded.\n\n" +
			"--scrape reads the target's own Prometheus metrics every second during the run into the results\n" +
			"file, on the same clock; a scrape that fails is recorded as a gap and never slows the attack.\n\n" +
			"Live metrics for Prometheus/Grafana: --metrics-addr serves /metrics during the run,\n" +
			"--prometheus-remote-write pushes the same every second (README: \"Live metrics\").\n\n" +
			"Example:\n" +
			"  stormtest attack --target http://127.0.0.1:8080 --profile monday-morning --out run.st\n" +
			"  stormtest analyze run.st\n\n" +
			"The target's own metrics on the same timeline:\n" +
			"  stormtest attack --target http://127.0.0.1:8080 --scrape /metrics --scrape-match 'simservice_*' --out run.st\n\n" +
			"A staging service behind an internal CA, by a name DNS does not know yet:\n" +
			"  stormtest attack --target https://api.staging.internal --ca internal-ca.pem \\\n" +
			"    --connect-to api.staging.internal:443:10.0.3.7:8443 --profile steady --out run.st\n" +
			"A token from the environment, never written anywhere:\n" +
			"  stormtest attack --target https://staging.example.com -H 'Authorization: Bearer ${TOKEN}' --profile mine.yaml --out run.st\n" +
			"Live metrics for a Prometheus that scrapes, and pushed to one:\n" +
			"  stormtest attack --target http://127.0.0.1:8080 --out run.st --metrics-addr 127.0.0.1:9464 \\\n" +
			"    --prometheus-remote-write http://127.0.0.1:9090/api/v1/write --metrics-label run=nightly-42",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "base URL of the service under test (required)", Required: true},
			&cli.StringFlag{Name: "profile", Value: "monday-morning", Usage: "built-in profile name or YAML file"},
			&cli.StringFlag{Name: "out", Usage: "results file to write (required)", Required: true},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace --out if it exists"},
			&cli.StringSliceFlag{Name: "redact-query", Usage: "query parameter of --target whose value is a secret, written as REDACTED (repeatable; user:password@ is always redacted)"},
			&cli.Float64Flag{Name: "rate-scale", Value: 1, Usage: "multiply every rate (and closed-loop population) of the profile"},
			&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "multiply every phase's duration (and think time) of the profile"},
			&cli.Uint64Flag{Name: "max-workers", Usage: "bound on concurrent attempts (0: sized from the profile)"},
			&cli.IntFlag{Name: "connections", Usage: "idle keep-alive connections per host (0: vegeta's default)"},
			&cli.IntFlag{Name: "max-body-mib", Value: attack.DefaultMaxBody >> 20, Usage: "read at most this many MiB of each response body (counted, never kept); a longer one fails its attempt as too-large"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress (the analysis is still printed at the end)"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve the run's live metrics on http://`HOST:PORT`/metrics for Prometheus to scrape"},
			&cli.DurationFlag{Name: "metrics-linger", Value: 15 * time.Second, Usage: "after the run, keep /metrics up until scraped once more, for at most this long (0: stop at once)"},
			&cli.StringFlag{Name: "prometheus-remote-write", Usage: "push the run's live metrics every second to this Prometheus remote-write `URL` (user:password@ is sent as basic auth)"},
			&cli.StringSliceFlag{Name: "metrics-label", Usage: "`name=value` label put on every live metric, e.g. run=nightly-42 (repeatable)"},
			&cli.StringSliceFlag{Name: "scrape", Usage: "scrape the target's Prometheus metrics at this URL during the run, or at this path on --target, such as /metrics (repeatable; adds to the profile's observe.scrape)"},
			&cli.StringSliceFlag{Name: "scrape-match", Usage: "keep only the scraped series this selector names, such as 'db_pool_*' or 'http_requests_total{code=\"500\"}' (repeatable; default every gauge and counter, up to 64 per endpoint)"},
			&cli.DurationFlag{Name: "scrape-interval", Usage: "scrape every this long (default 1s, or the profile's observe.interval)"},
			// Scale-out (issue 14): N generators that are one run.
			&cli.StringFlag{Name: "shard", Usage: "send shard I of N of the run (I/N, 0-based): every N-th first attempt and closed-loop user; run every I with the same --start-at"},
			&cli.IntFlag{Name: "shards", Usage: "split the run into N shards and take I from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)"},
			&cli.StringFlag{Name: "start-at", Usage: "the run's t=0 as an RFC 3339 time (2025-01-06T09:30:00Z) or +DURATION from now (+30s), shared by every shard"},
			&cli.StringFlag{Name: "run-id", Usage: "the id every shard of the run records (default: from the profile's name and --start-at)"},
			&cli.DurationFlag{Name: "max-late", Value: attack.DefaultMaxLate, Usage: "refuse to start a shard this long after --start-at has passed (0: no bound)"},
			heapFloorFlag(),
		}, append(transportFlags(), requestFlags()...)...),
		Action: func(c *cli.Context) error {
			prof, err := loadScaled(c, c.String("profile"))
			if err != nil {
				return err
			}
			if prof, err = withTransportFlags(c, prof); err != nil {
				return err
			}
			rules, err := withRequestFlags(c, prof)
			if err != nil {
				return err
			}
			if c.Int("max-body-mib") < 1 {
				return usageError("--max-body-mib %d: must be at least 1 (MiB of each response body read before the attempt fails as too-large)", c.Int("max-body-mib"))
			}
			stopFloor, err := startHeapFloor(c)
			if err != nil {
				return err
			}
			defer stopFloor()
			out := c.String("out")
			cfg := attack.Config{
				Target:        c.String("target"),
				Profile:       prof,
				MaxWorkers:    c.Uint64("max-workers"),
				Connections:   c.Int("connections"),
				MaxBody:       int64(c.Int("max-body-mib")) << 20,
				RedactQuery:   rules.Query,
				RedactHeaders: rules.Headers,
				// ${NAME} in the target, paths and headers is expanded only as requests are
				// built; what is recorded keeps the reference.
				Env: os.LookupEnv,
			}
			// Only the redacted target is ever printed or written; cfg keeps the real one.
			// Every line printed goes through the run's scrubber.
			shown := rules.URL(cfg.Target)
			scrub := cfg.Scrubber()
			mode := live.ModeFor(c.App.ErrWriter, c.Bool("quiet")) // the terminal itself, before it is wrapped
			c.App.ErrWriter = scrubWriter{c.App.ErrWriter, scrub}
			if prof, err = prof.WithObserve(c.StringSlice("scrape"), c.StringSlice("scrape-match"), profiles.Duration(c.Duration("scrape-interval"))); err != nil {
				return usageError("--scrape: %s", scrub.String(err.Error()))
			}
			cfg.Profile = prof
			if err := shardConfig(c, &cfg, time.Now()); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usageError("%s", scrub.String(err.Error()))
			}
			output := attack.Output{Path: out, Overwrite: c.Bool("overwrite")}
			// Checked before anything is sent: a FIFO, a device or an existing file is bad input.
			if err := attack.CheckOutput(output); err != nil {
				return usageError("%v", err)
			}
			warnInsecure(c, prof)
			if err := cfg.Preflight(c.Context); err != nil {
				return usageError("%s", scrub.String(err.Error()))
			}
			progress := new(attack.Progress)
			cfg.Progress = progress
			metrics, err := startMetrics(c, prof, progress)
			if err != nil {
				return err
			}
			if metrics != nil {
				cfg.Observer = metrics.Observer()
			}
			// Checked again after the preflight, which takes time: a shard must not start late
			// by more than --max-late.
			if err := checkLate(c, cfg, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "attacking %s with profile %s for %s, recording to %s (as %s until the run ends)\n",
				shown, prof.Name, prof.Schedule().Duration(), out, out+attack.PartialSuffix)
			if name, why, err := cfg.Engine(); err != nil {
				return usageError("%s", scrub.String(err.Error()))
			} else {
				fmt.Fprintf(c.App.ErrWriter, "engine: %s (%s)\n", name, why)
			}
			announceShard(c, cfg, time.Now())
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
			shownStart := time.Now()
			if !cfg.Start.IsZero() {
				shownStart = cfg.Start
			}
			display := live.Start(c.App.ErrWriter, mode, prof, shownStart, progress, live.Options{})
			sink := attack.NewFileSink(output)
			sum, err := attack.Run(c.Context, cfg, sink)
			display.Stop()
			if metrics != nil {
				finishMetrics(c, metrics)
			}
			if err != nil {
				// The count is what the file holds (blocks written whole), not the attempts
				// completed: after a full disk the two differ by the blocks lost.
				if kept := sink.Written(); kept > 0 {
					return cli.Exit(fmt.Sprintf("%s (the %d attempts recorded so far are in %s; %d completed)", scrub.String(err.Error()), kept, attack.RecordedPath(output), sum.Attempts), exitFail)
				}
				return cli.Exit(scrub.String(err.Error()), exitFail)
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
