package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/results"
)

// connCounter is a target that counts the connections made to it: a run refused before
// it starts must have made none, preflight included.
func connCounter(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &conns
}

// mountTmpfs mounts a tmpfs with the given options on a new directory, or skips the test
// where the machine does not allow it (not root, no mount in a container).
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestOutThatCannotBeCreatedSendsNothing: --out in a directory that is missing, is a file,
// or is on a read-only file system is bad input (exit 2, one line) found before the
// preflight connects: the target sees no connection at all.
func TestOutThatCannotBeCreatedSendsNothing(t *testing.T) {
	file := writeFile(t, "plain", "x")
	cases := []struct {
		name string
		out  func(t *testing.T) string
		want string
	}{
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "such", "run.st") }, "does not exist"},
		{"parent is a file", func(*testing.T) string { return filepath.Join(file, "run.st") }, "is not a directory"},
		{"read-only file system", func(t *testing.T) string { return filepath.Join(mountTmpfs(t, "ro,size=64k"), "run.st") }, "read-only file system"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, conns := connCounter(t)
			out := tc.out(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, _, stderr := runCLI(t, ctx, "attack", "--target", url, "--profile", "steady", "--time-scale", "0.01", "--out", out, "--quiet")
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line saying %q", code, stderr, tc.want)
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("the target saw %d connections; want none before the output is known to be writable", n)
			}
		})
	}
}

// TestFullDiskStopsWithTheTrueCount fills a 200 KiB tmpfs with a fast attack: the attack
// must stop with exit 1 and one line whose count of attempts kept is exactly what the
// partial file holds (not the attempts completed), and the file must read up to the failure.
func TestFullDiskStopsWithTheTrueCount(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-time run")
	}
	dir := mountTmpfs(t, "size=200k")
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	// 3000/s for 20 s with a unique error message for none: about 10 bytes a record, so
	// 200 KiB holds some 20 000 records, reached within ~7 s.
	prof := writeFile(t, "fast.yaml", "name: fill\nphases: [{name: only, duration: 20s, rate: 3000}]\nclient: {timeout: 1s}\n")
	out := filepath.Join(dir, "run.st")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	start := time.Now()
	code, _, stderr := runCLI(t, ctx, "attack", "--target", srv.URL, "--profile", prof, "--out", out, "--quiet")
	t.Logf("exit %d after %s: %s", code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr))
	if code != exitFail {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFail, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	m := regexp.MustCompile(`the (\d+) attempts recorded so far are in (\S+);`).FindStringSubmatch(last)
	if m == nil || !strings.Contains(last, "no space left on device") {
		t.Fatalf("last line %q: want the disk error and the count kept", last)
	}
	if m[2] != out && m[2] != out+attack.PartialSuffix {
		t.Errorf("results said to be in %s, want %s or its partial file", m[2], out)
	}
	said, _ := strconv.Atoi(m[1])
	r, err := results.Open(m[2])
	if err != nil {
		t.Fatalf("the partial file does not open: %v", err)
	}
	defer r.Close()
	var rec results.Record
	held := 0
	for r.Next(&rec) == nil {
		held++
	}
	if said != held || held == 0 {
		t.Errorf("the message says %d attempts kept, the file holds %d", said, held)
	}
	if fi, err := os.Stat(m[2]); err == nil {
		t.Logf("the partial file: %d bytes, %d records", fi.Size(), held)
	}
}
