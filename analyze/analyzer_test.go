package analyze

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

// naive recomputes the per-window counts of recs straight from the definitions.
func naive(recs []results.Record, slo time.Duration) map[int][4]int {
	win := func(t int64) int { return int((t - t0.UnixNano()) / int64(time.Second)) }
	out := map[int][4]int{}
	add := func(w, k int) { c := out[w]; c[k]++; out[w] = c }
	for _, r := range recs {
		if r.Attempt == 1 {
			add(win(r.Intended), 0)
		}
		add(win(r.Intended+int64(r.SendLag)), 1)
		switch {
		case r.OK() && r.RequestLatency() <= slo:
			add(win(r.End()), 2)
		case !r.OK():
			add(win(r.End()), 3)
		}
	}
	return out
}

func TestAnalyzerWindowCounts(t *testing.T) {
	h := testHeader(testfix.Phase("base", 5, 50), testfix.Phase("bad", 5, 80))
	recs := synth(
		stretch{secs: 5, rps: 50, okShare: 0.9, tries: 2},
		stretch{secs: 5, rps: 80, phase: 1, okShare: 0.5, tries: 3},
	)
	a := New(h, DefaultOptions())
	for i := range recs {
		a.Add(&recs[i])
	}
	rep := a.Finish(&results.Trailer{End: t0.Add(12 * time.Second), Attempts: uint64(len(recs))}, nil)

	want := naive(recs, 500*time.Millisecond)
	if len(rep.Windows) != 11 {
		t.Fatalf("%d windows, want 11 (10 s schedule plus the last retries)", len(rep.Windows))
	}
	for i, w := range rep.Windows {
		got := [4]int{int(w.IntendedRPS), int(w.OfferedRPS), int(w.GoodputRPS), int(w.ErrorRPS)}
		if got != want[i] {
			t.Errorf("window %d: intended/offered/goodput/errors %v, want %v", i, got, want[i])
		}
	}
	if rep.Windows[0].IntendedRPS != 50 || rep.Windows[7].IntendedRPS != 80 {
		t.Errorf("intended rps %v and %v, want 50 and 80", rep.Windows[0].IntendedRPS, rep.Windows[7].IntendedRPS)
	}
	if rep.Requests != 5*50+5*80 || rep.Attempts != uint64(len(recs)) {
		t.Errorf("requests %d attempts %d, want %d %d", rep.Requests, rep.Attempts, 5*50+5*80, len(recs))
	}
	// Retried successes end over a second after their first attempt: past the 500 ms SLO.
	if rep.Successes <= rep.Goodput {
		t.Errorf("successes %d goodput %d: retried successes should miss the SLO", rep.Successes, rep.Goodput)
	}
	if rep.Errors["timeout"] != rep.Attempts-rep.Successes {
		t.Errorf("errors %v, want every failure a timeout", rep.Errors)
	}
	if p := rep.Phases[1]; p.Name != "bad" || p.IntendedRPS != 80 || p.StartSeconds != 5 || p.EndSeconds != 10 {
		t.Errorf("phase 1 = %+v", p)
	}
	if g := rep.Groups; len(g) != 2 || g[0].Name != "web" || g[0].Requests+g[1].Requests != rep.Requests {
		t.Errorf("groups %+v", g)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings %q, want none", rep.Warnings)
	}
}

func TestAnalyzerPercentiles(t *testing.T) {
	a := New(testHeader(testfix.Phase("base", 10, 100)), DefaultOptions())
	const n = 10_000
	for i := range n {
		lat := time.Duration(i%100+1) * time.Millisecond // uniform 1..100 ms
		r := results.Record{
			Attempt: 1, Kind: results.KindOK,
			Intended:    t0.Add(3*time.Second).UnixNano() + int64(i)*int64(50*time.Microsecond),
			ServiceTime: lat,
		}
		a.Add(&r)
	}
	rep := a.Finish(nil, nil)
	close := func(name string, got, want float64) {
		t.Helper()
		// 3 significant digits: any value is within 0.1% of what was recorded.
		if math.Abs(got-want) > want*1e-3 {
			t.Errorf("%s = %v ms, want %v ms ± 0.1%%", name, got, want)
		}
	}
	close("p50", rep.Latency.P50, 50)
	close("p90", rep.Latency.P90, 90)
	close("p99", rep.Latency.P99, 99)
	close("p99.9", rep.Latency.P999, 100)
	close("max", rep.Latency.Max, 100)
	close("service p50", rep.Latency.ServiceTime.P50, 50)
	close("phase p99", rep.Phases[0].P99, 99)
	// All ended within window 3.
	w3 := rep.Windows[3]
	if w3.P50 == 0 || w3.P99 == 0 {
		t.Fatalf("window 3 has no latency: %+v", w3)
	}
	close("window p50", w3.P50, 50)
	close("window p99", w3.P99, 99)
	close("window max", w3.Max, 100)
	if rep.Latency.Count != n {
		t.Errorf("count %d, want %d", rep.Latency.Count, n)
	}
}

