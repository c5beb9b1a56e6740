package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAttackRefusesNonRegularOut: `attack --overwrite --out` on a FIFO or a device node is bad
// input: one line, exit 2, nothing sent, and the node is still there.
func TestAttackRefusesNonRegularOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	cases := []struct {
		name string
		make func(string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"device", func(p string) error {
			if os.Geteuid() != 0 {
				t.Skip("making a device node needs root")
			}
			return syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|7) // a private /dev/full
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.st")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, _, stderr := runCLI(t, ctx, "attack", "--target", srv.URL, "--profile", "steady",
				"--time-scale", "0.01", "--overwrite", "--out", path, "--quiet")
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "not a regular file") {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line saying it is not a regular file", code, stderr)
			}
			if _, err := os.Lstat(path); err != nil {
				t.Errorf("the node is gone: %v", err)
			}
		})
	}
}
