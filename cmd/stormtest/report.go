package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/internal/atomicfile"
	"github.com/stormtest/stormtest/report"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write a self-contained HTML report (verdict and charts) of one run, or of two runs compared",
		ArgsUsage: "RESULTS...",
		Description: "One results file is one run. Two files are two runs compared: the first (before) dashed,\n" +
			"the second (after) solid; a directory or a quoted glob is one run of several shards. With --merge,\n" +
			"all arguments are shards of one run, as analyze takes them.\n" +
			"The page needs no network: charts are inline SVG.\n\n" +
			"Example:\n" +
			"  stormtest report -o report.html run.st\n" +
			"  stormtest report -o compare.html before.st after.st\n" +
			"  stormtest report --merge -o run.html shard0.st shard1.st\n" +
			"  stormtest report -o run.html results/",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "o", Aliases: []string{"out"}, Value: "report.html", Usage: "HTML file to write (- for standard output)"},
			&cli.BoolFlag{Name: "merge", Usage: "merge all files as shards of one run instead of comparing runs"},
		}, analyzeFlags()...),
		Action: func(c *cli.Context) error {
			paths := c.Args().Slice()
			switch {
			case len(paths) == 0:
				return usageError("report: no results file given")
			case len(paths) > 2 && !c.Bool("merge"):
				return usageError("report: %d results files: give one run, two to compare, or --merge to merge shards of one run", len(paths))
			}
			groups := [][]string{paths}
			if !c.Bool("merge") && len(paths) == 2 {
				groups = [][]string{paths[:1], paths[1:]}
			}
			opt, err := analyzeOptions(c)
			if err != nil {
				return err
			}
			reps := make([]*analyze.Report, 0, len(groups))
			titles := make([]string, 0, len(groups))
			for i, g := range groups {
				rep, err := analyze.Merge(g, opt, mergeOptions(c))
				if err != nil {
					return usageError("%v", err)
				}
				reps = append(reps, rep)
				title := filepath.Base(g[0])
				for _, p := range g[1:min(len(g), 3)] {
					title += " + " + filepath.Base(p)
				}
				if len(g) > 3 {
					title += fmt.Sprintf(" + %d more shards", len(g)-3)
				}
				if len(groups) == 2 {
					title = [2]string{"before", "after"}[i] + ": " + title
				}
				titles = append(titles, title)
			}
			return writeReport(c, c.String("o"), reps, titles)
		},
	}
}

// writeReport writes the page to out whole (atomicfile), so a failed write never leaves a half
// page where a previous report was.
func writeReport(c *cli.Context, out string, reps []*analyze.Report, titles []string) error {
	if out == "-" {
		w := bufio.NewWriter(c.App.Writer)
		if err := report.Write(w, reps, titles); err != nil {
			return cli.Exit(err.Error(), exitFail)
		}
		if err := w.Flush(); err != nil {
			return cli.Exit(err.Error(), exitFail)
		}
		return nil
	}
	err := atomicfile.Write(out, func(w io.Writer) error { return report.Write(w, reps, titles) })
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "open" {
		return usageError("report: %v", err)
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("report: writing %s: %v", out, err), exitFail)
	}
	fmt.Fprintf(c.App.ErrWriter, "report written to %s\n", out)
	return nil
}
