package attack

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/stormtest/stormtest/internal/cpustat"
	"github.com/stormtest/stormtest/internal/version"
	"github.com/stormtest/stormtest/results"
)

// Output is where RunToFile records.
type Output struct {
	Path      string
	Overwrite bool // replace an existing file; otherwise refuse, so no earlier run is lost
	Shard     int  // this generator's index when several generators run the same profile
	Shards    int
}

// startLead puts time zero a little in the future, so the first attempts are not already
// late by the time it takes to open the file and start vegeta's workers.
const startLead = 20 * time.Millisecond

// RunToFile runs an attack and streams every attempt to a results file, which it always
// closes with a trailer, also when the attack is interrupted or fails midway: whatever was
// recorded stays readable.
func RunToFile(ctx context.Context, cfg Config, out Output, progress *Progress) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	prof := *cfg.Profile
	if prof.Seed == 0 {
		// Record the seed actually used, so the run can be repeated exactly.
		prof.Seed = rand.Uint64() | 1
	}
	cfg.Profile = &prof
	cfg.Start = time.Now().Add(startLead)

	var groups []string
	for _, g := range prof.Groups() {
		groups = append(groups, g.Name)
	}
	target := cfg.Target
	if prof.Request.TargetsFile != "" {
		target = "targets file " + prof.Request.TargetsFile
	}
	host, _ := os.Hostname()
	shards := out.Shards
	if shards < 1 {
		shards = 1
	}
	w, err := results.Create(out.Path, results.Header{
		Format:    results.FormatVersion,
		Generator: version.Generator(),
		Host:      host,
		Shard:     out.Shard,
		Shards:    shards,
		Target:    target,
		Start:     cfg.Start,
		// Credentials in request headers stay out of the file.
		Profile: prof.Redacted(),
		Groups:  groups,
	}, results.CreateOptions{Overwrite: out.Overwrite, FlushInterval: time.Second, Sync: true})
	if err != nil {
		return Summary{}, err
	}
	cfg.Recorder = w

	sampler := cpustat.Start(cfg.Start, time.Second)
	sum, runErr := Run(ctx, cfg, progress)
	trailer := results.Trailer{
		CPU:             sampler.Stop(),
		End:             sum.End,
		Interrupted:     sum.Interrupted || runErr != nil,
		Requests:        sum.Requests,
		Attempts:        w.Records(),
		UnsentRetries:   sum.UnsentRetries,
		RetriesDenied:   sum.RetriesDenied,
		DeadlineExpired: sum.DeadlineExpired,
		RedirectHops:    sum.RedirectHops,
	}
	switch {
	case runErr != nil:
		trailer.Reason = runErr.Error()
	case sum.Interrupted:
		trailer.Reason = "interrupted"
	}
	if err := w.Close(trailer); err != nil && runErr == nil {
		runErr = fmt.Errorf("closing %s: %w", out.Path, err)
	}
	return sum, runErr
}