func TestAnalyzerLateRecords(t *testing.T) {
	a := New(testHeader(testfix.Phase("base", 100, 10)), DefaultOptions())
	add := func(sec float64, kind results.Kind) {
		r := results.Record{Attempt: 1, Kind: kind, Intended: t0.Add(time.Duration(sec * float64(time.Second))).UnixNano(),
			ServiceTime: 7 * time.Millisecond}
		a.Add(&r)
	}
	add(50.5, results.KindOK)
	add(10.5, results.Kind5xx) // 40 s late: its histogram window is long closed
	add(49.5, results.KindOK)  // 1 s late: still open
	rep := a.Finish(nil, nil)
	if a.late != 1 {
		t.Errorf("late = %d, want 1", a.late)
	}
	if rep.Windows[10].ErrorRPS != 1 || rep.Windows[49].GoodputRPS != 1 || rep.Windows[50].GoodputRPS != 1 {
		t.Error("counters of late records must still land in their own windows")
	}
	if rep.Windows[49].P50 == 0 {
		t.Error("a slightly late record should have its latency in its own window")
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "1 attempts ended more than 10s before") {
		t.Errorf("warnings %q lack the late-record warning", rep.Warnings)
	}
}

// TestAnalyzerMemoryBounded feeds 2M records over a 2000 s timeline: the number of live
// histograms must not depend on that.
func TestAnalyzerMemoryBounded(t *testing.T) {
	const secs = 2000
	records := 2_000_000
	if testing.Short() || raceEnabled {
		records = 500_000 // the bound is the same; the race detector makes 2M slow
	}
	a := New(testHeader(testfix.Phase("a", secs/2, 1000), testfix.Phase("b", secs/2, 1000)), DefaultOptions())
	before := a.liveHists
	if limit := len(a.ring) + len(a.phases) + len(a.groups) + 3; before != limit || len(a.ring) > 16 {
		t.Fatalf("%d histograms after New (ring %d), want ring+phases+groups+3 = %d with a small ring", before, len(a.ring), limit)
	}
	step := int64(secs*time.Second) / int64(records)
	r := results.Record{Attempt: 1, Kind: results.KindOK, ServiceTime: 2 * time.Millisecond}
	for i := range records {
		r.Intended = t0.UnixNano() + int64(i)*step
		r.Phase = uint8(i * 2 / records)
		r.Group = uint8(i % 2)
		r.ServiceTime = time.Duration(1+i%7) * time.Millisecond
		a.Add(&r)
	}
	if a.liveHists != before {
		t.Errorf("%d live histograms after %d records, want %d", a.liveHists, records, before)
	}
	if len(a.wins) > secs+1 || cap(a.wins) > 2*secs {
		t.Errorf("%d windows (capacity %d), want %d and the last attempts' ends", len(a.wins), cap(a.wins), secs)
	}
	rep := a.Finish(nil, nil)
	if rep.Verdict != Stable || rep.Requests != uint64(records) {
		t.Errorf("verdict %s, %d requests", rep.Verdict, rep.Requests)
	}
	if w := rep.Windows[1000]; w.P50 == 0 || w.Max < 6.9 {
		t.Errorf("window 1000 latency %+v: closed windows must keep their percentiles", w)
	}
}

func TestAnalyzerAddDoesNotAllocate(t *testing.T) {
	a := New(testHeader(testfix.Phase("a", 600, 1000)), DefaultOptions())
	r := results.Record{Attempt: 1, Kind: results.KindOK, ServiceTime: 3 * time.Millisecond, Intended: t0.UnixNano()}
	next := func() {
		r.Intended += int64(time.Millisecond)
		r.Attempt = uint8(1 + r.Intended/int64(time.Millisecond)%3)
		r.Kind = results.Kind(r.Intended / int64(time.Millisecond) % 8)
		a.Add(&r)
	}
	for range 20_000 { // warm up: fill and slide the open window set
		next()
	}
	// 10,000 runs cross 10 windows, so closing and reusing histograms is measured too.
	if allocs := testing.AllocsPerRun(10_000, next); allocs != 0 {
		t.Errorf("Add allocates %v times per record, want 0", allocs)
	}
}

