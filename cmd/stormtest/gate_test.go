package main

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// checkExit runs a command and asserts its exit code and that its output names want: stdout,
// or for a usage error (exit 2) its one-line stderr.
func checkExit(t *testing.T, wantCode int, want []string, args ...string) {
	t.Helper()
	code, stdout, stderr := runGateCLI(t, args...)
	if code != wantCode {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, wantCode, stdout, stderr)
	}
	got := stdout
	if code == exitUsage {
		got = stderr
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
			t.Errorf("stderr is %d lines: %q", n+1, stderr)
		}
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

// runGateCLI runs the command in-process, as run does.
func runGateCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, context.Background(), args...)
}

// synthRun describes a synthetic run: two phases of 4 s at 50 first attempts per second,
// answered in baseLat and peakLat; every failEvery-th request fails fast with a 503 (0: none).
type synthRun struct {
	profile   string
	gate      []string
	baseLat   time.Duration
	peakLat   time.Duration
	failEvery int
	// rps and phaseSecs override the rate (50) and each phase's length (4 s).
	rps       float64
	phaseSecs int
}

func writeSynthRun(t *testing.T, s synthRun) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), s.profile+".st")
	start := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	r, secs := 50.0, 4
	if s.rps > 0 {
		r = s.rps
	}
	if s.phaseSecs > 0 {
		secs = s.phaseSecs
	}
	phaseLen := time.Duration(secs) * time.Second
	total := int(2 * float64(secs) * r)
	step := time.Duration(float64(time.Second) / r)
	h := results.Header{
		Target: "http://127.0.0.1:8080",
		Start:  start,
		Profile: profiles.Profile{
			Name: s.profile,
			Phases: []profiles.Phase{
				{Name: "base", Duration: profiles.Duration(phaseLen), Rate: &r},
				{Name: "peak", Duration: profiles.Duration(phaseLen), Rate: &r},
			},
			Client: profiles.Client{Timeout: profiles.Duration(time.Second)},
			SLO:    profiles.SLO{Latency: profiles.Duration(500 * time.Millisecond)},
			Gate:   s.gate,
		},
	}
	var recs []results.Record
	for i := range total {
		rec := results.Record{
			RequestID: uint64(i), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended:    start.UnixNano() + int64(i)*int64(step),
			ServiceTime: s.baseLat,
		}
		if i >= total/2 {
			rec.Phase, rec.ServiceTime = 1, s.peakLat
		}
		if s.failEvery > 0 && i%s.failEvery == 0 {
			rec.Kind, rec.Code, rec.ServiceTime, rec.Error = results.Kind5xx, 503, time.Millisecond, "503 Service Unavailable"
		}
		recs = append(recs, rec)
	}
	// A writer records attempts as they end.
	sort.SliceStable(recs, func(a, b int) bool { return recs[a].End() < recs[b].End() })
	w, err := results.Create(path, h, results.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(2*phaseLen + time.Second), Requests: uint64(total), Attempts: uint64(total)}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGateCommand(t *testing.T) {
	healthy := writeSynthRun(t, synthRun{profile: "ci", baseLat: 10 * time.Millisecond, peakLat: 40 * time.Millisecond})
	withGate := writeSynthRun(t, synthRun{profile: "ci", gate: []string{"p99<500ms", "verdict!=metastable"}, baseLat: 10 * time.Millisecond, peakLat: 40 * time.Millisecond})
	badGate := writeSynthRun(t, synthRun{profile: "ci", gate: []string{"p99<500"}, baseLat: 10 * time.Millisecond, peakLat: 40 * time.Millisecond})
	notResults := writeFile(t, "notes.txt", "not results\n")

	cases := []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout (exit 0/1) or of the one stderr line (exit 2)
	}{
		{"all pass", []string{"gate", "--threshold", "p99<500ms", "--threshold", "peak:p50<=41ms", "--threshold", "error_rate==0", healthy},
			exitOK, []string{"PASS  p99<500ms", "verdict: stable", "PASS: 3 of 3"}},
		{"phase fails", []string{"gate", "--threshold", "p99<500ms", "--threshold", "peak:p50<40ms", healthy},
			exitFail, []string{"FAIL  peak:p50<40ms", "p50 40ms", "FAIL: 1 of 2"}},
		{"profile gate list", []string{"gate", withGate}, exitOK, []string{"PASS  p99<500ms", "PASS  verdict!=metastable"}},
		{"profile and flags", []string{"gate", "--threshold", "goodput_ratio>0.999", withGate}, exitOK, []string{"3 of 3"}},
		{"no thresholds", []string{"gate", healthy}, exitUsage, []string{"no thresholds", "--threshold"}},
		{"bad expression", []string{"gate", "--threshold", "p99<fast", healthy}, exitUsage, []string{`"p99<fast"`, "300ms or 1.5s"}},
		{"bad profile gate", []string{"gate", badGate}, exitUsage, []string{"gate[0]", "no unit"}},
		{"unknown phase", []string{"gate", "--threshold", "surge:p99<1s", healthy}, exitUsage, []string{`"surge"`, "base, peak"}},
		{"no file", []string{"gate", "--threshold", "p99<1s"}, exitUsage, []string{"no results file"}},
		{"missing file", []string{"gate", "--threshold", "p99<1s", filepath.Join(t.TempDir(), "missing.st")}, exitUsage, []string{"missing.st"}},
		{"not results", []string{"gate", "--threshold", "p99<1s", notResults}, exitUsage, []string{"not a stormtest results file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkExit(t, tc.code, tc.want, tc.args...)
		})
	}
}

