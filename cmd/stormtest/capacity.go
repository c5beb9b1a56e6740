package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/capacity"
	"github.com/stormtest/stormtest/internal/atomicfile"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/report"
)

func capacityCommand() *cli.Command {
	def := capacity.DefaultConfig()
	return &cli.Command{
		Name:  "capacity",
		Usage: "find the knee (highest rate within the SLO) and the tipping map (which surges the target does not recover from)",
		Description: "1. Knee: constant-rate steps with clients that do not retry, doubling from --start-rate until\n" +
			"   one fails (goodput below (1 − tolerance) × rate, p99 above --p99, or errors above\n" +
			"   --max-error-rate), then bisecting; the final bracket is bisected --repeats times.\n" +
			"2. Tipping map: at --baseline-fraction of the knee, surges of a size (× baseline) for each of\n" +
			"   --durations, then the baseline for --grace; analyze judges each recovered or metastable.\n" +
			"   The size is bisected between --min-size and --max-size, once per --policies entry.\n" +
			"Between probes the target must be healthy again at the baseline (or --ready-url must answer\n" +
			"200); a target still unhealthy after --settle-timeout stops the search (exit 1).\n" +
			"With --trigger capacity-drop the map is of capacity losses instead (Huang et al.'s experiment):\n" +
			"   constant baseline load, the target's capacity cut by a share for each of --durations by\n" +
			"   trigger calls (--trigger-start, --trigger-stop; default the built-in target's /control\n" +
			"   endpoints), the cut bisected between --min-cut and --max-cut, at each --baseline-fractions.\n" +
			"Every probe is saved to --state; rerunning with the same file resumes without repeating\n" +
			"probes. --budget bounds the time spent; the search stops early with what it found.\n" +
			"Reference: docs/capacity.md\n\n" +
			"Example:\n" +
			"  stormtest capacity --target http://127.0.0.1:8080 --profile retry-storm \\\n" +
			"    --policies immediate,expo-jitter,budget --budget 15m --json --out capacity.json \\\n" +
			"    --report capacity.html\n\n" +
			"Example (capacity-loss map of the built-in target, as in docs/capacity.md):\n" +
			"  stormtest capacity --target http://127.0.0.1:8080 --profile retry-storm --knee 400 \\\n" +
			"    --trigger capacity-drop --policies immediate --baseline-fractions 0.45,0.6 --durations 2s,5s,10s",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "base URL of the service under test (required)", Required: true},
			&cli.StringSliceFlag{Name: "redact-query", Usage: "query parameter of --target whose value is a secret, written as REDACTED (repeatable; user:password@ is always redacted)"},
			&cli.StringFlag{Name: "profile", Value: "monday-morning", Usage: "built-in profile or YAML file: its clients, SLO and request are used, not its phases"},
			&cli.DurationFlag{Name: "budget", Value: def.Budget, Usage: "time this run may take; it stops early with what it found"},
			&cli.StringFlag{Name: "state", Usage: "state file, written after every probe and read to resume (default: capacity-state.json next to --out)"},
			&cli.StringFlag{Name: "out", Usage: "write the result here instead of stdout"},
			jsonAliasFlag("print the result as one JSON object (capacity.Result)"),
			formatFlag("text or json (one object, capacity.Result)"),
			&cli.StringFlag{Name: "report", Usage: "also write the result as a self-contained HTML page (charts of the knee and the tipping map) to this file"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress lines"},

			&cli.DurationFlag{Name: "step", Value: def.Step, Usage: "length of one knee step"},
			&cli.Float64Flag{Name: "start-rate", Value: def.StartRate, Usage: "first knee step, requests/s"},
			&cli.Float64Flag{Name: "max-rate", Value: def.MaxRate, Usage: "highest knee step, requests/s"},
			&cli.Float64Flag{Name: "precision", Value: def.Precision, Usage: "stop bisecting the knee once the bracket is this fraction of the rate"},
			&cli.IntFlag{Name: "repeats", Value: def.Repeats, Usage: "bisections of the final bracket (the knee's interval is their spread)"},
			&cli.Float64Flag{Name: "knee", Usage: "known knee in requests/s: skip the knee search"},
			&cli.DurationFlag{Name: "p99", Usage: "p99 a step must stay within (default: the profile's slo.latency)"},
			&cli.Float64Flag{Name: "tolerance", Value: def.Tolerance, Usage: "fraction of the rate goodput may miss and pass"},
			&cli.Float64Flag{Name: "max-error-rate", Value: def.MaxErrorRate, Usage: "share of failed attempts a step may have and pass"},

			&cli.Float64Flag{Name: "baseline-fraction", Value: def.BaselineFraction, Usage: "the map's baseline load as a fraction of the knee"},
			&cli.StringFlag{Name: "durations", Value: "2s,5s,10s", Usage: "surge durations to map, comma-separated"},
			&cli.Float64Flag{Name: "min-size", Value: def.SizeMin, Usage: "smallest surge tried, × baseline"},
			&cli.Float64Flag{Name: "max-size", Value: def.SizeMax, Usage: "largest surge tried, × baseline"},
			&cli.Float64Flag{Name: "size-precision", Value: def.SizePrecision, Usage: "stop bisecting a size once tipping ÷ recovering ≤ 1 + this"},
			&cli.StringFlag{Name: "policies", Value: capacity.PolicyProfile, Usage: "client retry policies to map, comma-separated: " + strings.Join(capacity.PolicyNames(), ", ") + "; empty: no map"},
			&cli.DurationFlag{Name: "warm", Value: def.Warm, Usage: "baseline before each surge"},
			&cli.DurationFlag{Name: "grace", Usage: "baseline after each surge, which a failure must outlast to be metastable (0: max(10s, 5 × client timeout))"},

			&cli.DurationFlag{Name: "settle-probe", Value: def.SettleProbe, Usage: "length of one settle probe at the baseline"},
			&cli.DurationFlag{Name: "settle-timeout", Value: def.SettleTimeout, Usage: "how long the target may take to be healthy again between probes"},
			&cli.StringFlag{Name: "ready-url", Usage: "settle by polling this URL for a 200 instead of sending baseline load"},

			&cli.StringFlag{Name: "trigger", Usage: "map capacity losses instead of surges: " + capacity.TriggerCapacityDrop + " (cuts made by trigger calls; see --trigger-start)"},
			&cli.StringFlag{Name: "trigger-start", Usage: "with --trigger: URL POSTed to cut the capacity, {cut} {percent} {fraction} {duration_s} replaced (default: the built-in target's /control/capacity)"},
			&cli.StringFlag{Name: "trigger-stop", Usage: "with --trigger: URL POSTed to restore the capacity, same placeholders (default: the built-in target's /control/restore)"},
			&cli.StringFlag{Name: "baseline-fractions", Usage: "with --trigger: baselines to map, fractions of the knee, comma-separated (default: --baseline-fraction)"},
			&cli.Float64Flag{Name: "min-cut", Value: def.CutMin, Usage: "with --trigger: smallest capacity cut tried, a share in (0,1)"},
			&cli.Float64Flag{Name: "max-cut", Value: def.CutMax, Usage: "with --trigger: largest capacity cut tried, a share in (0,1)"},
			&cli.Float64Flag{Name: "cut-precision", Value: def.CutPrecision, Usage: "with --trigger: stop bisecting a cut once the one that tipped and the one that recovered are this close"},
			heapFloorFlag(),
		}, append(transportFlags(), requestFlags()...)...),
		Action: runCapacity,
	}
}

