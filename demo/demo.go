// Package demo reproduces the first outage stormtest was built for, on one machine: a service
// running on half of its database pool after a maintenance change meets Monday-morning traffic.
// With retrying clients it stays down after the peak has passed (metastable); with clients
// that do not retry, the same peak only overloads it and it recovers.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/report"
	"github.com/stormtest/stormtest/retry"
	"github.com/stormtest/stormtest/scenarios"
	"github.com/stormtest/stormtest/simservice"
)

// Options for Run.
type Options struct {
	Dir string // where the results files go
	// Profile overrides the built-in monday-morning profile (tests use shorter ones).
	Profile *profiles.Profile
	// Target overrides the half-pool target configuration.
	Target *simservice.Config
}

// Outcome is one of the demo's runs.
type Outcome = scenarios.Outcome

// TargetConfig is the target of the first outage: 16 database connections provisioned, half
// applied, 20 ms a query: 400 requests/s where 800 were planned.
func TargetConfig() simservice.Config {
	cfg := simservice.DefaultConfig()
	cfg.DBConns = 16
	cfg.CapacityFraction = 0.5
	cfg.QueryTime = 20 * time.Millisecond
	return cfg
}

// DemoObserve is what the demo scrapes from each target: its /metrics every second, the
// queue, the pool and the work done for clients that were still there and for those that
// had given up.
func DemoObserve() *profiles.Observe {
	o := &profiles.Observe{Scrape: []string{"/metrics"}, Match: []string{
		"simservice_queue_depth", "simservice_pool_in_use", "simservice_served_total", "simservice_abandoned_total"}}
	o.ApplyDefaults()
	return o
}

// Run runs both halves of the demo at once, each against its own target so that neither
// disturbs the other, and prints what each shows.
func Run(ctx context.Context, opt Options, w io.Writer) ([]Outcome, error) {
	prof := opt.Profile
	if prof == nil {
		p, ok := profiles.Builtin("monday-morning")
		if !ok {
			return nil, errors.New("demo: the monday-morning profile is missing from this build")
		}
		prof = p
	}
	tcfg := TargetConfig()
	if opt.Target != nil {
		tcfg = *opt.Target
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}

	if prof.Observe == nil {
		// Both sides: the target's own metrics, scraped from its /metrics every second, go
		// into each results file and the report, beside the load.
		p := *prof
		p.Observe = DemoObserve()
		prof = &p
	}
	noRetry := *prof
	noRetry.Client.Retry = profiles.Retry{Policy: profiles.PolicyNone}
	runs := []struct {
		title   string
		file    string
		profile *profiles.Profile
	}{
		{fmt.Sprintf("clients retry (%s, up to %d attempts)", prof.Client.Retry.Policy, retry.Attempts(prof.Client.Retry)),
			filepath.Join(opt.Dir, "retrying.st"), prof},
		{"clients do not retry", filepath.Join(opt.Dir, "no-retry.st"), &noRetry},
	}

	fmt.Fprintf(w, "stormtest demo: the %q profile against the built-in target with %d of %d database connections applied (capacity %.0f req/s, %.0f planned)\n",
		prof.Name, tcfg.PoolSize(), tcfg.DBConns, tcfg.Capacity(), tcfg.Capacity()/tcfg.CapacityFraction)
	for i, sp := range prof.Schedule().Spans {
		fmt.Fprintf(w, "  phase %-10s %5.1fs-%5.1fs  %s first attempts/s\n", sp.Name, sp.Start.Seconds(), sp.End.Seconds(), prof.Phases[i].Label())
	}
	fmt.Fprintf(w, "running both variants side by side for %s, each against its own target…\n", prof.Schedule().Duration())

	outcomes := make([]Outcome, len(runs))
	err := sideBySide(w, len(runs), func(i int, progress *attack.Progress) error {
		var err error
		outcomes[i], err = scenarios.Run(ctx, tcfg, runs[i].profile, runs[i].file, progress)
		outcomes[i].Title = runs[i].title
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
		fmt.Fprintf(w, "target's own view as the load ended: %d queued, oldest waiting %.0f ms, recent median wait %.0f ms (SLO %s, client timeout %s); %d served, %d served for clients that had already given up\n",
			o.Target.QueueDepth, o.Target.OldestWaitMS, o.Target.WaitP50MS, o.SLO, o.Timeout, o.Target.Served, o.Target.Abandoned)
	}
	fmt.Fprintf(w, "\nSame traffic, same half-sized pool: %s with retrying clients, %s without retries.\n",
		outcomes[0].Report.Verdict, outcomes[1].Report.Verdict)
	page := filepath.Join(opt.Dir, "report.html")
	if err := writeReport(page, outcomes); err != nil {
		return outcomes, err
	}
	fmt.Fprintf(w, "Report (open in a browser, works offline): %s\n", page)
	fmt.Fprintf(w, "Dig in:  stormtest analyze %s   (or --format json / markdown)\n", outcomes[0].File)
	return outcomes, ctx.Err()
}

// reportProgress prints a plain line every few seconds, so a person (or a CI log) sees the
// runs moving.
func reportProgress(w io.Writer, start time.Time, progress []attack.Progress, stop <-chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fmt.Fprintf(w, "  %4.0fs:", time.Since(start).Seconds())
			for i := range progress {
				p := &progress[i]
				fmt.Fprintf(w, "  run %d: %d attempts, %d ok, %d retries;", i+1,
					p.Attempts.Load(), p.Successes.Load(), p.Retries.Load())
			}
			fmt.Fprintln(w)
		}
	}
}

// writeReport draws both runs on one page, the retrying one dashed over the other.
func writeReport(path string, outcomes []Outcome) error {
	reps := make([]*analyze.Report, len(outcomes))
	titles := make([]string, len(outcomes))
	for i, o := range outcomes {
		reps[i], titles[i] = o.Report, o.Title
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	if err := report.Write(f, reps, titles); err != nil {
		f.Close()
		return fmt.Errorf("demo: report: %w", err)
	}
	return f.Close()
}

// sideBySide runs n runs at once, run(i, progress) each on a goroutine of its own, while one
// progress line for all of them is printed to w; it returns when every run has, with their
// errors joined.
func sideBySide(w io.Writer, n int, run func(i int, progress *attack.Progress) error) error {
	progress := make([]attack.Progress, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run(i, &progress[i])
		}()
	}
	stopTicker := make(chan struct{})
	tickerDone := make(chan struct{})
	go func() {
		defer close(tickerDone)
		reportProgress(w, time.Now(), progress, stopTicker)
	}()
	wg.Wait()
	close(stopTicker)
	<-tickerDone
	return errors.Join(errs...)
}
