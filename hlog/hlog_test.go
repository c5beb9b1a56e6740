package hlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

var testStart = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func testHeader() results.Header {
	rate := 1000.0
	phase := func(name string) profiles.Phase {
		return profiles.Phase{Name: name, Duration: profiles.Duration(4 * time.Second), Rate: &rate}
	}
	return results.Header{
		Format: results.FormatVersion, Generator: "stormtest test", Target: "http://127.0.0.1:8080",
		Start: testStart,
		Profile: profiles.Profile{
			Name:   "spike",
			Phases: []profiles.Phase{phase("warm up"), phase("peak"), phase("after")},
			Client: profiles.Client{Timeout: profiles.Duration(time.Second)},
		},
		Groups: []string{"web"},
	}
}

// synthetic is n attempts over 12 s in three phases with log-normal latencies (the peak
// slower), a few timeouts, a sub-microsecond and an over-an-hour outlier, in completion
// order with some jitter.
func synthetic(n int) []results.Record {
	rng := rand.New(rand.NewPCG(3, 5))
	recs := make([]results.Record, 0, n)
	for i := range n {
		at := time.Duration(i) * 12 * time.Second / time.Duration(n)
		phase := uint8(at / (4 * time.Second))
		mu := math.Log(5e6)
		if phase == 1 {
			mu = math.Log(80e6)
		}
		svc := time.Duration(math.Exp(mu + 0.9*rng.NormFloat64()))
		if rng.Float64() < 0.01 {
			svc = time.Second
		}
		recs = append(recs, results.Record{
			RequestID: uint64(i), Attempt: 1, Phase: phase, Kind: results.KindOK, Code: 200,
			Intended: testStart.UnixNano() + int64(at), SendLag: time.Duration(rng.IntN(int(time.Millisecond))), ServiceTime: svc,
		})
	}
	recs[10].ServiceTime, recs[10].SendLag = 300, 0 // 300 ns: recorded as 1 µs
	recs[20].ServiceTime = 2 * time.Hour            // clamped to 1 h
	// Completion order, with up to 5 ms of recording jitter.
	jit := make([]int64, n)
	for i := range jit {
		jit[i] = recs[i].End() + rng.Int64N(int64(5*time.Millisecond))
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(jit[a] - jit[b]) })
	out := make([]results.Record, n)
	for i, j := range idx {
		out[i] = recs[j]
	}
	return out
}

func writeLog(t testing.TB, path string, interval time.Duration) ([]byte, error) {
	t.Helper()
	r, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	err = Write(&buf, r, interval)
	return buf.Bytes(), err
}

// expected is our own per-tag histograms of the same attempts ("" is the whole run).
func expected(h results.Header, recs []results.Record) map[string]*hdr.Histogram {
	want := map[string]*hdr.Histogram{"": NewHistogram()}
	for _, rec := range recs {
		tag := Tag(h, rec.Phase)
		if want[tag] == nil {
			want[tag] = NewHistogram()
		}
		v := Micros(rec.Latency())
		want[""].RecordValue(v)
		want[tag].RecordValue(v)
	}
	return want
}

// parsed is one interval line.
type parsed struct {
	tag           string
	start, length float64
	max           float64
	hist          *hdr.Histogram
}

func parseLog(t *testing.T, log []byte) (head []string, lines []parsed) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, `"`) {
			head = append(head, line)
			continue
		}
		var p parsed
		if rest, ok := strings.CutPrefix(line, "Tag="); ok {
			p.tag, line, _ = strings.Cut(rest, ",")
		}
		f := strings.Split(line, ",")
		if len(f) != 4 {
			t.Fatalf("line %q has %d fields", line, len(f))
		}
		p.start, _ = strconv.ParseFloat(f[0], 64)
		p.length, _ = strconv.ParseFloat(f[1], 64)
		p.max, _ = strconv.ParseFloat(f[2], 64)
		var err error
		if p.hist, err = hdr.Decode([]byte(f[3])); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		lines = append(lines, p)
	}
	return head, lines
}

