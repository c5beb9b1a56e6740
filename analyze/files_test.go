package analyze

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	h := testHeader(testfix.Phase("base", 30, 100), testfix.Phase("surge", 10, 300), testfix.Phase("after", 40, 100))
	recs := synth(
		stretch{secs: 30, rps: 100, okShare: 1, tries: 3},
		stretch{secs: 10, rps: 300, phase: 1, okShare: 0.2, tries: 3},
		stretch{secs: 40, rps: 100, phase: 2, okShare: 0.2, tries: 3},
	)
	var shard [2][]results.Record
	for _, r := range recs {
		shard[r.RequestID%2] = append(shard[r.RequestID%2], r)
	}
	paths := []string{filepath.Join(dir, "s0.storm"), filepath.Join(dir, "s1.storm")}
	for i, p := range paths {
		hi := h
		hi.Shard, hi.Shards = i, 2
		hi.Start = h.Start.Add(time.Duration(i) * time.Millisecond)
		testfix.WriteResults(t, p, hi, shard[i], &results.Trailer{End: hi.Start.Add(80 * time.Second), Attempts: uint64(len(shard[i])),
			// Each shard's generator saw its responses over HTTP/2 on 4 connections.
			Connections: 4, Protocols: map[string]uint64{"HTTP/2.0": uint64(len(shard[i]))}})
	}

	t.Run("shards merge", func(t *testing.T) {
		rep, err := Files(paths, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Metastable || rep.Attempts != uint64(len(recs)) || rep.Requests != 30*100+10*300+40*100 {
			t.Errorf("verdict %s attempts %d requests %d", rep.Verdict, rep.Attempts, rep.Requests)
		}
		// The shards' connections and protocols add up.
		if rep.Connections != 8 || !reflect.DeepEqual(rep.Protocols, map[string]uint64{"HTTP/2.0": uint64(len(recs))}) {
			t.Errorf("connections %d, protocols %v", rep.Connections, rep.Protocols)
		}
		if !rep.Start.Equal(h.Start) || len(rep.Warnings) != 0 {
			t.Errorf("start %v (want the earliest, %v), warnings %q", rep.Start, h.Start, rep.Warnings)
		}
	})
	t.Run("unrelated file", func(t *testing.T) {
		other := h
		other.Profile.Name = "other"
		p := filepath.Join(dir, "other.storm")
		testfix.WriteResults(t, p, other, shard[0][:10], &results.Trailer{End: other.Start.Add(80 * time.Second), Attempts: uint64(len(shard[0][:10]))})
		_, err := Files([]string{paths[0], p}, DefaultOptions())
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v, want one naming %s", err, p)
		}
	})
	t.Run("same shard twice", func(t *testing.T) {
		// Files without a run id (written before shards had one) cannot tell a copy from
		// another run's shard: the same index twice is an error.
		cp := filepath.Join(dir, "copy.storm")
		data, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Files([]string{paths[0], cp}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "both shard 0") {
			t.Errorf("error %v, want one saying both are shard 0", err)
		}
	})
	t.Run("same path twice is read once", func(t *testing.T) {
		once, err := Files(paths, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		twice, err := Files(append(paths, paths[0]), DefaultOptions())
		if err != nil || twice.Attempts != once.Attempts {
			t.Errorf("same path twice: %v, %d attempts, want %d", err, twice.Attempts, once.Attempts)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		p := filepath.Join(dir, "missing.storm")
		if _, err := Files([]string{p}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v, want one naming %s", err, p)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		p := filepath.Join(dir, "cut.storm")
		testfix.WriteResults(t, p, h, recs, nil) // no trailer: cut as a crash would
		rep, err := Files([]string{p}, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(rep.Warnings, "\n")
		if !strings.Contains(all, "no trailer") || !strings.Contains(all, "results cut short: "+p+": damaged at byte") {
			t.Errorf("warnings %q, want no trailer and damage naming the file", rep.Warnings)
		}
		if rep.Attempts == 0 || rep.Attempts >= uint64(len(recs)) {
			t.Errorf("%d attempts read from a file cut to 2/3 of %d", rep.Attempts, len(recs))
		}
	})
}

// TestAnalyzerIsASink: an Analyzer written to directly, as an attack writes to it, reports
// what Files reports on the file recorded from the same stream, and the report carries the
// profile's SLO and gate: list that gate and compare judge by.
func TestAnalyzerIsASink(t *testing.T) {
	h := testHeader(testfix.Phase("base", 20, 100), testfix.Phase("surge", 10, 300), testfix.Phase("after", 20, 100))
	h.Profile.Gate = []string{"p99<1s", "verdict!=metastable"}
	recs := synth(
		stretch{secs: 20, rps: 100, okShare: 1, tries: 3},
		stretch{secs: 10, rps: 300, phase: 1, okShare: 0.2, tries: 3},
		stretch{secs: 20, rps: 100, phase: 2, okShare: 1, tries: 3},
	)
	trailer := results.Trailer{End: h.Start.Add(80 * time.Second), Attempts: uint64(len(recs))}
	path := filepath.Join(t.TempDir(), "run.storm")
	file := results.NewFileSink(path, results.CreateOptions{FlushInterval: time.Hour})
	a := NewAnalyzer(DefaultOptions())
	sink := results.Tee(file, a)
	if err := sink.Begin(h); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := sink.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.End(trailer); err != nil {
		t.Fatal(err)
	}
	live := a.Report(nil)
	read, err := Files([]string{path}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(live, read) {
		t.Errorf("the analysis of the stream differs from that of its file:\n%+v\n%+v", live, read)
	}
	if live.SLO != 500*time.Millisecond || !reflect.DeepEqual(live.Gate, h.Profile.Gate) {
		t.Errorf("report SLO %s gate %q, want the header's %s %q", live.SLO, live.Gate, time.Duration(h.Profile.SLO.Latency), h.Profile.Gate)
	}
}