// TestGateDeadService is issue 11 at the CLI: 2 requests/s for 10 s, every one answered 503,
// passed "verdict==stable" with exit 0. Every verdict threshold must fail on it (exit 1) and
// say why, unless --allow-down is given.
func TestGateDeadService(t *testing.T) {
	dead := writeSynthRun(t, synthRun{profile: "dead", rps: 2, phaseSecs: 5, failEvery: 1})
	sparse := writeSynthRun(t, synthRun{profile: "sparse", rps: 2, phaseSecs: 5, baseLat: 10 * time.Millisecond, peakLat: 10 * time.Millisecond})
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"verdict==stable on a dead service", []string{"gate", "--threshold", "verdict==stable", dead},
			exitFail, []string{"FAIL  verdict==stable", "verdict: down", "100 % HTTP 503", "--allow-down"}},
		{"verdict!=metastable on a dead service", []string{"gate", "--threshold", "verdict!=metastable", dead},
			exitFail, []string{"FAIL  verdict!=metastable", "verdict: down"}},
		{"allowed down", []string{"gate", "--allow-down", "--threshold", "verdict!=metastable", dead},
			exitOK, []string{"PASS  verdict!=metastable"}},
		{"verdict==stable on too few requests", []string{"gate", "--threshold", "verdict==stable", sparse},
			exitFail, []string{"FAIL  verdict==stable", "verdict: inconclusive", "--allow-inconclusive"}},
		{"allowed inconclusive", []string{"gate", "--allow-inconclusive", "--threshold", "verdict!=metastable", sparse},
			exitOK, []string{"PASS  verdict!=metastable"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkExit(t, tc.code, tc.want, tc.args...)
		})
	}
}

func TestGateJUnit(t *testing.T) {
	run := writeSynthRun(t, synthRun{profile: "ci", gate: []string{"verdict!=metastable"}, baseLat: 10 * time.Millisecond, peakLat: 600 * time.Millisecond})
	junit := filepath.Join(t.TempDir(), "gate.xml")
	code, stdout, stderr := runGateCLI(t, "gate", "--junit", junit, "--threshold", "base:p99<100ms", "--threshold", "peak:p99<500ms", run)
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFail, stdout, stderr)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JUnit file is not XML: %v\n%s", err, data)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Tests != 3 || doc.Suites[0].Failures != 1 || !strings.Contains(doc.Suites[0].Name, "ci") {
		t.Fatalf("suites %+v", doc.Suites)
	}
	for _, c := range doc.Suites[0].Cases {
		if (c.Failure != nil) != (c.Name == "peak:p99<500ms") {
			t.Errorf("case %s: failure %+v", c.Name, c.Failure)
		}
		if c.Failure != nil && !strings.Contains(c.Failure.Message, "p99 was 600") {
			t.Errorf("failure message %q lacks the observed p99", c.Failure.Message)
		}
	}
}

func TestGateAndCompareHelp(t *testing.T) {
	for _, cmd := range []string{"gate", "compare"} {
		code, stdout, stderr := runGateCLI(t, cmd, "--help")
		if code != exitOK || !strings.Contains(stdout, "Example:") || !strings.Contains(stdout, "stormtest "+cmd+" ") {
			t.Errorf("%s --help: exit %d\n%s%s", cmd, code, stdout, stderr)
		}
	}
}
