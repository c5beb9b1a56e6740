package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/scenarios"
	"github.com/stormtest/stormtest/simservice"
)

// Incidents the demo reproduces.
const (
	// IncidentFlow is the first outage: half a database pool, a Monday peak, retries (Run).
	IncidentFlow = "flow"
	// IncidentTray is the second: a database that refused new connections for a while and a
	// fleet whose health checks replaced its instances in a loop (RunTray).
	IncidentTray = "tray"
)

// Incidents lists the incident names the demo knows.
func Incidents() []string { return []string{IncidentFlow, IncidentTray} }

// TrayTargetConfig is the fleet of the second outage: four app instances of 8 connections
// each behind a balancer, over one database that runs 4 queries (or connection set-ups) at
// once, 10 ms a query (400 requests/s), with room for 36 connections. A connection costs
// 200 ms of database work (authentication, session set-up). Health checks run a query
// through each instance's pool every 400 ms and fail past 250 ms; three failures in a row
// and the orchestrator replaces the instance 1 s later, while the old one's connections stay
// open at the database for 20 s, until its keep-alive notices.
//
// At the demo's 120 requests/s the fleet is healthy: every pool full, the database 30 % busy.
// Nothing in it refers to time except as those mechanisms do.
func TrayTargetConfig() simservice.Config {
	cfg := simservice.DefaultConfig()
	cfg.DBConns, cfg.QueryTime = 4, 10*time.Millisecond
	cfg.Instances, cfg.InstancePool, cfg.DBMaxConns = 4, 8, 36
	cfg.ConnectTime, cfg.ConnReleaseDelay = 200*time.Millisecond, 20*time.Second
	cfg.HealthInterval, cfg.HealthThreshold, cfg.HealthFailures = 400*time.Millisecond, 250*time.Millisecond, 3
	cfg.RestartDelay = time.Second
	cfg.HealthCheck = simservice.HealthCheckDB
	return cfg
}

// TrayOutcome is one run of the second outage's demo, with the target's view as the
// database came back.
type TrayOutcome struct {
	scenarios.Outcome
	// AtBack is the target's view as the trigger's window ended (the database accepting
	// connections again); Target (in Outcome) is its view as the load ended.
	AtBack simservice.Stats
	// BackSeconds is when the trigger's window ended.
	BackSeconds float64
}

// ReplacementsAfterBack is how many instances the orchestrator replaced after the database
// was back: none for a fleet that recovered.
func (o TrayOutcome) ReplacementsAfterBack() uint64 { return o.Target.Restarts - o.AtBack.Restarts }

// ServedAfterBack is how many requests the fleet served after the database was back.
func (o TrayOutcome) ServedAfterBack() uint64 { return o.Target.Served - o.AtBack.Served }

// StillFailing is the fleet's own verdict, independent of the analyzer: as the load ended it
// was still replacing instances (some not in service or failing their checks), or requests
// were waiting longer than the SLO, and it had replaced instances after the database was back.
func (o TrayOutcome) StillFailing() bool {
	return o.TargetStillFailing() && o.ReplacementsAfterBack() > 0
}

// RunTray reproduces the second outage: the db-outage profile (a steady load, the database
// refusing new connections for 5 s) against two copies of the fleet, one whose health checks
// go through the database, one whose checks only ask the process (the incident's fix), side
// by side, and analyses both.
func RunTray(ctx context.Context, opt Options, w io.Writer) ([]TrayOutcome, error) {
	prof := opt.Profile
	if prof == nil {
		p, ok := profiles.Builtin("db-outage")
		if !ok {
			return nil, errors.New("demo: the db-outage profile is missing from this build")
		}
		prof = p
	}
	if len(prof.Triggers) == 0 {
		return nil, fmt.Errorf("demo: profile %s has no trigger: the second outage needs the database to refuse connections for a while", prof.Name)
	}
	tcfg := TrayTargetConfig()
	if opt.Target != nil {
		tcfg = *opt.Target
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	fixed := tcfg
	fixed.HealthCheck = simservice.HealthCheckProcess
	_, back := prof.Triggers[0].Window()
	runs := []struct {
		title string
		file  string
		cfg   simservice.Config
	}{
		{"health checks query the database", filepath.Join(opt.Dir, "db-health-checks.st"), tcfg},
		{"health checks ask only the process (the fix)", filepath.Join(opt.Dir, "process-health-checks.st"), fixed},
	}

	fmt.Fprintf(w, "stormtest demo --incident tray: the %q profile against a fleet of %d instances (%d connections each) over one database (%d slots, %s a query, limit %d connections, %s to open one)\n",
		prof.Name, tcfg.Instances, tcfg.InstancePoolSize(), tcfg.PoolSize(), tcfg.QueryTime, tcfg.DBMaxConns, tcfg.ConnectTime)
	for i, tr := range prof.Triggers {
		s, e := tr.Window()
		fmt.Fprintf(w, "  trigger %s: %.0f–%.0f s, %s %s then %s\n", tr.Label(i), s.Seconds(), e.Seconds(), tr.Start.MethodOrDefault(), tr.Start.URL, tr.Start.Body)
	}
	fmt.Fprintf(w, "running both fleets side by side for %s, each against its own target…\n", prof.Schedule().Duration())

	outcomes := make([]TrayOutcome, len(runs))
	err := sideBySide(w, len(runs), func(i int, progress *attack.Progress) error {
		r := runs[i]
		o, err := scenarios.RunSampled(ctx, r.cfg, prof, r.file, progress, []time.Duration{back})
		outcomes[i] = TrayOutcome{Outcome: o, BackSeconds: back.Seconds()}
		if len(o.Samples) > 0 {
			outcomes[i].AtBack = o.Samples[0]
		}
		outcomes[i].Title = r.title
		return err
	})
	if err != nil {
		return outcomes, err
	}

	for i := range outcomes {
		o := &outcomes[i]
		fmt.Fprintf(w, "\n=== %d. %s — results in %s\n", i+1, o.Title, o.File)
		if err := o.Report.WriteText(w); err != nil {
			return outcomes, err
		}
		f := o.Target.Fleet
		fmt.Fprintf(w, "fleet's own view: %d instances replaced after the database was back at t=%.0f s (%d in all); as the load ended %d of %d in service, %d healthy, database holding %d connections (%d lingering from removed instances, limit %d), %d attempts rejected at the limit, %d requests served since the database was back\n",
			o.ReplacementsAfterBack(), o.BackSeconds, o.Target.Restarts, f.InService, f.Instances, f.Healthy,
			f.DBConns, f.DBConnsLingering, f.DBMaxConns, f.DBConnectsRejected, o.ServedAfterBack())
	}
	fmt.Fprintf(w, "\nSame fleet, same load, same 5 s database outage: %s with database health checks, %s with process health checks.\n",
		outcomes[0].Report.Verdict, outcomes[1].Report.Verdict)
	page := filepath.Join(opt.Dir, "report.html")
	plain := make([]Outcome, len(outcomes))
	for i := range outcomes {
		plain[i] = outcomes[i].Outcome
	}
	if err := writeReport(page, plain); err != nil {
		return outcomes, err
	}
	fmt.Fprintf(w, "Report (open in a browser, works offline): %s\n", page)
	fmt.Fprintf(w, "Dig in:  stormtest analyze %s   (or --format json / markdown)\n", outcomes[0].File)
	return outcomes, ctx.Err()
}
