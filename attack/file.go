package attack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stormtest/stormtest/results"
)

// Output is where a FileSink records.
type Output struct {
	Path      string
	Overwrite bool // replace an existing file; otherwise refuse, so no earlier run is lost
}

// PartialSuffix is appended to Output.Path for the file a run records into. The results reach
// Path only when the run ends (a rename), so an --overwrite never destroys the previous run
// before a new one exists, and never opens, truncates or deletes a node stormtest did not
// create. A run killed with kill -9 leaves Path+PartialSuffix, flushed at least every second,
// which analyze reads like any results file.
const PartialSuffix = ".partial"

// CheckOutput refuses an output path that a FileSink cannot create (its directory is missing,
// not a directory, read-only or not writable: checkDir) or cannot write without harming something:
// an existing file without Overwrite, anything but a regular file (a FIFO would block the open
// forever, a device such as /dev/full would fail and must not be deleted, a symlink would be
// replaced rather than followed), or a partial file left by an earlier run that was killed.
func CheckOutput(out Output) error {
	if err := checkDir(out.Path); err != nil {
		return err
	}
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

// checkDir makes sure the results file can be created where path says, before anything is
// sent: a run whose results cannot be written measured nothing, and its traffic was load on
// someone's service for nothing. The directory must exist and take a new file: a probe file
// is created and removed, which also catches a read-only mount and permissions that mode
// bits alone do not show (root ignores them, a read-only file system does not).
func checkDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("results file %s: directory %s does not exist (create it, or give --out another path)", path, dir)
	case err != nil:
		return fmt.Errorf("results file %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("results file %s: %s is not a directory (give --out a path in a directory)", path, dir)
	}
	probe, err := os.CreateTemp(dir, ".stormtest-probe-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the probe's name means nothing to the user
		}
		return fmt.Errorf("results file %s: cannot create a file in %s: %v (give --out a writable directory)", path, dir, err)
	}
	name := probe.Name()
	probe.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("results file %s: removing the probe file %s: %w", path, name, err)
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

// RecordedPath is where the results of a run on out are after its FileSink ended: Path, or
// the partial file when they could not be moved there.
func RecordedPath(out Output) string {
	if _, err := os.Lstat(out.Path + PartialSuffix); err == nil {
		return out.Path + PartialSuffix
	}
	return out.Path
}

// FileSink records a run to the results file out.Path, through Path+PartialSuffix: Begin
// checks out (CheckOutput) and creates the partial file with O_EXCL, so it is ours, new and
// regular; Write streams each attempt into it (flushed and synced every second); End writes
// the trailer, closes it and moves it to Path. Run always ends it, also after a failure: the
// file is readable up to the damage and holds everything the run has. It is a results.Sink,
// called from the attack's consumer goroutine.
type FileSink struct {
	out  Output
	file *results.FileSink
}

// NewFileSink returns the Sink that records a run to out.
func NewFileSink(out Output) *FileSink { return &FileSink{out: out} }

// Begin checks the output and creates the partial file with header h.
func (s *FileSink) Begin(h results.Header) error {
	if err := CheckOutput(s.out); err != nil {
		return err
	}
	s.file = results.NewFileSink(s.out.Path+PartialSuffix, results.CreateOptions{FlushInterval: time.Second, Sync: true})
	return s.file.Begin(h)
}

// Write records one attempt.
func (s *FileSink) Write(r *results.Record) error { return s.file.Write(r) }

// Written is how many attempts are in the file: after a write error (a full disk), the true
// number kept, which is what a message about the failure must report, not the attempts
// completed.
func (s *FileSink) Written() uint64 {
	if s.file == nil {
		return 0
	}
	return s.file.Written()
}

// Scrape records one scrape of the target's metrics (results.ScrapeSink).
func (s *FileSink) Scrape(sc *results.Scrape) error { return s.file.Scrape(sc) }

// End closes the partial file with trailer t and moves it onto out.Path; whatever happens,
// the results stay in one of the two (RecordedPath).
func (s *FileSink) End(t results.Trailer) error {
	var err error
	if cerr := s.file.End(t); cerr != nil {
		err = fmt.Errorf("closing %s: %w", s.out.Path+PartialSuffix, cerr)
	}
	if ferr := finishOutput(s.out); ferr != nil && err == nil {
		err = ferr
	}
	return err
}
