package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
)

// runExport runs the command in-process, as run does.
func runExport(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	code, _, stderr = runCLI(t, context.Background(), args...)
	return code, stderr
}

func smallResults(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.st")
	start := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	w, err := results.Create(path, results.Header{Target: "http://127.0.0.1:8080", Start: start}, results.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		rec := results.Record{RequestID: uint64(i), Attempt: 1, Code: 200, Intended: start.UnixNano() + int64(i)*int64(time.Millisecond), ServiceTime: time.Millisecond}
		if err := w.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(time.Second), Attempts: 100}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExportCommands(t *testing.T) {
	in := smallResults(t)
	dir := t.TempDir()
	csvOut, hlogOut := filepath.Join(dir, "run.csv"), filepath.Join(dir, "run.hlog")
	if code, msg := runExport(t, "export", "--format", "csv", "--out", csvOut, in); code != exitOK {
		t.Fatalf("export: exit %d: %s", code, msg)
	}
	if b, _ := os.ReadFile(csvOut); strings.Count(string(b), "\n") != 101 {
		t.Errorf("csv export has %d lines, want 101", strings.Count(string(b), "\n"))
	}
	if code, msg := runExport(t, "hlog", "--out", hlogOut, in); code != exitOK {
		t.Fatalf("hlog: exit %d: %s", code, msg)
	}
	if b, _ := os.ReadFile(hlogOut); !strings.HasPrefix(string(b), "#[Histogram log format version 1.3]\n") {
		t.Errorf("hlog output starts %.60q", b)
	}
	for _, args := range [][]string{
		{"export", "--format", "gob", in},
		{"export", filepath.Join(dir, "missing.st")},
		{"export"},
		{"hlog", "--interval", "100us", "--out", hlogOut, in},
	} {
		if code, msg := runExport(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d (%s), want %d", args, code, msg, exitUsage)
		}
	}
}
