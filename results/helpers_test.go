package results

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// testStart is a run start with a non-zero nanosecond part, so that any rounding of the
// delta base would show.
var testStart = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func testHeader() Header {
	rate := 1000.0
	return Header{
		Format:    FormatVersion,
		Generator: "stormtest test",
		Host:      "gen-1",
		Shard:     1,
		Shards:    3,
		Target:    "http://127.0.0.1:8080/",
		Start:     testStart,
		Profile: profiles.Profile{
			Name:   "spike",
			Seed:   42,
			Phases: []profiles.Phase{{Name: "steady", Duration: profiles.Duration(30 * time.Second), Rate: &rate}},
			Client: profiles.Client{
				Timeout: profiles.Duration(50 * time.Millisecond),
				Retry:   profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 3, Base: profiles.Duration(10 * time.Millisecond)},
			},
			SLO: profiles.SLO{Latency: profiles.Duration(100 * time.Millisecond)},
		},
		Groups: []string{"web", "batch"},
	}
}

func testTrailer() Trailer {
	return Trailer{
		End:           testStart.Add(time.Hour + 123),
		Interrupted:   true,
		Reason:        "interrupt",
		Requests:      1234,
		Attempts:      5678,
		UnsentRetries: 9,
	}
}

// realisticRecords simulates n attempts of clients at ~1000 first attempts/s: log-normal
// latencies of 1-50 ms, 5% failed attempts retried up to 3 attempts with backoff, two
// groups and a phase change every 30 s, in completion order as a writer would see them.
func realisticRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 1))
	start := testStart.UnixNano()
	type failure struct {
		kind Kind
		code uint16
		msg  string
	}
	failures := []failure{
		{KindTimeout, 0, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
		{Kind5xx, 503, ""},
		{Kind429, 429, ""},
		{KindReset, 0, "read: connection reset by peer"},
		{KindRefused, 0, "dial tcp: connect: connection refused"},
	}
	recs := make([]Record, 0, n+3)
	var t float64 // seconds since start of the next first attempt
	for id := uint64(1); len(recs) < n; id++ {
		t += rng.ExpFloat64() / 1000
		first := start + int64(t*1e9)
		intended := first
		group := uint8(rng.IntN(2))
		for attempt := uint8(1); attempt <= 3; attempt++ {
			svc := time.Duration(math.Exp(math.Log(8e6) + 0.7*rng.NormFloat64())) // ns
			svc = min(max(svc, time.Millisecond), 50*time.Millisecond)
			r := Record{
				RequestID:   id,
				Attempt:     attempt,
				Group:       group,
				Phase:       uint8((intended - start) / int64(30*time.Second)),
				Kind:        KindOK,
				Code:        200,
				Intended:    intended,
				SendLag:     time.Duration(rng.ExpFloat64() * 40e3),
				ServiceTime: svc,
				RequestAge:  time.Duration(intended - first),
			}
			failed := rng.Float64() < 0.05
			if failed {
				f := failures[rng.IntN(len(failures))]
				r.Kind, r.Code, r.Error = f.kind, f.code, f.msg
				if f.kind == KindTimeout {
					r.ServiceTime = 50 * time.Millisecond
				}
			}
			recs = append(recs, r)
			if !failed {
				break
			}
			intended = r.End() + int64(10*time.Millisecond)<<attempt + rng.Int64N(int64(5*time.Millisecond))
		}
	}
	recs = recs[:n]
	slices.SortStableFunc(recs, func(a, b Record) int {
		return int(min(max(a.End()-b.End(), -1), 1))
	})
	return recs
}

