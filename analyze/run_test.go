package analyze

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

// writeShard writes one shard's records with a trailer (clock may be nil), or, with complete
// false, cut short as a crashed pod leaves it.
func writeShard(t *testing.T, path string, h results.Header, recs []results.Record, complete bool, clock *results.ClockOffset) {
	t.Helper()
	w, err := results.Create(path, h, results.CreateOptions{FlushInterval: time.Hour, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var requests uint64
	for _, r := range recs {
		if r.Attempt <= 1 {
			requests++
		}
	}
	if err := w.Close(results.Trailer{End: h.Start.Add(time.Minute), Requests: requests, Attempts: uint64(len(recs)), Clock: clock}); err != nil {
		t.Fatal(err)
	}
	if !complete {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()/3); err != nil {
			t.Fatal(err)
		}
	}
}

// shardRun splits a synthetic run four ways by request (as attack does) into dir, every shard
// with the same clock offset; it returns the files, the whole run's records and the header.
func shardRun(t *testing.T, dir string, n int) ([]string, []results.Record, results.Header) {
	t.Helper()
	h := testHeader(testfix.Phase("base", 20, 100), testfix.Phase("surge", 10, 300), testfix.Phase("after", 20, 100))
	h.RunID, h.Shards = "test-20250106t093000z-abcd", n
	recs := synth(
		stretch{secs: 20, rps: 100, okShare: 1, tries: 3},
		stretch{secs: 10, rps: 300, phase: 1, okShare: 0.2, tries: 3},
		stretch{secs: 20, rps: 100, phase: 2, okShare: 0.2, tries: 3},
	)
	parts := make([][]results.Record, n)
	for _, r := range recs {
		parts[r.RequestID%uint64(n)] = append(parts[r.RequestID%uint64(n)], r)
	}
	var paths []string
	for i := range n {
		hi := h
		hi.Shard = i
		p := filepath.Join(dir, "shard-"+string(rune('0'+i))+".st")
		writeShard(t, p, hi, parts[i], true, &results.ClockOffset{Offset: 3 * time.Millisecond, Uncertainty: 2 * time.Millisecond, Samples: 500})
		paths = append(paths, p)
	}
	return paths, recs, h
}

// TestMergeIsOneRun: four shards merged (as files, a directory or a glob) analyse exactly as
// the one file holding all their records.
func TestMergeIsOneRun(t *testing.T) {
	dir := t.TempDir()
	paths, recs, h := shardRun(t, filepath.Join(dir), 4)
	whole := filepath.Join(t.TempDir(), "whole.st")
	hw := h
	hw.Shards = 1
	writeShard(t, whole, hw, recs, true, nil)
	want, err := Files([]string{whole}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gate.xml"), []byte("<testsuite/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"files":     paths,
		"directory": {dir},
		"glob":      {filepath.Join(dir, "shard-*.st")},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Files(args, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got.Shards == nil || got.Shards.Present != 4 || got.Shards.Coverage != 1 || len(got.Shards.Missing) != 0 ||
				got.Shards.SkewMS == nil || *got.Shards.SkewMS != 0 || got.Shards.SkewSource != skewFromDate {
				t.Fatalf("shards summary %+v", got.Shards)
			}
			if len(got.Warnings) != 0 {
				t.Errorf("warnings %q", got.Warnings)
			}
			// Everything but the summary of shards is the same analysis.
			g, w := *got, *want
			g.Shards, w.Shards = nil, nil
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			if string(gj) != string(wj) {
				t.Errorf("merged analysis differs from the one-file analysis:\n%s\n%s", gj, wj)
			}
		})
	}
}

