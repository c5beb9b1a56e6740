package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/export"
	"github.com/stormtest/stormtest/hlog"
)

func exportCommand() *cli.Command {
	names := make([]string, 0, len(export.Formats()))
	for _, f := range export.Formats() {
		names = append(names, string(f))
	}
	return &cli.Command{
		Name:      "export",
		Usage:     "convert a results file for other tools: vegeta's JSON or CSV results, or plain CSV",
		ArgsUsage: "RESULTS|DIR|GLOB...",
		Description: "vegeta-json and vegeta-csv are vegeta's own result encodings, so vegeta report and vegeta\n" +
			"plot read them. Each attempt's timestamp is its intended start and its latency runs from\n" +
			"there (not from the actual send), so a generator that fell behind cannot hide queueing.\n" +
			"csv has one row per attempt with every field stormtest records, and a header row.\n" +
			"A damaged file is exported up to the damage, with a warning. Several files, a directory or a glob\n" +
			"are the shards of one run, merged in end-time order as analyze merges them.\n\n" +
			"Example:\n" +
			"  stormtest export --format vegeta-json run.st | vegeta report\n" +
			"  stormtest export --format vegeta-json --out run.json run.st && vegeta plot run.json > plot.html\n" +
			"  stormtest export --format csv --out run.csv run.st",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: string(export.VegetaJSON), Usage: strings.Join(names, ", ")},
			&cli.StringFlag{Name: "out", Usage: "file to write (default: standard output)"},
		}, mergeFlags()...),
		Action: func(c *cli.Context) error {
			f, err := export.ParseFormat(c.String("format"))
			if err != nil {
				return usageError("export: %v", err)
			}
			r, err := openRun(c, "export")
			if err != nil {
				return err
			}
			defer r.Close()
			var st export.Stats
			err = writeOutput(c, c.String("out"), func(w io.Writer) error {
				st, err = export.Write(w, r, f)
				return err
			})
			if err != nil {
				return err
			}
			if c.String("out") != "" {
				fmt.Fprintf(c.App.ErrWriter, "exported %d attempts as %s to %s\n", st.Records, f, c.String("out"))
			}
			return nil
		},
	}
}

func hlogCommand() *cli.Command {
	return &cli.Command{
		Name:      "hlog",
		Usage:     "write a results file as an HdrHistogram interval log (.hlog)",
		ArgsUsage: "RESULTS|DIR|GLOB...",
		Description: "One latency histogram per interval for the whole run, plus one per profile phase tagged\n" +
			"Tag=<phase>, in the format HdrHistogram's HistogramLogProcessor, hdr-histogram-js and\n" +
			"HdrHistogram plotters read. Latency runs from each attempt's intended start, recorded in\n" +
			"microseconds (1 µs to 1 h, 3 significant digits); Interval_Max is in milliseconds.\n" +
			"A damaged file is logged up to the damage, with a warning. Several files, a directory or a glob\n" +
			"are the shards of one run, merged exactly (histograms of all shards in each interval).\n\n" +
			"Example:\n" +
			"  stormtest hlog --interval 1s --out run.hlog run.st",
		Flags: append([]cli.Flag{
			&cli.DurationFlag{Name: "interval", Value: time.Second, Usage: "length of one interval (at least 1ms)"},
			&cli.StringFlag{Name: "out", Usage: "the .hlog file to write (required)", Required: true},
		}, mergeFlags()...),
		Action: func(c *cli.Context) error {
			interval := c.Duration("interval")
			if interval < time.Millisecond {
				return usageError("hlog: --interval %s is shorter than the log's 1ms resolution", interval)
			}
			r, err := openRun(c, "hlog")
			if err != nil {
				return err
			}
			defer r.Close()
			err = writeOutput(c, c.String("out"), func(w io.Writer) error { return hlog.Write(w, r, interval) })
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", c.String("out"))
			return nil
		},
	}
}

// openRun opens the run a command reads, merged from its arguments (analyze.Open); any problem
// with them is bad input. The merge's remarks (an ignored duplicate, a missing shard) go to
// stderr, as the output itself is another tool's format.
func openRun(c *cli.Context, cmd string) (*analyze.Run, error) {
	if c.NArg() == 0 {
		return nil, usageError("%s: no results file given", cmd)
	}
	run, err := analyze.Open(c.Args().Slice(), mergeOptions(c))
	if err != nil {
		return nil, usageError("%s: %v", cmd, err)
	}
	for _, w := range run.Warnings() {
		fmt.Fprintf(c.App.ErrWriter, "%s: warning: %s\n", cmd, w)
	}
	return run, nil
}