func runCapacity(c *cli.Context) error {
	format, err := chooseFormat(c, formatText, formatJSON)
	if err != nil {
		return err
	}
	prof, err := profiles.LoadEnv(c.String("profile"), os.LookupEnv)
	if err != nil {
		return usageError("capacity: %v", err)
	}
	rules, err := withRequestFlags(c, prof)
	if err != nil {
		return usageError("capacity: %v", err)
	}
	if prof.ClosedLoop() {
		return usageError("capacity: profile %s is closed-loop; capacity needs open-loop clients", prof.Name)
	}
	if prof, err = withTransportFlags(c, prof); err != nil {
		return err
	}
	// Flags are checked before the target is dialled, so a typo is named as such.
	cfg, err := capacityConfig(c, prof)
	if err != nil {
		return err
	}
	stopFloor, err := startHeapFloor(c)
	if err != nil {
		return err
	}
	defer stopFloor()
	// The report is written after the search, which may take many minutes: a path it could
	// not be written to is refused now, not once the probes are spent.
	reportPath := c.String("report")
	if reportPath != "" {
		if err := atomicfile.CheckWritable(reportPath); err != nil {
			return usageError("capacity: --report: %v", err)
		}
	}
	tgt := c.String("target")
	// The state file, the result and every line printed carry the redacted target only, and
	// every message goes through the run's scrubber.
	acfg := attack.Config{Target: tgt, Profile: prof, RedactQuery: rules.Query, RedactHeaders: rules.Headers, Env: os.LookupEnv}
	shown, scrub := rules.URL(tgt), acfg.Scrubber()
	c.App.ErrWriter = scrubWriter{c.App.ErrWriter, scrub}
	if err := acfg.Validate(); err != nil {
		return usageError("capacity: %s", scrub.String(err.Error()))
	}
	warnInsecure(c, prof)
	if err := acfg.Preflight(c.Context); err != nil {
		return usageError("capacity: %s", scrub.String(err.Error()))
	}
	// The readiness check reaches the target the way the probes do (CA, proxy, connect_to).
	readyClient, err := attack.HTTPClient(prof.Transport, tgt)
	if err != nil {
		return usageError("capacity: %s", scrub.String(err.Error()))
	}
	statePath := c.String("state")
	if statePath == "" {
		statePath = filepath.Join(filepath.Dir(c.String("out")), "capacity-state.json")
	}
	state, err := capacity.LoadState(statePath, shown, capacity.ProfileDigest(prof))
	if err != nil {
		return usageError("capacity: %v", err)
	}
	var progress io.Writer = c.App.ErrWriter
	if c.Bool("quiet") {
		progress = nil
	}
	if progress != nil && len(state.Probes) > 0 {
		fmt.Fprintf(progress, "capacity: resuming from %s (%d probes done)\n", statePath, len(state.Probes))
	}
	s := &capacity.Search{
		Prober: &capacity.HTTPProber{
			Target: tgt, Profile: prof, ReadyURL: c.String("ready-url"), Analyze: analyze.DefaultOptions(),
			Client:        readyClient,
			RedactHeaders: rules.Headers, Env: os.LookupEnv,
			Cut: cutTrigger(c),
		},
		Config:      cfg,
		ProfileName: prof.Name,
		State:       state,
		Save:        func(st *capacity.State) error { return st.Save(statePath) },
		Progress:    progress,
	}
	res, runErr := s.Run(c.Context)
	if res == nil {
		return cli.Exit(scrub.String(fmt.Sprintf("capacity: %v", runErr)), exitFail)
	}
	if err := writeOutput(c, c.String("out"), func(w io.Writer) error {
		return render(w, format, renderers{
			formatText: res.WriteText,
			formatJSON: func(w io.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			},
		})
	}); err != nil {
		return err
	}
	if reportPath != "" {
		if err := atomicfile.Write(reportPath, func(w io.Writer) error { return report.WriteCapacity(w, res) }); err != nil {
			return cli.Exit(fmt.Sprintf("capacity: writing the report %s: %v", reportPath, err), exitFail)
		}
		if progress != nil {
			fmt.Fprintf(progress, "capacity: report written to %s\n", reportPath)
		}
	}
	switch {
	case errors.Is(runErr, capacity.ErrNotSettled):
		return cli.Exit(scrub.String(fmt.Sprintf("capacity: %v", runErr)), exitFail)
	case runErr != nil:
		return cli.Exit(scrub.String(fmt.Sprintf("capacity: %v (state kept in %s)", runErr, statePath)), exitFail)
	case !res.Complete:
		fmt.Fprintf(c.App.ErrWriter, "capacity: stopped early: %s (state in %s)\n", res.Stopped, statePath)
	}
	return nil
}

