package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Every command that prints a result (analyze, compare, capacity, gate) takes --format and
// renders through the same two steps: chooseFormat when the command starts, so a format it
// cannot render is bad input (exit 2, one line) before any work, and render at the end.

// Output formats. A command renders the subset it lists in its renderers.
const (
	formatText     = "text"
	formatJSON     = "json"
	formatMarkdown = "markdown"
)

// renderers maps each format a command can render to the function that prints its result.
type renderers map[string]func(io.Writer) error

// formatFlag is the --format flag; usage names the formats the command renders.
func formatFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "format", Value: formatText, Usage: usage}
}

// jsonAliasFlag is the older --json flag of analyze and capacity, kept as --format json.
func jsonAliasFlag(usage string) cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: usage + "; the same as --format json"}
}

// chooseFormat reads --format, or json when the command's --json alias is set, and checks
// that the command can render it: formats lists the ones it can.
func chooseFormat(c *cli.Context, formats ...string) (string, error) {
	format := c.String("format")
	if !slices.Contains(formats, format) {
		return "", usageError("%s: --format %q: expected %s", c.Command.Name, format, orList(formats))
	}
	if c.Bool("json") {
		format = formatJSON
	}
	return format, nil
}

// render prints the result in format, which chooseFormat returned for the same formats.
func render(w io.Writer, format string, r renderers) error {
	write, ok := r[format]
	if !ok {
		// chooseFormat was given other formats than r has: a bug, not bad input.
		return fmt.Errorf("no renderer for --format %s", format)
	}
	return write(w)
}

// orList is "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
