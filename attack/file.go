package attack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// RedactQuery names query parameters of the target whose values are secrets: the file
	// records them as REDACTED (userinfo is always redacted), the attack still sends them.
	RedactQuery []string
}

// PartialSuffix is appended to Output.Path for the file a run records into. The results reach
// Path only when the run ends (a rename), so an --overwrite never destroys the previous run
// before a new one exists, and never opens, truncates or deletes a node stormtest did not
// create. A run killed with kill -9 leaves Path+PartialSuffix, flushed at least every second,
// which analyze reads like any results file.
const PartialSuffix = ".partial"

// CheckOutput refuses an output path that RunToFile cannot write without harming something:
// an existing file without Overwrite, anything but a regular file (a FIFO would block the open
// forever, a device such as /dev/full would fail and must not be deleted, a symlink would be
// replaced rather than followed), or a partial file left by an earlier run that was killed.
func CheckOutput(out Output) error {
	fi, err := os.Lstat(out.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("results file %s: %w", out.Path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("results file %s is not a regular file (%s); give --out a file path", out.Path, describeMode(fi.Mode()))
	case !out.Overwrite:
		return fmt.Errorf("results file %s already exists; refusing to overwrite it (use --overwrite or another --out)", out.Path)
	}
	partial := out.Path + PartialSuffix
	if _, err := os.Lstat(partial); err == nil {
		return fmt.Errorf("%s exists, left by a run that did not finish; analyze it, move it or remove it", partial)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("results file %s: %w", partial, err)
	}
	return nil
}

// describeMode names a file type for an error message.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// finishOutput moves the partial file onto out.Path once it is closed. Without Overwrite it
// links rather than renames, so a file that appeared at Path during the run is not replaced;
// in every case it keeps the partial file, and says so, when it cannot move it.
func finishOutput(out Output) error {
	partial := out.Path + PartialSuffix
	if fi, err := os.Lstat(out.Path); err == nil && (!out.Overwrite || !fi.Mode().IsRegular()) {
		return fmt.Errorf("%s appeared during the run and was left alone; the results are in %s", out.Path, partial)
	}
	if !out.Overwrite {
		if err := os.Link(partial, out.Path); err == nil {
			return os.Remove(partial)
		} else if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s appeared during the run and was left alone; the results are in %s", out.Path, partial)
		}
		// A file system without hard links: fall back to rename.
	}
	if err := os.Rename(partial, out.Path); err != nil {
		return fmt.Errorf("moving the results to %s: %w; they are in %s", out.Path, err, partial)
	}
	return nil
}

// RecordedPath is where the results of a run on out are after RunToFile returned: Path, or
// the partial file when they could not be moved there.
func RecordedPath(out Output) string {
	if _, err := os.Lstat(out.Path + PartialSuffix); err == nil {
		return out.Path + PartialSuffix
	}
	return out.Path
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
	if err := CheckOutput(out); err != nil {
		return Summary{}, err
	}
	cfg.Start = time.Now().Add(startLead)

	var groups []string
	for _, g := range prof.Groups() {
		groups = append(groups, g.Name)
	}
	// Redacted once, here: analyze, report, export and hlog all read the target from the
	// header, so none of them can leak what it held.
	target := RedactURL(cfg.Target, out.RedactQuery)
	if prof.Request.TargetsFile != "" {
		target = "targets file " + prof.Request.TargetsFile
	}
	host, _ := os.Hostname()
	shards := out.Shards
	if shards < 1 {
		shards = 1
	}
	// The partial file is created with O_EXCL (no Overwrite): it is ours, new and regular.
	w, err := results.Create(out.Path+PartialSuffix, results.Header{
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
	}, results.CreateOptions{FlushInterval: time.Second, Sync: true})
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
	}
	switch {
	case runErr != nil:
		trailer.Reason = runErr.Error()
	case sum.Interrupted:
		trailer.Reason = "interrupted"
	}
	if err := w.Close(trailer); err != nil && runErr == nil {
		runErr = fmt.Errorf("closing %s: %w", out.Path+PartialSuffix, err)
	}
	// Whatever was recorded moves to Path, also after a failure: the file is readable up to
	// the damage and holds everything this run has.
	if err := finishOutput(out); err != nil && runErr == nil {
		runErr = err
	}
	return sum, runErr
}
