package main

import (
	"io"
	"math"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/stormtest/stormtest/profiles"
)

// loadScaled loads a profile and applies --rate-scale and --time-scale, so one file serves a
// staging run, a CI gate and a capacity test.
func loadScaled(c *cli.Context, nameOrPath string) (*profiles.Profile, error) {
	p, err := profiles.LoadEnv(nameOrPath, os.LookupEnv)
	if err != nil {
		return nil, usageError("%v", err)
	}
	rate, dur := c.Float64("rate-scale"), c.Float64("time-scale")
	if !(rate > 0) || !(dur > 0) || math.IsInf(rate, 0) || math.IsInf(dur, 0) {
		return nil, usageError("--rate-scale and --time-scale must be positive and finite, got %g and %g", rate, dur)
	}
	if rate == 1 && dur == 1 {
		return p, nil
	}
	scaled := p.Scaled(rate, dur)
	if err := scaled.Validate(); err != nil {
		return nil, usageError("%s scaled by rate %g, time %g: %v", p.Name, rate, dur, err)
	}
	return scaled, nil
}

// isTerminal reports whether w is a terminal: colour and redrawn progress only go there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
