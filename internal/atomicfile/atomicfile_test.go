package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteKeepsOldOnFailure: a write that fails leaves the previous file whole.
func TestWriteKeepsOldOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	renderErr := errors.New("render failed")
	err := Write(path, func(w io.Writer) error {
		fmt.Fprint(w, "half a page")
		return renderErr
	})
	if err == nil {
		t.Fatal("a failed write succeeded")
	}
	if !errors.Is(err, renderErr) {
		t.Errorf("error %v is not write's own", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("file now holds %q, want the old content", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the old one", len(entries))
	}
}

// TestWriteNoPartialFile: a failed write of a new file leaves nothing at all.
func TestWriteNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.json")
	if err := Write(path, func(w io.Writer) error {
		fmt.Fprint(w, strings.Repeat("x", 1<<17)) // past the buffer: some of it reached the disk
		return errors.New("failed half way")
	}); err == nil {
		t.Fatal("a failed write succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files left behind, want none", len(entries))
	}
}

// TestWriteReplacesWithMode: a complete write replaces an existing file, whatever its mode
// was, with Mode (or the mode WriteMode is given), and leaves no temporary file.
func TestWriteReplacesWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("an older, longer content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("file holds %q, want %q", data, "new")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", fi.Mode(), err)
	}
	if err := WriteMode(path, 0o640, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 || fi.Size() != 0 {
		t.Errorf("WriteMode 0640: mode %v, size %d (%v)", fi.Mode(), fi.Size(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want one", len(entries))
	}
}

// TestWriteBadPath: a path that cannot be created is reported as os.Create reports it,
// naming path rather than the temporary file, and a directory is never replaced.
func TestWriteBadPath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "r.html")
	err := Write(missing, func(io.Writer) error { t.Error("write called for a missing directory"); return nil })
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v, want open %s: no such file or directory", err, missing)
	}
	err = Write(dir, func(io.Writer) error { t.Error("write called for a directory"); return nil })
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != dir || !errors.Is(err, syscall.EISDIR) {
		t.Errorf("directory: %v, want open %s: is a directory", err, dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("the directory was replaced: %v %v", fi, err)
	}
}

// TestWriteNonRegularInPlace: a FIFO is written in place, not replaced by a regular file.
func TestWriteNonRegularInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	// The reader opens first (without waiting for a writer), as a shell's <(...) would.
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "through the pipe"); return err }); err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(r); err != nil || string(data) != "through the pipe" {
		t.Errorf("reader got %q, %v", data, err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	if err := CheckWritable(filepath.Join(dir, "ok.html")); err != nil {
		t.Errorf("writable path refused: %v", err)
	}
	missing := filepath.Join(dir, "missing", "x.html")
	if err := CheckWritable(missing); err == nil || err.Error() != "cannot write "+missing+": no such file or directory" {
		t.Errorf("missing directory: %v", err)
	}
	if err := CheckWritable(dir); err == nil || err.Error() != dir+" is a directory" {
		t.Errorf("directory: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("CheckWritable left %d files", len(entries))
	}
}