func TestMergeRefusesAndRepairs(t *testing.T) {
	dir := t.TempDir()
	paths, recs, h := shardRun(t, dir, 4)
	clock := &results.ClockOffset{Offset: 3 * time.Millisecond, Uncertainty: 2 * time.Millisecond, Samples: 500}
	one := func(t *testing.T, name string, mutate func(*results.Header), complete bool, c *results.ClockOffset) string {
		t.Helper()
		hi := h
		hi.Shard = 2
		mutate(&hi)
		p := filepath.Join(t.TempDir(), name)
		var part []results.Record
		for _, r := range recs {
			if r.RequestID%4 == 2 {
				part = append(part, r)
			}
		}
		writeShard(t, p, hi, part, complete, c)
		return p
	}
	cases := []struct {
		name    string
		args    func(t *testing.T) []string
		opt     MergeOptions
		wantErr string   // one line, naming what is wrong
		warn    []string // or these warnings
		check   func(t *testing.T, rep *Report)
	}{
		{
			name:    "missing shard",
			args:    func(t *testing.T) []string { return []string{paths[0], paths[1], paths[3]} },
			wantErr: "run test-20250106t093000z-abcd is missing shard 2 (3/4 present): give every shard's file (a directory or a glob takes them all), or --allow-partial to analyse 3/4 of the load",
		},
		{
			name: "missing shard allowed",
			args: func(t *testing.T) []string { return []string{paths[0], paths[1], paths[3]} },
			opt:  MergeOptions{AllowPartial: true},
			warn: []string{"shard 2 of run test-20250106t093000z-abcd missing: the analysis covers 3/4 of the load (--allow-partial)"},
			check: func(t *testing.T, rep *Report) {
				if rep.Shards.Coverage != 0.75 || !reflect.DeepEqual(rep.Shards.Missing, []int{2}) ||
					!strings.Contains(rep.Shards.Line(), "the analysis covers 3/4 of the load") {
					t.Errorf("summary %+v, line %q", rep.Shards, rep.Shards.Line())
				}
			},
		},
		{
			name: "duplicate shard: the complete copy is kept",
			args: func(t *testing.T) []string {
				cut := one(t, "shard-2-first-pod.st", func(*results.Header) {}, false, clock)
				return append([]string{cut}, paths...)
			},
			warn: []string{"shard 2 of run test-20250106t093000z-abcd is present twice (a re-run pod or a copied file): kept " + paths[2] + " (complete, "},
			check: func(t *testing.T, rep *Report) {
				if rep.Attempts != uint64(len(recs)) || len(rep.Shards.Ignored) != 1 || !strings.Contains(rep.Shards.Ignored[0], "shard-2-first-pod.st") {
					t.Errorf("%d attempts (want %d), ignored %q", rep.Attempts, len(recs), rep.Shards.Ignored)
				}
			},
		},
		{
			name: "mixed runs",
			args: func(t *testing.T) []string {
				return append(paths[:3:3], one(t, "other-run.st", func(h *results.Header) { h.RunID = "test-20250107t093000z-ffff" }, true, clock))
			},
			wantErr: "is run test-20250107t093000z-ffff but " + paths[0] + " is run test-20250106t093000z-abcd: files of different runs cannot be merged",
		},
		{
			name: "same run id, different profile",
			args: func(t *testing.T) []string {
				return append(paths[:2:2], one(t, "rescaled.st", func(h *results.Header) { h.Profile.Phases = h.Profile.Phases[:2] }, true, clock), paths[3])
			},
			wantErr: "ran different profiles",
		},
		{
			name: "clock skew past the bound",
			args: func(t *testing.T) []string {
				return append(paths[:2:2], one(t, "skewed.st", func(*results.Header) {}, true,
					&results.ClockOffset{Offset: 903 * time.Millisecond, Uncertainty: 3 * time.Millisecond, Samples: 400}), paths[3])
			},
			wantErr: "clock skew: shard 2 (",
		},
		{
			name: "clock skew within a raised bound",
			args: func(t *testing.T) []string {
				return append(paths[:2:2], one(t, "skewed.st", func(*results.Header) {}, true,
					&results.ClockOffset{Offset: 903 * time.Millisecond, Uncertainty: 3 * time.Millisecond, Samples: 400}), paths[3])
			},
			opt: MergeOptions{MaxSkew: 2 * time.Second},
			check: func(t *testing.T, rep *Report) {
				if rep.Shards.SkewMS == nil || *rep.Shards.SkewMS != 900 || rep.Shards.SkewUncertaintyMS != 5 {
					t.Errorf("skew %v ± %v, want 900 ± 5 ms", rep.Shards.SkewMS, rep.Shards.SkewUncertaintyMS)
				}
			},
		},
		{
			name: "starts apart, no clock estimate",
			args: func(t *testing.T) []string {
				return append(paths[:2:2], one(t, "late-start-at.st", func(h *results.Header) { h.Start = h.Start.Add(2 * time.Second) }, true, nil), paths[3])
			},
			wantErr: "started 2s after shard 0 (" + paths[0] + ") by their recorded starts, more than --max-skew 250ms",
		},
		{
			name: "late start is reported",
			args: func(t *testing.T) []string {
				return append(paths[:2:2], one(t, "late.st", func(h *results.Header) { h.LateStart = 1200 * time.Millisecond }, true, clock), paths[3])
			},
			warn: []string{"late.st) started 1.2s late"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Merge(tc.args(t), DefaultOptions(), tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v\nwant one line containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(rep.Warnings, "\n")
			for _, w := range tc.warn {
				if !strings.Contains(all, w) {
					t.Errorf("warnings %q\nwant %q", rep.Warnings, w)
				}
			}
			if tc.check != nil {
				tc.check(t, rep)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	if _, err := Expand([]string{dir}); err == nil || !strings.Contains(err.Error(), "holds no results files") {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := Expand([]string{filepath.Join(dir, "*.st")}); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("glob without matches: %v", err)
	}
}