// metastableRun feeds an analyzer a synthetic run: 100 rps served well for 30 s, a 300 rps
// surge for 10 s, then 100 rps again with only 20 % of requests succeeding, on 3 attempts each.
func metastableRun() (*Analyzer, []results.Record) {
	h := testHeader(testfix.Phase("base", 30, 100), testfix.Phase("surge", 10, 300), testfix.Phase("after", 40, 100))
	recs := synth(
		stretch{secs: 30, rps: 100, okShare: 1, tries: 3},
		stretch{secs: 10, rps: 300, phase: 1, okShare: 0.2, tries: 3},
		stretch{secs: 40, rps: 100, phase: 2, okShare: 0.2, tries: 3},
	)
	a := New(h, DefaultOptions())
	for i := range recs {
		a.Add(&recs[i])
	}
	return a, recs
}

func TestAnalyzerMetastableRun(t *testing.T) {
	a, recs := metastableRun()
	rep := a.Finish(&results.Trailer{End: t0.Add(80 * time.Second), Attempts: uint64(len(recs))}, nil)
	if rep.Verdict != Metastable {
		t.Fatalf("verdict %s, want metastable; evidence %q", rep.Verdict, rep.Evidence)
	}
	if rep.OnsetSeconds == nil || *rep.OnsetSeconds != 30 || rep.TriggerEndSeconds == nil || *rep.TriggerEndSeconds != 40 ||
		rep.RecoverySeconds != nil || rep.TriggerPhase != "surge" {
		t.Errorf("onset %v trigger end %v recovery %v phase %q, want 30 40 nil surge",
			ptr(rep.OnsetSeconds), ptr(rep.TriggerEndSeconds), rep.RecoverySeconds, rep.TriggerPhase)
	}
	if a := rep.AmplificationAfterTrigger; a == nil || *a < 2 {
		t.Errorf("amplification after trigger %v, want above 2", ptr(a))
	}

	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"verdict":"metastable"`, `"trigger_end_seconds":40`, `"recovery_seconds":null`,
		`"amplification_after_trigger":`, `"service_time":{`, `"p999_ms":`, `"start_s":30`, `"healthy":true`, `"healthy":false`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestAnalyzerWarnings(t *testing.T) {
	a := New(testHeader(testfix.Phase("base", 60, 10)), DefaultOptions())
	r := results.Record{Attempt: 1, Kind: results.KindOK, Intended: t0.UnixNano(), SendLag: 80 * time.Millisecond,
		ServiceTime: time.Millisecond, Phase: 9}
	a.Add(&r)
	rep := a.Finish(&results.Trailer{End: t0.Add(20 * time.Second), Interrupted: true, Reason: "signal: interrupt", Attempts: 5},
		&results.DamageError{Offset: 4096, Records: 1, Reason: "bad checksum"})
	if rep.Windows[0].Healthy != nil {
		t.Errorf("window 0 judged on one request")
	}
	all := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{
		"generator lag p99 is 80.1 ms (above 50ms)", // 80 ms within HDR precision
		"results cut short: damaged at byte 4096 after 1 records: bad checksum",
		"run interrupted after 20 s of the profile's 60 s (signal: interrupt)",
		"too few requests to judge",
		"1 records name a phase",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if rep := New(testHeader(testfix.Phase("base", 60, 10)), DefaultOptions()).Finish(nil, nil); !strings.Contains(
		strings.Join(rep.Warnings, "\n"), "no trailer") {
		t.Errorf("warnings %q lack the missing trailer", rep.Warnings)
	}
}

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func BenchmarkAnalyzerAdd(b *testing.B) {
	a := New(testHeader(testfix.Phase("a", 3600, 1000)), DefaultOptions())
	r := results.Record{Attempt: 1, Kind: results.KindOK, ServiceTime: 3 * time.Millisecond, Intended: t0.UnixNano()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// 100k records per second of timeline: the open window set keeps sliding, and even a
		// long benchmark stays inside the hour-long schedule.
		r.Intended += int64(10 * time.Microsecond)
		r.ServiceTime = time.Duration(1+i%50) * time.Millisecond
		a.Add(&r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
