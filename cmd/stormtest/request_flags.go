package main

import (
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/internal/secret"
	"github.com/stormtest/stormtest/profiles"
)

// headerList collects -H/--header values whole. cli.StringSliceFlag would split them at
// commas, and "Accept: text/html, application/json" is one header.
type headerList struct{ lines []string }

// Set appends a header. cli copies a flag's value between its names (header, H) by setting
// it to its own String(), which must then change nothing.
func (h *headerList) Set(v string) error {
	if len(h.lines) > 0 && v == h.String() {
		return nil
	}
	h.lines = append(h.lines, v)
	return nil
}

// String never shows the values: cli prints a flag's value in help and errors, and a header
// may hold a token.
func (h *headerList) String() string {
	if h == nil || len(h.lines) == 0 {
		return ""
	}
	return strings.Repeat("[header] ", len(h.lines))
}

// requestFlags are the credential and header flags of attack and capacity.
func requestFlags() []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "header", Aliases: []string{"H"}, Value: &headerList{},
			Usage: "`'Name: value'` header sent with every request, added to the profile's (repeatable; wins over the profile's header of the same name; ${NAME} is read from the environment and never written down)"},
		&cli.StringSliceFlag{Name: "redact", Usage: "header `NAME` whose value is a secret, written as [redacted] (repeatable; Authorization, Proxy-Authorization, Cookie and any value from ${VAR} always are)"},
	}
}

// withRequestFlags applies -H to prof and returns the secret rules of --redact and
// --redact-query. Every ${NAME} of the profile and the flags must be set in the environment.
func withRequestFlags(c *cli.Context, prof *profiles.Profile) (secret.Rules, error) {
	rules := secret.Rules{Headers: c.StringSlice("redact"), Query: c.StringSlice("redact-query")}
	if h, ok := c.Generic("header").(*headerList); ok && len(h.lines) > 0 {
		if err := prof.AddHeaders(h.lines); err != nil {
			return rules, usageError("%v", err)
		}
		// Named as the flag the user typed rather than as request.headers.
		for _, line := range h.lines {
			name, value, _ := strings.Cut(line, ":")
			if _, err := envvar.Expand(value, os.LookupEnv); err != nil {
				return rules, usageError("--header %q: %v", strings.TrimSpace(name), err)
			}
		}
	}
	if err := prof.CheckEnv(os.LookupEnv); err != nil {
		return rules, usageError("%v", err)
	}
	if _, err := envvar.Expand(c.String("target"), os.LookupEnv); err != nil {
		return rules, usageError("--target: %v", err)
	}
	return rules, nil
}

// scrubWriter passes what is written through a Scrubber, so that progress lines and logs
// cannot carry a secret. Each Write is scrubbed whole; stormtest writes whole lines.
type scrubWriter struct {
	w  io.Writer
	sc *secret.Scrubber
}

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, s.sc.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