// capacityConfig reads the search settings from the flags, with the profile's SLO and client
// timeout where the flags leave them open.
func capacityConfig(c *cli.Context, prof *profiles.Profile) (capacity.Config, error) {
	timeout := prof.LongestTimeout()
	cfg := capacity.Config{
		Step:             c.Duration("step"),
		StartRate:        c.Float64("start-rate"),
		MaxRate:          c.Float64("max-rate"),
		Precision:        c.Float64("precision"),
		Repeats:          c.Int("repeats"),
		Knee:             c.Float64("knee"),
		Tolerance:        c.Float64("tolerance"),
		P99:              c.Duration("p99"),
		MaxErrorRate:     c.Float64("max-error-rate"),
		BaselineFraction: c.Float64("baseline-fraction"),
		SizeMin:          c.Float64("min-size"),
		SizeMax:          c.Float64("max-size"),
		SizePrecision:    c.Float64("size-precision"),
		Warm:             c.Duration("warm"),
		Grace:            c.Duration("grace"),
		SettleProbe:      c.Duration("settle-probe"),
		SettleTimeout:    c.Duration("settle-timeout"),
		Budget:           c.Duration("budget"),
		ClientTimeout:    timeout,
	}
	if cfg.P99 <= 0 {
		cfg.P99 = time.Duration(prof.SLO.Latency)
	}
	// The same automatic grace analyze uses, so a surge's verdict is conclusive.
	cfg.Grace = analyze.Options{Grace: cfg.Grace}.GraceFor(prof)
	if s := strings.TrimSpace(c.String("policies")); s != "" {
		pols, err := capacity.ParsePolicies(s)
		if err != nil {
			return cfg, usageError("capacity: --policies: %v", err)
		}
		cfg.Policies = pols
		for _, f := range strings.Split(c.String("durations"), ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d <= 0 {
				return cfg, usageError("capacity: --durations: %q is not a positive duration (expected e.g. 2s,5s,10s)", f)
			}
			cfg.Durations = append(cfg.Durations, d)
		}
	}
	if err := cutConfig(c, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("capacity: %v", err)
	}
	return cfg, nil
}

