package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/live"
	"github.com/stormtest/stormtest/profiles"
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
			fmt.Fprintf(c.App.ErrWriter, "attacking %s with profile %s for %s, recording to %s (as %s until the run ends)\n",
				shown, prof.Name, prof.Schedule().Duration(), out, out+attack.PartialSuffix)
			// Attempts in flight at a stop are each bounded by their group's client timeout.
			wait := prof.LongestTimeout()
			stopperFrom(c.Context).describe(
				func() string {
					return fmt.Sprintf("waiting up to %s for %d attempts in flight", wait, progress.InFlight())
				},
				func() string {
					return fmt.Sprintf("what was recorded up to the last second is in %s", out+attack.PartialSuffix)
				})
			display := live.Start(c.App.ErrWriter, mode, prof, time.Now(), progress, live.Options{})
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
			// What was recorded is analysed straight away, also after Ctrl-C.
			rep, err := analyze.Files([]string{out}, analyze.DefaultOptions())
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			return rep.Write(c.App.Writer, analyze.FormatText, isTerminal(c.App.Writer))
		},
	}
}
