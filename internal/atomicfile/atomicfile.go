// Package atomicfile writes whole files so that nobody ever reads half of one: a report, an
// export, a JUnit file or the capacity search's state is written to a temporary file beside
// its target, flushed to disk and renamed over the target only once it is complete. A write
// that fails, or a process killed mid-write, leaves the previous file (or none) in place and
// no temporary file behind (except after a kill, a hidden .NAME.* file that the next write
// does not reuse).
//
// Every command that writes a whole file goes through Write (or WriteMode); files written as
// a stream while a run goes on, like the results file, are not whole files and do not.
//
// Files are 0644 unless WriteMode is told otherwise: what stormtest writes is meant to be
// shared (CI artefacts, tickets), and none of it holds secrets (target URLs are redacted
// before anything is written).
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Mode is the permission of the files Write writes.
const Mode fs.FileMode = 0o644

// Write writes path with Mode. See WriteMode.
func Write(path string, write func(io.Writer) error) error {
	return WriteMode(path, Mode, write)
}

// WriteMode calls write with a buffered writer on a temporary file in path's directory, then
// flushes, fsyncs, sets mode and renames the temporary file to path. If write or any step
// fails, the temporary file is removed and path is left as it was; the error is write's own
// (unwrapped, so callers can still match it) or says which step failed.
//
// A path that cannot be created is reported as os.Create would report it, an *fs.PathError
// with Op "open" naming path (not the temporary file), so callers that tell a bad path (bad
// input) from a failed write keep doing so. A path that exists and is not a regular file (a
// FIFO, /dev/stdout, /dev/null) cannot be replaced and someone may be reading it: it is
// written in place, as os.Create would.
func WriteMode(path string, mode fs.FileMode, write func(io.Writer) error) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return &fs.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
	case err == nil && !fi.Mode().IsRegular():
		return writeInPlace(path, write)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		// The error names the temporary file; the user gave path.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	err = fill(tmp, path, write)
	if err == nil {
		err = step("syncing", path, tmp.Sync())
	}
	if cerr := tmp.Close(); err == nil {
		err = step("closing", path, cerr)
	}
	if err == nil {
		// CreateTemp makes the file private (0600) whatever the umask.
		err = step("setting the mode of", path, os.Chmod(tmp.Name(), mode))
	}
	if err == nil {
		err = step("renaming into", path, os.Rename(tmp.Name(), path))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// CheckWritable fails when path cannot be written the way Write will write it: its directory
// must take a new file, and path must not be a directory. Commands call it before long work
// (a capacity search takes minutes) whose result would otherwise be lost at the end.
func CheckWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		// The error names the temporary file; the user gave path.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// fill runs write on f, which becomes path, through a buffer and flushes it.
func fill(f *os.File, path string, write func(io.Writer) error) error {
	w := bufio.NewWriterSize(f, 1<<16)
	if err := write(w); err != nil {
		return err
	}
	return step("writing", path, w.Flush())
}

// writeInPlace writes a file that cannot be replaced, like os.Create and a write would.
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = fill(f, path, write)
	if cerr := f.Close(); err == nil {
		err = step("closing", path, cerr)
	}
	return err
}

// step wraps a failed step's error with what was being done to which file.
func step(doing, path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", doing, path, err)
}

// syncDir makes the rename itself durable. It is best effort: the file is complete and in
// place either way, and some file systems refuse to sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