// edgeRecords is n random records with edge values in every field and more distinct error
// messages than the table holds.
func edgeRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 2))
	pick := func(vals ...int64) int64 {
		if rng.IntN(3) == 0 {
			return vals[rng.IntN(len(vals))]
		}
		return rng.Int64() >> rng.IntN(64)
	}
	base := testStart.UnixNano()
	long := strings.Repeat("é", MaxErrorLen) // 2 bytes a rune: must be cut at a rune boundary
	recs := make([]Record, n)
	id := uint64(0)
	for i := range recs {
		switch rng.IntN(4) {
		case 0:
			id = rng.Uint64()
		case 1:
			id = []uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1, 1 << 63}[rng.IntN(5)]
		default:
			id += uint64(rng.IntN(5)) - 2
		}
		r := Record{
			RequestID:   id,
			Attempt:     uint8(rng.IntN(256)),
			Group:       uint8(rng.IntN(3)),
			Phase:       uint8(rng.IntN(256)),
			Kind:        Kind(rng.IntN(int(kindCount))),
			Code:        uint16(rng.IntN(65536)),
			Intended:    base + pick(0, -1, 1, -base, math.MinInt64-base, math.MaxInt64-base, -int64(time.Hour)),
			SendLag:     time.Duration(pick(0, -1, math.MaxInt64, math.MinInt64)),
			ServiceTime: time.Duration(pick(0, math.MaxInt64, math.MinInt64, int64(time.Hour))),
			RequestAge:  time.Duration(pick(0, 1, math.MaxInt64, math.MinInt64)),
		}
		switch rng.IntN(8) {
		case 0:
			r.Kind = Kind(rng.IntN(256)) // kinds beyond today's, which need the escape
		case 1:
			r.Attempt, r.RequestAge = 1, 0
		case 2:
			r.Code = defaultCode(r.Kind)
		}
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
		case 4:
			r.Error = long
		case 5:
			r.Error = OverflowError // a real message that happens to read like the stand-in
		default:
			r.Error = "error #" + strings.Repeat("x", rng.IntN(3)) + strconv.Itoa(rng.IntN(1500))
		}
		recs[i] = r
	}
	return recs
}

// expected is what a reader must return for recs written in this order: messages cut to
// MaxErrorLen, and those first seen after the table filled replaced by OverflowError.
func expected(recs []Record) []Record {
	table := map[string]bool{}
	out := slices.Clone(recs)
	for i := range out {
		msg := out[i].Error
		if msg == "" {
			continue
		}
		if len(msg) > MaxErrorLen {
			n := MaxErrorLen
			for n > 0 && msg[n]&0xc0 == 0x80 {
				n--
			}
			msg = msg[:n]
		}
		if !table[msg] && len(table) >= MaxErrorMessages {
			msg = OverflowError
		}
		table[msg] = true
		out[i].Error = msg
	}
	return out
}

// writeAll writes recs to an in-memory file, calling Flush after every flushEvery records
// (0: never), and closes it with testTrailer unless noClose.
func writeAll(t testing.TB, recs []Record, flushEvery int, opt CreateOptions, noClose bool) []byte {
	t.Helper()
	var buf syncBuffer
	w, err := NewWriter(&buf, testHeader(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		if flushEvery > 0 && (i+1)%flushEvery == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := w.Records(); got != uint64(len(recs)) {
		t.Errorf("Records() = %d, want %d", got, len(recs))
	}
	if noClose {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if err := w.Close(testTrailer()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readResult is everything a reader returned.
type readResult struct {
	header  Header
	recs    []Record
	err     error // the error that ended the stream: nil for a clean io.EOF
	trailer Trailer
	hasTr   bool
}

// readAll reads data to the end, checking the Next contract on the way: at most one
// *DamageError, then io.EOF for good.
func readAll(t testing.TB, data []byte) (readResult, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return readResult{}, err
	}
	res := readResult{header: r.Header()}
	for {
		var rec Record
		err := r.Next(&rec)
		if err == nil {
			res.recs = append(res.recs, rec)
			continue
		}
		if err != io.EOF {
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("Next returned %T %v, want io.EOF or *DamageError", err, err)
			}
			if de.Records != uint64(len(res.recs)) {
				t.Errorf("DamageError.Records = %d, but %d records were returned", de.Records, len(res.recs))
			}
			res.err = err
		}
		for range 2 {
			if err := r.Next(&rec); err != io.EOF {
				t.Fatalf("Next after the end returned %v, want io.EOF", err)
			}
		}
		res.trailer, res.hasTr = r.Trailer()
		return res, r.Close()
	}
}

// syncBuffer is a bytes.Buffer the writer's flusher and a test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