// cutConfig reads the capacity-drop flags into cfg.
func cutConfig(c *cli.Context, cfg *capacity.Config) error {
	trig := c.String("trigger")
	custom := c.String("trigger-start") != "" || c.String("trigger-stop") != ""
	switch {
	case trig == "" && (custom || c.String("baseline-fractions") != ""):
		return usageError("capacity: --trigger-start, --trigger-stop and --baseline-fractions need --trigger %s", capacity.TriggerCapacityDrop)
	case trig == "":
		return nil
	case trig != capacity.TriggerCapacityDrop:
		return usageError("capacity: --trigger: unknown trigger %q (expected %s)", trig, capacity.TriggerCapacityDrop)
	case custom && (c.String("trigger-start") == "" || c.String("trigger-stop") == ""):
		return usageError("capacity: --trigger-start and --trigger-stop go together: one cuts the capacity, the other restores it")
	case len(cfg.Policies) == 0:
		return usageError("capacity: --trigger %s maps recovery per client policy; give --policies", trig)
	}
	for _, u := range []string{c.String("trigger-start"), c.String("trigger-stop")} {
		if u != "" && !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return usageError("capacity: trigger URL %q is neither an http(s) URL nor a path on the target", u)
		}
	}
	cfg.Trigger = trig
	cfg.CutMin, cfg.CutMax, cfg.CutPrecision = c.Float64("min-cut"), c.Float64("max-cut"), c.Float64("cut-precision")
	if s := strings.TrimSpace(c.String("baseline-fractions")); s != "" {
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(v > 0 && v < 1) {
				return usageError("capacity: --baseline-fractions: %q is not a fraction in (0, 1) (expected e.g. 0.45,0.6)", f)
			}
			cfg.BaselineFractions = append(cfg.BaselineFractions, v)
		}
	}
	return nil
}

// cutTrigger is how capacity-drop probes cut the capacity: the given URLs, or the built-in
// target's control endpoints.
func cutTrigger(c *cli.Context) capacity.CutTrigger {
	if c.String("trigger-start") == "" {
		return capacity.BuiltinCutTrigger()
	}
	return capacity.CutTrigger{Start: c.String("trigger-start"), Stop: c.String("trigger-stop")}
}
