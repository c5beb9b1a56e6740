package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/ownmetrics"
	"github.com/stormtest/stormtest/profiles"
)

// startMetrics starts the live metrics `attack` was asked for (--metrics-addr,
// --prometheus-remote-write), or returns nil when it was asked for none. A bad address, URL or
// label is bad input, before any load.
func startMetrics(c *cli.Context, prof *profiles.Profile, progress *attack.Progress) (*ownmetrics.Live, error) {
	addr, rw := c.String("metrics-addr"), c.String("prometheus-remote-write")
	if addr == "" && rw == "" {
		if c.IsSet("metrics-label") {
			return nil, usageError("--metrics-label needs --metrics-addr or --prometheus-remote-write")
		}
		return nil, nil
	}
	labels, err := ownmetrics.ParseLabels(c.StringSlice("metrics-label"))
	if err != nil {
		return nil, usageError("--metrics-label: %v", err)
	}
	if c.Duration("metrics-linger") < 0 {
		return nil, usageError("--metrics-linger must not be negative, got %s", c.Duration("metrics-linger"))
	}
	live, err := ownmetrics.Start(prof, progress, ownmetrics.Setup{
		Addr: addr, RemoteWrite: rw, Labels: labels, Linger: c.Duration("metrics-linger"),
		Warn: func(msg string) { fmt.Fprintf(c.App.ErrWriter, "\nwarning: %s\n", msg) },
	})
	if err != nil {
		// The error never quotes the remote-write URL's credentials.
		return nil, usageError("%v", err)
	}
	if live.Addr() != "" {
		fmt.Fprintf(c.App.ErrWriter, "live metrics on http://%s/metrics\n", live.Addr())
	}
	if rw != "" {
		fmt.Fprintf(c.App.ErrWriter, "pushing live metrics every second to %s\n", attack.RedactURL(rw, nil))
	}
	return live, nil
}

// finishMetrics publishes the run's final figures (the last push; /metrics until scraped once
// more) and says what did not get through.
func finishMetrics(c *cli.Context, live *ownmetrics.Live) {
	if live.Addr() != "" && c.Duration("metrics-linger") > 0 && c.Context.Err() == nil {
		fmt.Fprintf(c.App.ErrWriter, "keeping /metrics up until scraped once more (at most %s, --metrics-linger)\n", c.Duration("metrics-linger"))
	}
	out := live.Finish(c.Context, time.Now())
	if st := out.Push; st != nil && (st.Dropped > 0 || st.Unsent > 0) {
		fmt.Fprintf(c.App.ErrWriter, "warning: remote write: %d samples pushed, %d dropped, %d not sent (last error: %v); the results file has the whole run\n",
			st.Pushed, st.Dropped, st.Unsent, st.LastErr)
	}
}