func TestWrite(t *testing.T) {
	recs := synthetic(30000)
	path := testfix.WriteTemp(t, testHeader(), recs)
	log, err := writeLog(t, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	head, lines := parseLog(t, log)
	wantHead := []string{
		"#[Histogram log format version 1.3]",
		"#[StartTime: 1741964966.535 (seconds since epoch), Fri Mar 14 15:09:26 UTC 2025]",
		"#[BaseTime: 0.000 (seconds since epoch)]",
	}
	if !slices.Equal(head[:3], wantHead) || head[len(head)-1] != `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"` {
		t.Fatalf("header lines %q", head)
	}
	want := expected(testHeader(), recs)
	got := map[string]*hdr.Histogram{}
	lastStart := map[string]float64{}
	for _, p := range lines {
		if got[p.tag] == nil {
			got[p.tag] = NewHistogram()
		}
		got[p.tag].Merge(p.hist)
		if p.length != 1 {
			t.Errorf("interval length %v", p.length)
		}
		if math.Abs(p.max-float64(p.hist.Max())/1000) > 0.0005 {
			t.Errorf("Interval_Max %v for a histogram max of %d µs", p.max, p.hist.Max())
		}
		if p.start <= lastStart[p.tag] {
			t.Errorf("tag %q: interval at %.3f after one at %.3f", p.tag, p.start, lastStart[p.tag])
		}
		lastStart[p.tag] = p.start
		if off := math.Mod(p.start-1741964966.535, 1); math.Abs(off) > 1e-3 && math.Abs(off-1) > 1e-3 {
			t.Errorf("interval start %.3f not aligned to the run's start", p.start)
		}
	}
	if len(got) != 4 || got["warm_up"] == nil {
		t.Fatalf("tags %v, want the whole run, warm_up, peak and after", slices.Collect(mapKeys(got)))
	}
	for tag, w := range want {
		if !got[tag].Equals(w) {
			t.Errorf("tag %q: logged histograms sum to %d counts, max %d; want %d, max %d",
				tag, got[tag].TotalCount(), got[tag].Max(), w.TotalCount(), w.Max())
		}
	}
	if got[""].Min() != 1 || got[""].Max() != got[""].HighestTrackableValue() && !got[""].ValuesAreEquivalent(got[""].Max(), HighestMicros) {
		t.Errorf("outliers not clamped: min %d max %d", got[""].Min(), got[""].Max())
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestGapsAndLate checks that an empty interval between busy ones gets an untagged empty
// line and that a record arriving long after its interval was written is still logged.
func TestGapsAndLate(t *testing.T) {
	mk := func(at, lat time.Duration) results.Record {
		return results.Record{Kind: results.KindOK, Code: 200, Attempt: 1, Intended: testStart.UnixNano() + int64(at), ServiceTime: lat}
	}
	recs := []results.Record{
		mk(100*time.Millisecond, time.Millisecond),
		mk(3100*time.Millisecond, time.Millisecond), // intervals 1 and 2 are empty
		mk(40*time.Second, time.Millisecond),
		mk(200*time.Millisecond, 5*time.Millisecond), // 40 s late
	}
	path := testfix.WriteTemp(t, testHeader(), recs)
	log, err := writeLog(t, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, lines := parseLog(t, log)
	var total int64
	untagged := 0
	for _, p := range lines {
		if p.tag == "" {
			untagged++
			total += p.hist.TotalCount()
		}
	}
	// Intervals 0 to 40 each get an untagged line, plus one for the late record.
	if total != 4 || untagged != 42 {
		t.Fatalf("%d untagged lines with %d counts, want 42 with 4:\n%s", untagged, total, log)
	}
	// The late record is a line of its own for interval 0, beside the one written on time.
	var first []parsed
	for _, p := range lines {
		if p.tag == "warm_up" && math.Abs(p.start-1741964966.535) < 1e-6 {
			first = append(first, p)
		}
	}
	if len(first) != 2 || first[0].hist.TotalCount() != 1 || first[1].hist.TotalCount() != 1 || math.Abs(first[1].max-5) > 0.01 {
		t.Errorf("interval 0 logged as %+v, want the on-time and the late record on lines of their own", first)
	}
}

func TestDamageAndBadInterval(t *testing.T) {
	recs := synthetic(30000)
	path := testfix.WriteTemp(t, testHeader(), recs)
	if _, err := writeLog(t, path, time.Microsecond); err == nil {
		t.Error("a 1 µs interval was accepted")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := writeLog(t, path, time.Second)
	var de *results.DamageError
	if !errors.As(err, &de) {
		t.Fatalf("err %v, want the damage", err)
	}
	_, lines := parseLog(t, log)
	var n int64
	for _, p := range lines {
		if p.tag == "" {
			n += p.hist.TotalCount()
		}
	}
	if n != int64(de.Records) || n == 0 {
		t.Errorf("logged %d records, %d were readable", n, de.Records)
	}
}

// hdrJSVersion is the independent reader the log is checked with.
const hdrJSVersion = "3.0.1"

// readerScript prints, per tag, the total count and p50/p99/max of all of the tag's
// intervals added up, as hdr-histogram-js reads them.
const readerScript = `
const fs = require("fs");
const hdr = require("hdr-histogram-js");
const reader = new hdr.HistogramLogReader(fs.readFileSync(process.argv[2], "utf8"));
const sums = {};
let h;
while ((h = reader.nextIntervalHistogram()) !== null) {
  // hdr-histogram-js names untagged intervals "NO TAG".
  const tag = !h.tag || h.tag === "NO TAG" ? "" : h.tag;
  if (!sums[tag]) sums[tag] = hdr.build({lowestDiscernibleValue: 1, highestTrackableValue: 3600000000, numberOfSignificantValueDigits: 3});
  sums[tag].add(h);
}
const out = {};
for (const [tag, s] of Object.entries(sums)) {
  out[tag] = {count: s.totalCount, p50: s.getValueAtPercentile(50), p99: s.getValueAtPercentile(99), max: s.maxValue};
}
console.log(JSON.stringify(out));
`

// TestHdrHistogramJS reads the log with hdr-histogram-js and compares per-tag counts
// (exactly) and percentiles (within the histograms' 3 significant digits) with ours.
func TestHdrHistogramJS(t *testing.T) {
	dir := hdrJS(t)
	recs := synthetic(30000)
	log, err := writeLog(t, testfix.WriteTemp(t, testHeader(), recs), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	logPath, script := filepath.Join(tmp, "run.hlog"), filepath.Join(tmp, "read.js")
	if err := os.WriteFile(logPath, log, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(readerScript), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runNode(t, dir, script, logPath)
	var got map[string]struct{ Count, P50, P99, Max float64 }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	want := expected(testHeader(), recs)
	if len(got) != len(want) {
		t.Fatalf("hdr-histogram-js read tags %s, want %d tags", out, len(want))
	}
	for tag, w := range want {
		g, ok := got[tag]
		if !ok {
			t.Fatalf("hdr-histogram-js has no tag %q in %s", tag, out)
		}
		if int64(g.Count) != w.TotalCount() {
			t.Errorf("tag %q: hdr-histogram-js counts %v, want %d", tag, g.Count, w.TotalCount())
		}
		for _, c := range []struct {
			name string
			got  float64
			want int64
		}{{"p50", g.P50, w.ValueAtQuantile(50)}, {"p99", g.P99, w.ValueAtQuantile(99)}, {"max", g.Max, w.Max()}} {
			// Within HDR precision: 3 significant digits.
			if math.Abs(c.got-float64(c.want)) > 1e-3*float64(c.want)+1 {
				t.Errorf("tag %q: hdr-histogram-js %s %v µs, ours %d µs", tag, c.name, c.got, c.want)
			}
		}
	}
	t.Logf("hdr-histogram-js: %s", out)
}

// nodeTries and nodeTimeout bound the reader: it takes about a second, but node itself has
// been seen to deadlock at start (every thread parked on a futex) and would hang the suite.
const (
	nodeTries   = 3
	nodeTimeout = 60 * time.Second
)

// runNode runs the reader script with hdr-histogram-js on NODE_PATH and returns its output,
// retrying a run that hangs; a reader that fails (rather than hangs) fails the test at once.
func runNode(t *testing.T, dir, script, logPath string) []byte {
	t.Helper()
	for try := 1; try <= nodeTries; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
		cmd := exec.CommandContext(ctx, "node", script, logPath)
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		timedOut := ctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			return out
		case timedOut:
			t.Logf("node run %d of %d hung for %s and was killed", try, nodeTries, nodeTimeout)
			continue
		}
		t.Fatalf("node: %v: %s", err, stderr.Bytes())
	}
	t.Fatalf("node hung %d times in a row (%s each): cannot check the .hlog with hdr-histogram-js", nodeTries, nodeTimeout)
	return nil
}

// hdrJS installs hdr-histogram-js once per machine and returns the npm prefix it is in.
// It skips the test only when node or npm is missing.
func hdrJS(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on PATH: skipping the check of the .hlog with hdr-histogram-js", tool)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "stormtest-test", "hdrjs-"+hdrJSVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hdr-histogram-js", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "hdr-histogram-js@"+hdrJSVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install hdr-histogram-js@%s: %v\n%s", hdrJSVersion, err, out)
	}
	return dir
}

// TestSinkDuringARun feeds a Sink the stream as an attack would: its log is byte for byte the
// log of the results file recorded from the same stream.
func TestSinkDuringARun(t *testing.T) {
	recs := synthetic(3000)
	path := testfix.WriteTemp(t, testHeader(), recs)
	read, err := writeLog(t, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var live bytes.Buffer
	s, err := NewSink(&live, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(testHeader()); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := s.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.End(results.Trailer{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(live.Bytes(), read) {
		t.Errorf("the live log (%d bytes) differs from the file's (%d bytes)", live.Len(), len(read))
	}
}
