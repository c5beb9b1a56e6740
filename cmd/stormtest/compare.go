package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/compare"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare two runs of one profile (before and after a change); exit 1 if measured capacity regressed",
		ArgsUsage: "BEFORE AFTER (each a results file, a directory of shards or a quoted glob)",
		Description: "Per phase and for the whole run: goodput, p50/p99/p999 and error rate before and after, with\n" +
			"deltas, the verdicts, and the measured capacity: the best mean goodput over 3 consecutive\n" +
			"windows whose p99 is each within the profile's SLO. A capacity loss of more than\n" +
			"--fail-on-regression percent is a regression (exit 1), whatever the verdicts. Runs of\n" +
			"different profiles are refused (exit 2). BEFORE and AFTER may each be a directory or a quoted glob\n" +
			"of one sharded run's files. Reference: docs/gate-and-compare.md\n\n" +
			"Example:\n" +
			"  stormtest compare before.st after.st\n" +
			"  stormtest compare --fail-on-regression 5 --format markdown before.st after.st > ticket.md",
		Flags: append([]cli.Flag{
			&cli.Float64Flag{Name: "fail-on-regression", Value: compare.DefaultFailOnRegression, Usage: "capacity loss, in percent of before's, beyond which the comparison fails"},
			formatFlag("text, json or markdown (for a ticket)"),
		}, analyzeFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("compare: give two results files, BEFORE and AFTER (got %d arguments)", c.NArg())
			}
			format, err := chooseFormat(c, formatText, formatJSON, formatMarkdown)
			if err != nil {
				return err
			}
			opt, err := analyzeOptions(c)
			if err != nil {
				return err
			}
			var runs [2]compare.Run
			for i, path := range c.Args().Slice() {
				rep, err := analyze.Merge([]string{path}, opt, mergeOptions(c))
				if err != nil {
					return usageError("compare: %v", err)
				}
				runs[i] = compare.Run{Label: path, Report: rep}
			}
			cmp, err := compare.Compare(runs[0], runs[1], compare.Options{FailOnRegression: c.Float64("fail-on-regression")})
			if err != nil {
				return usageError("%v", err)
			}
			err = render(c.App.Writer, format, renderers{
				formatText:     cmp.WriteText,
				formatJSON:     cmp.WriteJSON,
				formatMarkdown: cmp.WriteMarkdown,
			})
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			if cmp.Regression {
				return cli.Exit(fmt.Sprintf("compare: %s", cmp.Summary), exitFail)
			}
			return nil
		},
	}
}
