package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/hlog"
)

func analyzeFlags() []cli.Flag {
	def := analyze.DefaultOptions()
	return append([]cli.Flag{
		&cli.DurationFlag{Name: "window", Value: def.Window, Usage: "width of a time window"},
		&cli.Float64Flag{Name: "tolerance", Value: def.Tolerance, Usage: "fraction of intended load goodput may miss and still be healthy"},
		&cli.IntFlag{Name: "min-count", Value: def.MinCount, Usage: "requests a health judgement needs (windows are widened to get them)"},
		&cli.IntFlag{Name: "sustain", Value: def.Sustain, Usage: "consecutive judgements that make an onset or a recovery"},
		&cli.DurationFlag{Name: "grace", Value: def.Grace, Usage: "how long after the trigger a failure must last to be metastable (0: max(10s, 5 × client timeout))"},
		&cli.Float64Flag{Name: "band", Value: def.Band, Usage: "how close two first-attempt rates must be (fraction) to count as the same load in the hysteresis check"},
		&cli.Float64Flag{Name: "capacity", Usage: "the target's known capacity in requests/s, for the vulnerable note (0: estimate from the run)"},
	}, mergeFlags()...)
}

// mergeFlags say how the files, directories or globs a command is given are merged into one
// run (analyze.Open): every command that reads a run takes them.
func mergeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "allow-partial", Usage: "analyse a sharded run with shards missing (the analysis says what share of the load it covers); without it a missing shard is an error"},
		&cli.DurationFlag{Name: "max-skew", Value: analyze.DefaultMaxSkew, Usage: "how far apart the shards' t=0 may be on the target's clock (measured from its Date header) before the merge is refused (0: no bound)"},
	}
}

func mergeOptions(c *cli.Context) analyze.MergeOptions {
	m := analyze.MergeOptions{AllowPartial: c.Bool("allow-partial"), MaxSkew: c.Duration("max-skew")}
	if m.MaxSkew == 0 {
		m.MaxSkew = -1 // --max-skew 0 asks for no bound; the package's 0 means its default
	}
	return m
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
		ArgsUsage: "FILE|DIR|GLOB...",
		Description: "Several files, a directory or a glob are merged as the shards of one run (one per generator:\n" +
			"attack --shard I/N), exactly: missing shards are an error unless --allow-partial, a shard present\n" +
			"twice keeps its complete copy, files of different runs are refused.\n\n" +
			"Example:\n" +
			"  stormtest analyze run.st\n" +
			"  stormtest analyze results/            # every shard of a run\n" +
			"  stormtest analyze --json run.st | jq .verdict",
		Flags: append([]cli.Flag{
			jsonAliasFlag("print one JSON object (schema in the README)"),
			formatFlag("text (coloured on a terminal), json or markdown (for a pull request or a ticket)"),
			&cli.StringFlag{Name: "hlog", Usage: "also write an HdrHistogram interval log (1 s intervals, tagged per phase) to this file"},
		}, analyzeFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError("analyze: no results file given")
			}
			format, err := chooseFormat(c, formatText, formatJSON, formatMarkdown)
			if err != nil {
				return err
			}
			opt, err := analyzeOptions(c)
			if err != nil {
				return err
			}
			rep, err := analyze.Merge(c.Args().Slice(), opt, mergeOptions(c))
			if err != nil {
				return usageError("%v", err)
			}
			if out := c.String("hlog"); out != "" {
				run, err := analyze.Open(c.Args().Slice(), mergeOptions(c))
				if err != nil {
					return usageError("%v", err)
				}
				err = writeOutput(c, out, func(w io.Writer) error { return hlog.Write(w, run, c.Duration("window")) })
				run.Close()
				if err != nil {
					return err
				}
			}
			// analyze.Format names the same three formats.
			return rep.Write(c.App.Writer, analyze.Format(format), isTerminal(c.App.Writer))
		},
	}
}
