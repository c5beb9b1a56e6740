package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/target"
)

func serveCommand() *cli.Command {
	def := target.DefaultConfig()
	return &cli.Command{
		Name:  "serve",
		Usage: "run the built-in target: a web service over a database pool that can fail metastably",
		Description: "A FIFO queue in front of a pool of database connections, each query taking --query-time.\n" +
			"Work for clients that already timed out is still done unless --cancel-abandoned.\n" +
			"Capacity is db-conns × capacity-fraction / query-time requests per second.\n\n" +
			"Example (the first outage: half the database pool applied):\n" +
			"  stormtest serve --addr 127.0.0.1:8080 --db-conns 16 --capacity-fraction 0.5 --query-time 20ms",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.IntFlag{Name: "db-conns", Value: def.DBConns, Usage: "database connections provisioned"},
			&cli.Float64Flag{Name: "capacity-fraction", Value: def.CapacityFraction, Usage: "fraction of the pool actually applied, in (0,1]"},
			&cli.DurationFlag{Name: "query-time", Value: def.QueryTime, Usage: "time one query holds a connection"},
			&cli.Float64Flag{Name: "query-jitter", Value: def.QueryJitter, Usage: "relative spread of the query time, in [0,1)"},
			&cli.BoolFlag{Name: "cancel-abandoned", Usage: "drop the work of clients that went away instead of finishing it"},
			&cli.IntFlag{Name: "queue-limit", Usage: "shed with 503 when this many requests wait (0: unlimited)"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the query-time jitter"},
		},
		Action: func(c *cli.Context) error {
			cfg := target.Config{
				DBConns:          c.Int("db-conns"),
				CapacityFraction: c.Float64("capacity-fraction"),
				QueryTime:        c.Duration("query-time"),
				QueryJitter:      c.Float64("query-jitter"),
				CancelAbandoned:  c.Bool("cancel-abandoned"),
				QueueLimit:       c.Int("queue-limit"),
				Seed:             c.Uint64("seed"),
			}
			if err := cfg.Validate(); err != nil {
				return usageError("%v", err)
			}
			running, err := target.Start(c.Context, c.String("addr"), cfg)
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			fmt.Fprintf(c.App.Writer, "serving on %s: pool %d of %d connections, query %s, capacity %.0f req/s (stats at %s/stats); Ctrl-C stops\n",
				running.URL, cfg.PoolSize(), cfg.DBConns, cfg.QueryTime, cfg.Capacity(), running.URL)
			<-c.Context.Done()
			return running.Stop()
		},
	}
}
