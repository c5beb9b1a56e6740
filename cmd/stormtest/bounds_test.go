package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// writeStretchedRun writes what an older stormtest wrote for
// `attack --profile steady --time-scale 1e300`: a header whose profile lasts 2562047 h (the
// scaling saturated at the largest duration), and a few attempts.
func writeStretchedRun(t *testing.T) string {
	t.Helper()
	p, _ := profiles.Builtin("steady")
	p = p.Scaled(1, 1e300)
	path := filepath.Join(t.TempDir(), "stretched.st")
	start := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	w, err := results.Create(path, results.Header{Target: "http://127.0.0.1:8080", Start: start, Profile: *p, Groups: []string{"default"}}, results.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		rec := results.Record{RequestID: uint64(i), Attempt: 1, Kind: results.KindOK, Code: 200,
			Intended: start.UnixNano() + int64(i)*int64(10*time.Millisecond), ServiceTime: 2 * time.Millisecond}
		if err := w.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(time.Second), Requests: 50, Attempts: 50}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOutOfBoundResultsFileIsRefused: such a file made analyze, report, gate and compare
// panic or run out of memory; each now exits 2 with one line naming the bound.
func TestOutOfBoundResultsFileIsRefused(t *testing.T) {
	run := writeStretchedRun(t)
	out := filepath.Join(t.TempDir(), "r.html")
	tests := []struct {
		name string
		args []string
	}{
		{"analyze", []string{"analyze", run}},
		{"report", []string{"report", "-o", out, run}},
		{"gate", []string{"gate", "--threshold", "p99<1s", run}},
		{"compare", []string{"compare", run, run}},
		{"export", []string{"export", "--out", filepath.Join(t.TempDir(), "x.csv"), run}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkExit(t, exitUsage, []string{"stretched.st", "longer than the maximum 24h", "MaxDuration"}, tt.args...)
		})
	}
}

// TestScaledProfileBounds: --rate-scale and --time-scale are checked against the bounds
// after scaling, with exit 2 and one line naming the bound.
func TestScaledProfileBounds(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"rate-scale 1e300", []string{"--rate-scale", "1e300"}, []string{"scaled by rate 1e+300", "maximum rate 1000000", "MaxRate"}},
		{"time-scale 1e300", []string{"--time-scale", "1e300"}, []string{"scaled by rate 1, time 1e+300", "maximum 24h", "MaxDuration"}},
		{"rate-scale +Inf", []string{"--rate-scale", "+Inf"}, []string{"--rate-scale", "finite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"profiles", "show"}, tt.flags...)
			checkExit(t, exitUsage, tt.want, append(args, "steady")...)
		})
	}
	// At the bound: steady is 100/s for 20s.
	checkExit(t, exitOK, []string{"rate: 1e+06"}, "profiles", "show", "--rate-scale", "10000", "steady")
	checkExit(t, exitOK, []string{"duration: 24h"}, "profiles", "show", "--time-scale", "4320", "steady")
}

// TestAnalyzeFlagBounds: analyze's flags are validated like profile fields. --window 1ns
// ran out of memory after a 153-line stack; --tolerance 2 was silently replaced by 0.1.
func TestAnalyzeFlagBounds(t *testing.T) {
	run := writeSynthRun(t, synthRun{profile: "flags", baseLat: time.Millisecond, peakLat: time.Millisecond})
	tests := []struct {
		flag, ok, bad string
		want          []string
	}{
		{"--window", "100ms", "99ms", []string{"--window 99ms", "at least 100ms", "MinWindow"}},
		{"--window", "1h", "1h0m1s", []string{"--window", "at most 1h", "MaxWindow"}},
		{"--window", "1s", "1ns", []string{"--window 1ns", "MinWindow"}},
		{"--window", "1s", "1us", []string{"--window 1µs", "MinWindow"}},
		{"--tolerance", "0.99", "1", []string{"--tolerance 1", "(0, 1)"}},
		{"--tolerance", "0.01", "0", []string{"--tolerance 0", "(0, 1)"}},
		{"--band", "0.5", "1.5", []string{"--band 1.5", "(0, 1)"}},
		{"--sustain", "100", "101", []string{"--sustain 101", "1 to 100"}},
		{"--sustain", "1", "0", []string{"--sustain 0", "1 to 100"}},
		{"--min-count", "1000000", "1000001", []string{"--min-count 1000001", "1 to 1000000"}},
		{"--grace", "24h", "25h", []string{"--grace 25h0m0s", "0 (automatic) to 24h"}},
		{"--grace", "0s", "-1s", []string{"--grace -1s", "0 (automatic) to 24h"}},
		{"--capacity", "1000000", "1e300", []string{"--capacity 1e+300", "MaxRate"}},
		{"--capacity", "0", "-1", []string{"--capacity -1", "0 (estimate) to 1000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.flag+" "+tt.bad, func(t *testing.T) {
			checkExit(t, exitOK, nil, "analyze", tt.flag, tt.ok, run)
			for _, cmd := range [][]string{
				{"analyze"}, {"gate", "--threshold", "p99<1s"}, {"report", "-o", filepath.Join(t.TempDir(), "r.html")},
			} {
				args := append(append(cmd, tt.flag, tt.bad), run)
				checkExit(t, exitUsage, tt.want, args...)
			}
		})
	}
}
