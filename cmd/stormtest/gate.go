package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/gate"
	"github.com/stormtest/stormtest/internal/atomicfile"
)

// gateFormats are the formats gate can print its outcome in.
var gateFormats = []string{formatText, formatJSON}

func gateCommand() *cli.Command {
	return &cli.Command{
		Name:      "gate",
		Usage:     "check a recorded run against thresholds (p99<500ms, error_rate<0.1%, verdict!=metastable); exit 1 if any fails",
		ArgsUsage: "RESULTS|DIR|GLOB...",
		Description: "Thresholds come from --threshold (repeatable) and from the profile's gate: list, recorded in\n" +
			"the results file; both are checked. Grammar: [phase:]metric OP value, OP one of < <= > >= == !=.\n" +
			"Metrics: p50 p90 p99 p999 max (latency from the intended start, with a unit: 300ms, 1.5s),\n" +
			"error_rate (failed/attempts: 0.001 or 0.1%), goodput_ratio (goodput/requests), amplification\n" +
			"(attempts/requests), goodput_rps, intended_rps, verdict (== or != stable|overloaded|metastable|down|\n" +
			"inconclusive). A run judged down or inconclusive fails every verdict threshold (except one naming\n" +
			"that verdict with ==) unless --allow-down / --allow-inconclusive is given.\n" +
			"Several files, a directory or a glob are merged as the shards of one run (as analyze does), so\n" +
			"stormtest gate DIR is the merge-and-gate step of a sharded run. Exit 0: all passed; 1: one failed;\n" +
			"2: bad input (a missing shard without --allow-partial, files of different runs).\n" +
			"Reference: docs/gate-and-compare.md\n\n" +
			"Example:\n" +
			"  stormtest gate --threshold 'p99<500ms' --threshold 'peak:error_rate<=1%' \\\n" +
			"    --threshold 'verdict!=metastable' --junit gate.xml run.st",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "threshold", Usage: "a threshold such as p99<500ms or peak:goodput_ratio>0.99 (repeatable; added to the profile's gate: list)"},
			&cli.BoolFlag{Name: "allow-down", Usage: "let verdict thresholds judge a run whose verdict is down (nothing served) like any other; by default every verdict threshold fails on it"},
			&cli.BoolFlag{Name: "allow-inconclusive", Usage: "let verdict thresholds judge a run whose verdict is inconclusive (too little evidence) like any other; by default every verdict threshold fails on it"},
			&cli.StringFlag{Name: "junit", Usage: "also write the results as a JUnit XML report to this file"},
			formatFlag("text (one line per threshold, then the outcome) or json (one object: pass, thresholds, verdict)"),
		}, analyzeFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError("gate: no results file given")
			}
			paths := c.Args().Slice()
			format, err := chooseFormat(c, gateFormats...)
			if err != nil {
				return err
			}
			opt, err := analyzeOptions(c)
			if err != nil {
				return err
			}
			rep, err := analyze.Merge(paths, opt, mergeOptions(c))
			if err != nil {
				return usageError("gate: %v", err)
			}
			ths, err := gate.Thresholds(rep.Profile, rep.Gate, c.StringSlice("threshold"))
			if err != nil {
				return usageError("gate: %v", err)
			}
			if err := gate.Validate(rep, ths); err != nil {
				return usageError("gate: %v", err)
			}
			res := gate.EvaluateAllowing(rep, ths, gate.Allow{Down: c.Bool("allow-down"), Inconclusive: c.Bool("allow-inconclusive")})
			if out := c.String("junit"); out != "" {
				if err := writeJUnit(out, "stormtest gate "+rep.Profile, res); err != nil {
					return usageError("gate: %v", err)
				}
			}
			err = render(c.App.Writer, format, renderers{
				formatText: func(w io.Writer) error { return gate.WriteText(w, rep, res) },
				formatJSON: func(w io.Writer) error { return gate.WriteJSON(w, rep, res) },
			})
			if err != nil {
				return cli.Exit(fmt.Sprintf("gate: %v", err), exitFail)
			}
			if failed := gate.Failed(res); failed > 0 {
				return cli.Exit(fmt.Sprintf("gate: %d of %d thresholds failed", failed, len(res)), exitFail)
			}
			return nil
		},
	}
}

// writeJUnit writes the report to path whole (atomicfile), so that CI never reads a truncated
// report as a complete one.
func writeJUnit(path, suite string, res []gate.Result) error {
	return atomicfile.Write(path, func(w io.Writer) error { return gate.WriteJUnit(w, suite, res) })
}
