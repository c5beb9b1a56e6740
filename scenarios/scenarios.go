// Package scenarios runs a profile against a fresh built-in target and judges the run two
// ways: by the analyzer, from the client side, and by the target's own view of its queue as the
// load ended. The demo is two such runs; the labelled suite in this package's tests is many.
package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/simservice"
)

// Outcome is one run.
type Outcome struct {
	Title   string
	File    string
	Report  *analyze.Report
	Target  simservice.Stats // the target's own view as the profile ended
	Timeout time.Duration
	SLO     time.Duration
	// Samples are the target's views at the times RunSampled was asked for (from the
	// profile's start), in order; empty for Run.
	Samples []simservice.Stats
}

// statsLead is how long before the profile's end the target's view is taken.
const statsLead = 200 * time.Millisecond

// Run starts a target with tcfg on a free loopback port, drives prof against it, records to
// file and analyses the result. The target's view is taken as the profile ends, while the
// clients are still there: once they stop, a queue of requests whose clients left may empty at
// once and make a failed target look recovered.
func Run(ctx context.Context, tcfg simservice.Config, prof *profiles.Profile, file string, progress *attack.Progress) (Outcome, error) {
	return RunSampled(ctx, tcfg, prof, file, progress, nil)
}

// RunSampled is Run that also takes the target's view at each of the given times from the
// profile's start (Outcome.Samples), e.g. as a trigger ends, to tell what the target did
// after it.
func RunSampled(ctx context.Context, tcfg simservice.Config, prof *profiles.Profile, file string, progress *attack.Progress, at []time.Duration) (Outcome, error) {
	running, err := simservice.Start(ctx, "127.0.0.1:0", tcfg)
	if err != nil {
		return Outcome{}, fmt.Errorf("starting the target: %w", err)
	}
	defer running.Stop()

	// With samples the run's time zero is fixed here, a little ahead so that the first
	// attempts are not late; without, the attack picks it as it always has.
	var zero time.Time
	if len(at) > 0 {
		zero = time.Now().Add(100 * time.Millisecond)
	}
	samples := make([]simservice.Stats, len(at))
	var sampling sync.WaitGroup
	for i, d := range at {
		sampling.Add(1)
		go func() {
			defer sampling.Done()
			t := time.NewTimer(time.Until(zero.Add(d)))
			defer t.Stop()
			select {
			case <-t.C:
				samples[i] = running.Server.Stats()
			case <-ctx.Done():
			}
		}()
	}
	defer sampling.Wait()

	end := time.Now().Add(prof.Schedule().Duration())
	atEnd := make(chan simservice.Stats, 1)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTimer(time.Until(end) - statsLead)
		defer t.Stop()
		select {
		case <-t.C:
			atEnd <- running.Server.Stats()
		case <-ctx.Done():
		}
	}()

	_, err = attack.Run(ctx, attack.Config{Target: running.URL, Profile: prof, Progress: progress, Start: zero},
		attack.NewFileSink(attack.Output{Path: file, Overwrite: true}))
	<-sampled
	sampling.Wait()
	out := Outcome{File: file, Timeout: prof.LongestTimeout(), SLO: time.Duration(prof.SLO.Latency), Samples: samples}
	select {
	case out.Target = <-atEnd:
	default:
		out.Target = running.Server.Stats()
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", file, err)
	}
	rep, err := analyze.Files([]string{file}, analyze.DefaultOptions())
	if err != nil {
		return out, fmt.Errorf("analysing %s: %w", filepath.Base(file), err)
	}
	out.Report = rep
	return out, nil
}

// TargetStillFailing is the target's own verdict, independent of the analyzer: as the load
// ended, the instance was restarting or failing its health checks, or requests were waiting for
// a database connection longer than the SLO allows (the oldest one still queued, or the typical
// recent one), so no client could be served well.
func (o Outcome) TargetStillFailing() bool {
	limit := float64(o.SLO.Milliseconds())
	return !o.Target.Healthy || o.Target.OldestWaitMS > limit || o.Target.WaitP50MS > limit
}
