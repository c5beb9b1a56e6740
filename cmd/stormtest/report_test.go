package main

import (
	"context"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
)

// runReport runs the command in-process, as run does.
func runReport(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	code, _, stderr = runCLI(t, context.Background(), args...)
	return code, stderr
}

// shardResults writes a small run of 5 s at 50 requests/s, all served in 2 ms, as shard
// `shard` of two.
func shardResults(t *testing.T, name string, shard int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	start := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	w, err := results.Create(path, results.Header{Target: "http://127.0.0.1:8080", Start: start, Shard: shard, Shards: 2}, results.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 250
	for i := range n {
		rec := results.Record{RequestID: uint64(i), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended: start.UnixNano() + int64(i)*int64(20*time.Millisecond), ServiceTime: 2 * time.Millisecond}
		if err := w.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(5 * time.Second), Requests: uint64(n), Attempts: uint64(n)}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportCommand(t *testing.T) {
	a, b := shardResults(t, "a.st", 0), shardResults(t, "b.st", 1)
	out := filepath.Join(t.TempDir(), "r.html")

	if code, errOut := runReport(t, "report", "-o", out, a); code != exitOK {
		t.Fatalf("one run: exit %d: %s", code, errOut)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "<svg"); n != 5 || !strings.Contains(string(page), `class="verdict"`) {
		t.Errorf("one run: %d charts, verdict banner present: %v", n, strings.Contains(string(page), `class="verdict"`))
	}

	if code, errOut := runReport(t, "report", "-o", out, a, b); code != exitOK {
		t.Fatalf("two runs: exit %d: %s", code, errOut)
	}
	page, _ = os.ReadFile(out)
	for _, want := range []string{"before: a.st", "after: b.st", "stroke-dasharray"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("before/after page lacks %q", want)
		}
	}

	if code, errOut := runReport(t, "report", "--merge", "-o", out, a, b); code != exitOK {
		t.Fatalf("merged shards: exit %d: %s", code, errOut)
	}
	page, _ = os.ReadFile(out)
	if text := html.UnescapeString(string(page)); !strings.Contains(text, "a.st + b.st") || strings.Contains(text, "before:") {
		t.Error("--merge did not render one merged run")
	}

	for _, bad := range [][]string{
		{"report", "-o", out},
		{"report", "-o", out, a, b, a},
		{"report", "-o", out, filepath.Join(t.TempDir(), "missing.st")},
		{"report", "-o", filepath.Join(t.TempDir(), "no", "such", "dir", "r.html"), a},
	} {
		code, errOut := runReport(t, bad...)
		if code == exitOK || strings.TrimSpace(errOut) == "" || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want a failure with one line", bad[1:], code, errOut)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("output directory holds %d files, want only the report (no temporary left behind)", len(entries))
	}
}
