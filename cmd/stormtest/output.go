package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/internal/atomicfile"
	"github.com/stormtest/stormtest/results"
)

// writeOutput runs write on the file at out (standard output when out is empty), written
// whole through atomicfile. Damage in the results file leaves the output as written, with a
// warning: it holds everything that was readable. Any other failure leaves no partly written
// file, so that a truncated export is not mistaken for a complete one.
func writeOutput(c *cli.Context, out string, write func(io.Writer) error) error {
	var damage error
	keepDamaged := func(w io.Writer) error {
		err := write(w)
		var de *results.DamageError
		if errors.As(err, &de) {
			damage = err
			return nil
		}
		return err
	}
	var err error
	if out == "" {
		err = keepDamaged(c.App.Writer)
	} else {
		err = atomicfile.Write(out, keepDamaged)
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Op == "open" && pe.Path == out {
			// out cannot be created: bad input, found before anything was written.
			return usageError("%v", err)
		}
	}
	if err != nil {
		return cli.Exit(err.Error(), exitFail)
	}
	if damage != nil {
		fmt.Fprintf(c.App.ErrWriter, "stormtest: warning: %v\n", damage)
	}
	return nil
}
