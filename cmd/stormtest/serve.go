package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/simservice"
)

func serveCommand() *cli.Command {
	def := simservice.DefaultConfig()
	return &cli.Command{
		Name:  "serve",
		Usage: "run the built-in target: a web service over a database pool that can fail metastably",
		Description: "A FIFO queue in front of a pool of database connections, each query taking --query-time.\n" +
			"Work for clients that already timed out is still done unless --cancel-abandoned.\n" +
			"Capacity is db-conns × capacity-fraction / query-time requests per second.\n\n" +
			"More ways to fail, each off by default and each driven by the mechanism, never by a clock:\n" +
			"  --contention          queries slow down as more run at once (query-time × (1 + c·n·(n−1)) with n\n" +
			"                        in use), so throughput peaks near n = 1/√c and falls past it\n" +
			"  --health-interval     a health checker probes the database through the same queue; after\n" +
			"                        --health-failures probes slower than --health-threshold in a row the\n" +
			"                        instance restarts: queue dropped (503), down for --restart-delay, then\n" +
			"                        --reconnect-work queries run ahead of traffic, loading the database again\n" +
			"  --cache-hit-ratio     a look-aside cache holding that share of --cache-keys keys (key= query\n" +
			"                        parameter, else drawn uniformly); misses fill it only if the read took\n" +
			"                        under --cache-fill-deadline; entries live --cache-ttl; cold at start\n" +
			"                        (unless --cache-warm) and after every restart\n" +
			"  --max-client-conns    connections beyond this many open ones are closed on accept, as a\n" +
			"                        database at max_connections turns new connections away\n" +
			"  --fault             misbehave on purpose in --fault-share of requests: reset, hang, slowloris,\n" +
			"                        huge-body (1 GiB), endless-body, garbage, close, lying-length, redirect-loop,\n" +
			"                        no-continue, goaway (HTTP/2 connections: h2c, or h2 with --tls-cert);\n" +
			"                        GET/PUT /control/fault at run time\n" +
			"  --tls-cert, --tls-key serve HTTPS with this certificate, HTTP/2 negotiated (ALPN) or HTTP/1.1\n" +
			"/healthz answers 503 while restarting or failing checks; /stats has every counter, /metrics the\n" +
			"same in the Prometheus format (simservice_*), for attack --scrape /metrics.\n\n" +
			"A fleet (--instances N ≥ 2): N app instances behind a round-robin balancer share one database\n" +
			"that runs db-conns × capacity-fraction queries or connection set-ups at once. Each instance\n" +
			"keeps --pool-size connections, counted against --db-max-conns; a connection attempt costs\n" +
			"--connect-time of database work (also when rejected at the limit). With --health-interval,\n" +
			"an orchestrator replaces an instance that fails --health-failures checks in a row: the new one\n" +
			"starts --restart-delay later and opens its own pool; the old one's connections stay open for\n" +
			"--conn-release-delay. --health-check process makes checks ignore the database.\n\n" +
			"Control (JSON, POST): /control/capacity {\"fraction\":0.2}, /control/db {\"refuse_connections\":true,\n" +
			"\"drop_connections\":true} (fleet), /control/latency {\"add\":\"200ms\"}, /control/restore; GET /control.\n\n" +
			"Example (the first outage: half the database pool applied):\n" +
			"  stormtest serve --addr 127.0.0.1:8080 --db-conns 16 --capacity-fraction 0.5 --query-time 20ms\n\n" +
			"Example (the second outage: health checks restarting instances against a strained database):\n" +
			"  stormtest serve --capacity-fraction 0.5 --health-interval 500ms --health-threshold 250ms \\\n" +
			"    --health-failures 3 --restart-delay 2s --reconnect-work 32\n\n" +
			"Example (the second outage as it happened: a fleet over one database with a connection limit):\n" +
			"  stormtest serve --instances 4 --pool-size 8 --db-conns 16 --db-max-conns 40 --connect-time 100ms \\\n" +
			"    --conn-release-delay 15s --health-interval 500ms --health-threshold 250ms --restart-delay 1s",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate (PEM; with --tls-key): HTTP/2 by ALPN, else HTTP/1.1"},
			&cli.StringFlag{Name: "tls-key", Usage: "the private key of --tls-cert (PEM)"},
			&cli.IntFlag{Name: "db-conns", Value: def.DBConns, Usage: "database connections provisioned"},
			&cli.Float64Flag{Name: "capacity-fraction", Value: def.CapacityFraction, Usage: "fraction of the pool actually applied, in (0,1]"},
			&cli.DurationFlag{Name: "query-time", Value: def.QueryTime, Usage: "time one query holds a connection"},
			&cli.Float64Flag{Name: "query-jitter", Value: def.QueryJitter, Usage: "relative spread of the query time, in [0,1)"},
			&cli.BoolFlag{Name: "cancel-abandoned", Usage: "drop the work of clients that went away instead of finishing it"},
			&cli.IntFlag{Name: "queue-limit", Usage: "shed with 503 when this many requests wait (0: unlimited)"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the query-time jitter and the cache's key draws"},

			&cli.Float64Flag{Name: "contention", Value: def.Contention, Usage: "contention factor c ≥ 0: a query starting with n connections in use takes query-time × (1 + c·n·(n−1)) (0: none)"},

			&cli.DurationFlag{Name: "health-interval", Value: def.HealthInterval, Usage: "run a health probe through the pool this long after the previous one (0: no health checks, no restarts)"},
			// The threshold and failure count matter only with --health-interval; their flag
			// defaults are a typical readiness check, so that --health-interval alone works.
			&cli.DurationFlag{Name: "health-threshold", Value: 250 * time.Millisecond, Usage: "a probe slower than this (queue wait + query) fails; > 0 with --health-interval"},
			&cli.IntFlag{Name: "health-failures", Value: 3, Usage: "consecutive failed probes that restart the instance; ≥ 1 with --health-interval"},
			&cli.DurationFlag{Name: "restart-delay", Value: def.RestartDelay, Usage: "how long a restarting instance answers 503 after dropping its queue"},
			&cli.IntFlag{Name: "reconnect-work", Value: def.ReconnectWork, Usage: "queries a restarted instance runs on the pool, ahead of traffic, as it comes back"},

			&cli.Float64Flag{Name: "cache-hit-ratio", Value: def.CacheHitRatio, Usage: "look-aside cache sized to hold this share of the keyspace, in [0,1] (0: no cache)"},
			&cli.IntFlag{Name: "cache-keys", Value: def.CacheKeys, Usage: "keyspace that requests without a key= parameter draw from uniformly"},
			&cli.DurationFlag{Name: "cache-ttl", Value: def.CacheTTL, Usage: "how long a cache entry stays valid (0: forever)"},
			&cli.DurationFlag{Name: "cache-fill-deadline", Value: def.CacheFillDeadline, Usage: "cache a miss only if its read (queue wait + query) took at most this (0: always)"},
			&cli.BoolFlag{Name: "cache-warm", Usage: "start with the cache full instead of cold"},

			&cli.IntFlag{Name: "max-client-conns", Value: def.MaxClientConns, Usage: "close new client connections on accept beyond this many open ones (0: unlimited)"},

			&cli.StringFlag{Name: "fault", Usage: "misbehave on purpose: a comma-separated list of " + faultList() + ", or all (see --fault-share; change at run time with PUT /control/fault)"},
			&cli.Float64Flag{Name: "fault-share", Value: 0.1, Usage: "fraction of requests, in [0,1], answered by one of the --fault faults (for goaway: of HTTP/2 connections)"},
			&cli.IntFlag{Name: "instances", Value: def.Instances, Usage: "app instances behind a built-in balancer sharing one database (0 or 1: the single instance)"},
			&cli.IntFlag{Name: "pool-size", Value: def.InstancePool, Usage: "fleet: database connections each instance keeps (0: db-conns × capacity-fraction divided among the instances)"},
			&cli.IntFlag{Name: "db-max-conns", Value: def.DBMaxConns, Usage: "fleet: the database's connection limit over every instance, lingering connections included (0: none)"},
			&cli.DurationFlag{Name: "connect-time", Value: def.ConnectTime, Usage: "fleet: database work one connection attempt costs (authentication, session set-up), on the same slots as queries"},
			&cli.DurationFlag{Name: "conn-release-delay", Value: def.ConnReleaseDelay, Usage: "fleet: how long a removed instance's connections stay open at the database"},
			&cli.StringFlag{Name: "health-check", Value: simservice.HealthCheckDB, Usage: "what a health check tests: db (a query through the instance's pool) or process (the process only)"},
		},
		Action: func(c *cli.Context) error {
			cfg := simservice.Config{
				DBConns:           c.Int("db-conns"),
				CapacityFraction:  c.Float64("capacity-fraction"),
				QueryTime:         c.Duration("query-time"),
				QueryJitter:       c.Float64("query-jitter"),
				CancelAbandoned:   c.Bool("cancel-abandoned"),
				QueueLimit:        c.Int("queue-limit"),
				Seed:              c.Uint64("seed"),
				Contention:        c.Float64("contention"),
				HealthInterval:    c.Duration("health-interval"),
				HealthThreshold:   c.Duration("health-threshold"),
				HealthFailures:    c.Int("health-failures"),
				RestartDelay:      c.Duration("restart-delay"),
				ReconnectWork:     c.Int("reconnect-work"),
				CacheHitRatio:     c.Float64("cache-hit-ratio"),
				CacheKeys:         c.Int("cache-keys"),
				CacheTTL:          c.Duration("cache-ttl"),
				CacheFillDeadline: c.Duration("cache-fill-deadline"),
				CacheWarm:         c.Bool("cache-warm"),
				MaxClientConns:    c.Int("max-client-conns"),
				Instances:         c.Int("instances"),
				InstancePool:      c.Int("pool-size"),
				DBMaxConns:        c.Int("db-max-conns"),
				ConnectTime:       c.Duration("connect-time"),
				ConnReleaseDelay:  c.Duration("conn-release-delay"),
				HealthCheck:       c.String("health-check"),
			}
			if err := cfg.Validate(); err != nil {
				return usageError("%v", err)
			}
			faults, err := faultSpec(c)
			if err != nil {
				return usageError("%v", err)
			}
			tlsConfig, err := serveTLS(c.String("tls-cert"), c.String("tls-key"))
			if err != nil {
				return usageError("%v", err)
			}
			var running *simservice.Running
			if tlsConfig != nil {
				running, err = simservice.StartTLS(c.Context, c.String("addr"), cfg, tlsConfig)
			} else {
				running, err = simservice.Start(c.Context, c.String("addr"), cfg)
			}
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			if err := running.Server.SetFaults(faults); err != nil { // validated above
				_ = running.Stop()
				return cli.Exit(err.Error(), exitFail)
			}
			if len(faults.Kinds) > 0 {
				fmt.Fprintf(c.App.Writer, "injecting faults into %.3g of requests: %s\n", faults.Share, c.String("fault"))
			}
			if cfg.Fleet() {
				fmt.Fprintf(c.App.Writer, "serving on %s: %d instances of %d connections each, database of %d of %d slots (limit %d connections), query %s, capacity %.0f req/s (stats at %s/stats, control at %s/control); Ctrl-C stops\n",
					running.URL, cfg.Instances, cfg.InstancePoolSize(), cfg.PoolSize(), cfg.DBConns, cfg.DBMaxConns, cfg.QueryTime, cfg.Capacity(), running.URL, running.URL)
			} else {
				fmt.Fprintf(c.App.Writer, "serving on %s: pool %d of %d connections, query %s, capacity %.0f req/s (stats at %s/stats, control at %s/control); Ctrl-C stops\n",
					running.URL, cfg.PoolSize(), cfg.DBConns, cfg.QueryTime, cfg.Capacity(), running.URL, running.URL)
			}
			<-c.Context.Done()
			return running.Stop()
		},
	}
}

// serveTLS reads --tls-cert and --tls-key: nil without them, an error naming the flag when
// only one is given or the pair does not load.
func serveTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "":
		return nil, errors.New("--tls-key without --tls-cert (give both, PEM files)")
	case keyFile == "":
		return nil, errors.New("--tls-cert without --tls-key (give both, PEM files)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// faultSpec reads --fault and --fault-share. Without --fault no fault is injected, whatever
// the share.
func faultSpec(c *cli.Context) (simservice.FaultSpec, error) {
	kinds, err := simservice.ParseFaults(c.String("fault"))
	if err != nil {
		return simservice.FaultSpec{}, fmt.Errorf("--fault: %w", err)
	}
	spec := simservice.FaultSpec{Kinds: kinds, Share: c.Float64("fault-share")}
	if len(kinds) == 0 {
		if c.IsSet("fault-share") {
			return spec, errors.New("--fault-share without --fault (name the faults, e.g. --fault reset,hang)")
		}
		spec.Share = 0
	}
	if err := spec.Validate(); err != nil {
		return spec, fmt.Errorf("--fault-share: %w", err)
	}
	return spec, nil
}

func faultList() string {
	var names []string
	for _, f := range simservice.AllFaults() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}
