package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/internal/heapfloor"
)

// heapFloorFlag is how attack and capacity set the garbage collector's floor while they send
// (internal/heapfloor says why).
func heapFloorFlag() cli.Flag {
	return &cli.IntFlag{Name: "heap-floor-mib", Value: heapfloor.DefaultMiB,
		Usage: "let the heap grow to `N` MiB before the garbage collector runs, so that collections, which stalled the pacer, come seconds apart rather than several a second (0: Go's default; GOGC or GOMEMLIMIT in the environment take precedence)"}
}

// startHeapFloor starts the floor --heap-floor-mib asks for and returns what stops it. It
// starts none when the environment sets GOGC or GOMEMLIMIT: the user tuned the collector
// already, and is told so when the flag asked for a floor too.
func startHeapFloor(c *cli.Context) (stop func(), err error) {
	mib := c.Int("heap-floor-mib")
	if mib < 0 || mib > heapfloor.MaxMiB {
		return nil, usageError("--heap-floor-mib %d: must be between 0 (Go's default collector) and %d", mib, heapfloor.MaxMiB)
	}
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		if _, ok := os.LookupEnv(name); ok {
			if c.IsSet("heap-floor-mib") && mib > 0 {
				fmt.Fprintf(c.App.ErrWriter, "stormtest: --heap-floor-mib %d not applied: %s is set in the environment and decides the garbage collector\n", mib, name)
			}
			return func() {}, nil
		}
	}
	f := heapfloor.Start(uint64(mib) << 20)
	return f.Stop, nil
}
