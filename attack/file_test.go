package attack

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

// TestFileSinkRefusesNonRegularOut gives --overwrite --out a node stormtest did not create
// and cannot own: a FIFO (opening it for writing blocked forever, deaf to signals) and a
// character device like /dev/full (the first write failed and the cleanup deleted the
// device node). Each must be refused at once, with one line, and still exist afterwards.
func TestFileSinkRefusesNonRegularOut(t *testing.T) {
	srv := serve(t, func(http.ResponseWriter, *http.Request) {})
	p := testfix.MustParse(t, "name: tiny\nphases: [{duration: 200ms, rate: 10}]")
	cases := []struct {
		name string
		make func(path string) error
	}{
		{"fifo", func(path string) error { return syscall.Mkfifo(path, 0o644) }},
		{"char device like /dev/full", func(path string) error {
			if os.Geteuid() != 0 {
				t.Skip("making a device node needs root")
			}
			// A private copy of /dev/full (major 1, minor 7): the test must not risk the real one.
			return syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|7)
		}},
		{"directory", func(path string) error { return os.Mkdir(path, 0o755) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.st")
			if err := tc.make(path); err != nil {
				t.Fatalf("making the node: %v", err)
			}
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, NewFileSink(Output{Path: path, Overwrite: true}))
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				// Unblock the hung open so the goroutine can end, then fail.
				if f, ferr := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); ferr == nil {
					defer f.Close()
				}
				t.Fatal("Run hung on a non-regular --out")
			}
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("error %v: want one line saying it is not a regular file", err)
			}
			after, err := os.Lstat(path)
			if err != nil {
				t.Fatalf("the node is gone: %v", err)
			}
			if after.Mode() != before.Mode() {
				t.Errorf("mode changed from %v to %v", before.Mode(), after.Mode())
			}
			if _, err := os.Lstat(path + ".partial"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a partial file was left behind: %v", err)
			}
		})
	}
}

// TestFileSinkKeepsOldFileUntilDone checks how the results reach --out: while the run goes
// on they are in PATH.partial, flushed every second so a kill -9 loses at most about a
// second, and the file an --overwrite replaces stays untouched; at the end PATH.partial is
// renamed onto PATH.
func TestFileSinkKeepsOldFileUntilDone(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	srv := serve(t, func(http.ResponseWriter, *http.Request) {})
	p := testfix.MustParse(t, "name: tiny\nphases: [{duration: 2500ms, rate: 40}]")
	path := filepath.Join(t.TempDir(), "run.st")
	if err := os.WriteFile(path, []byte("the previous run"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), Config{Target: srv.URL, Profile: p}, NewFileSink(Output{Path: path, Overwrite: true}))
		done <- err
	}()
	time.Sleep(1800 * time.Millisecond)
	if b, err := os.ReadFile(path); err != nil || string(b) != "the previous run" {
		t.Errorf("mid-run, %s holds %q (%v); want the previous run untouched", path, b, err)
	}
	r, err := results.Open(path + ".partial")
	if err != nil {
		t.Fatalf("mid-run: %v", err)
	}
	n := 0
	var rec results.Record
	for r.Next(&rec) == nil {
		n++
	}
	r.Close()
	// 1.8 s in at 40/s about 70 attempts have ended; a 1 s flush interval leaves at least 30 on disk.
	if n < 30 {
		t.Errorf("mid-run the partial file holds %d records; want those older than a second", n)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path + ".partial"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the partial file is still there: %v", err)
	}
	r, err = results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if tr, ok := r.Trailer(); !ok || tr.Attempts != 100 {
		t.Errorf("final file trailer %+v (%v), want 100 attempts", tr, ok)
	}
}
