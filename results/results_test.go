package results

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/profiles"
)

func TestLayoutConstants(t *testing.T) {
	if preambleLen != len(magic)+4 {
		t.Errorf("preambleLen = %d, want len(magic)+4 = %d", preambleLen, len(magic)+4)
	}
	if footerLen != len(footerMagic)+4 {
		t.Errorf("footerLen = %d, want len(footerMagic)+4 = %d", footerLen, len(footerMagic)+4)
	}
	if blockTarget+maxRecordLen > maxBlockLen {
		t.Errorf("a full record block (%d) would exceed what readers accept (%d)", blockTarget+maxRecordLen, maxBlockLen)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		recs       []Record
		flushEvery int
		interval   time.Duration
	}{
		{"empty", nil, 0, time.Hour},
		{"one record", edgeRecords(1, 1), 0, time.Hour},
		{"edge values, many blocks", edgeRecords(60_000, 2), 0, time.Hour},
		{"edge values, flushed often", edgeRecords(5_000, 3), 7, time.Hour},
		// A 1ms flusher seals blocks at arbitrary points while Write runs.
		{"edge values, ticking flusher", edgeRecords(100_000, 4), 0, time.Millisecond},
		{"realistic", realisticRecords(50_000, 5), 0, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := writeAll(t, tt.recs, tt.flushEvery, CreateOptions{FlushInterval: tt.interval}, false)
			res, err := readAll(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if res.err != nil {
				t.Fatalf("reading: %v", res.err)
			}
			want := expected(tt.recs)
			if len(res.recs) != len(want) {
				t.Fatalf("read %d records, wrote %d", len(res.recs), len(want))
			}
			for i := range want {
				if res.recs[i] != want[i] {
					t.Fatalf("record %d:\n got %+v\nwant %+v", i, res.recs[i], want[i])
				}
			}
			if !res.hasTr {
				t.Error("no trailer after Close")
			}
		})
	}
}

// TestErrorTable checks the table's limits directly rather than through random data.
func TestErrorTable(t *testing.T) {
	var recs []Record
	for i := range MaxErrorMessages + 10 {
		recs = append(recs, Record{RequestID: uint64(i), Kind: KindOther, Error: "e" + strings.Repeat("z", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()})
	}
	long := strings.Repeat("a", MaxErrorLen-1) + "é" // the cut falls inside "é"
	recs = append(recs, Record{Kind: KindOther, Error: long}, Record{Kind: KindOther, Error: recs[3].Error})
	res, err := readAll(t, writeAll(t, recs, 100, CreateOptions{FlushInterval: time.Hour}, false))
	if err != nil || res.err != nil {
		t.Fatal(err, res.err)
	}
	distinct := map[string]bool{}
	for i, r := range res.recs {
		distinct[r.Error] = true
		if i >= MaxErrorMessages && i < MaxErrorMessages+10 && r.Error != OverflowError {
			t.Errorf("message %d beyond the table = %q, want %q", i, r.Error, OverflowError)
		}
	}
	if len(distinct) != MaxErrorMessages+1 {
		t.Errorf("%d distinct messages read, want %d", len(distinct), MaxErrorMessages+1)
	}
	if got := res.recs[len(res.recs)-2].Error; got != OverflowError {
		t.Errorf("long message after the table filled = %q, want the overflow message", got)
	}
	if got, want := res.recs[len(res.recs)-1].Error, recs[3].Error; got != want {
		t.Errorf("message defined early, used after overflow = %q, want %q", got, want)
	}
	if got := clipError(long); len(got) != MaxErrorLen-1 || !utf8.ValidString(got) {
		t.Errorf("clipError cut a %d-byte message to %d bytes (valid UTF-8: %v), want %d", len(long), len(got), utf8.ValidString(got), MaxErrorLen-1)
	}
}

func TestHeaderTrailerRoundTrip(t *testing.T) {
	for _, h := range []Header{testHeader(), {}, {Start: time.Unix(-5, 7).UTC(), Groups: []string{}}} {
		var buf syncBuffer
		w, err := NewWriter(&buf, h, CreateOptions{FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		recs := edgeRecords(50, 9)
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(testTrailer()); err != nil {
			t.Fatal(err)
		}
		res, err := readAll(t, buf.Bytes())
		if err != nil || res.err != nil {
			t.Fatal(err, res.err)
		}
		h.Format = FormatVersion
		if !reflect.DeepEqual(res.header, h) {
			t.Errorf("header:\n got %+v\nwant %+v", res.header, h)
		}
		if !res.hasTr || !reflect.DeepEqual(res.trailer, testTrailer()) {
			t.Errorf("trailer = %+v, %v; want %+v", res.trailer, res.hasTr, testTrailer())
		}
		if want := expected(recs); !reflect.DeepEqual(res.recs, want) {
			t.Errorf("records differ under header start %v", h.Start)
		}
	}
}

// smallFile is a closed file of several record blocks; ends[i] is the file size after
// block i (ends[0] is the end of the header), counts[i] the records up to that block.
func smallFile(t *testing.T) (data []byte, recs []Record, ends []int, counts []int) {
	t.Helper()
	var buf syncBuffer
	w, err := NewWriter(&buf, testHeader(), CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	all := edgeRecords(12, 11)
	for i := range all {
		all[i].Error = []string{"", "boom", "", "timeout"}[i%4] // defined in one block, used in later ones
	}
	ends = append(ends, buf.Len())
	counts = append(counts, 0)
	for b := range 4 {
		for i := b * 3; i < b*3+3; i++ {
			if err := w.Write(&all[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
		counts = append(counts, b*3+3)
	}
	if err := w.Close(testTrailer()); err != nil {
		t.Fatal(err)
	}
	data = buf.Bytes()
	ends = append(ends, len(data)-footerLen) // the trailer block
	return data, all, ends, counts
}

func TestTruncation(t *testing.T) {
	data, recs, ends, counts := smallFile(t)
	trailerEnd := ends[len(ends)-1]
	lastRecordEnd := ends[len(ends)-2]
	for cut := 0; cut <= len(data); cut++ {
		res, err := readAll(t, data[:cut])
		if cut < ends[0] {
			var de *DamageError
			switch {
			case cut == 0 && !errors.Is(err, ErrNotResults):
				t.Errorf("cut %d: NewReader error %v, want ErrNotResults", cut, err)
			case cut > 0 && !errors.As(err, &de):
				t.Errorf("cut %d: NewReader error %v, want a *DamageError", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		// Records of the blocks that end at or before the cut, and where the torn one starts.
		block := 0
		for block+1 < len(ends)-1 && ends[block+1] <= cut {
			block++
		}
		want := counts[block]
		if len(res.recs) != want {
			t.Fatalf("cut %d: %d records, want %d", cut, len(res.recs), want)
		}
		if w := expected(recs)[:want]; !reflect.DeepEqual(res.recs, w) && want > 0 {
			t.Fatalf("cut %d: wrong records", cut)
		}
		clean := cut == ends[block] || cut >= trailerEnd
		var de *DamageError
		switch {
		case clean && res.err != nil:
			t.Errorf("cut %d at a block boundary: %v, want a clean end", cut, res.err)
		case !clean && !errors.As(res.err, &de):
			t.Errorf("cut %d inside a block: %v, want a *DamageError", cut, res.err)
		case !clean && (de.Offset != int64(ends[block]) || de.Records != uint64(want)):
			t.Errorf("cut %d: %v, want damage at byte %d after %d records", cut, de, ends[block], want)
		}
		if res.hasTr != (cut >= trailerEnd) {
			t.Errorf("cut %d: Trailer ok = %v, want %v", cut, res.hasTr, cut >= trailerEnd)
		}
		if cut > lastRecordEnd && cut < trailerEnd && res.err == nil {
			t.Errorf("cut %d inside the trailer: no damage reported", cut)
		}
	}
}

func TestBitFlip(t *testing.T) {
	data, recs, ends, _ := smallFile(t)
	want := expected(recs)
	trailerEnd := ends[len(ends)-1]
	for i := range trailerEnd {
		for bit := range 8 {
			bad := bytes.Clone(data)
			bad[i] ^= 1 << bit
			res, err := readAll(t, bad)
			if err != nil {
				continue // refused at the preamble or header
			}
			var de *DamageError
			if !errors.As(res.err, &de) {
				t.Fatalf("flip of byte %d bit %d: read %d records and %v, want a *DamageError", i, bit, len(res.recs), res.err)
			}
			if !reflect.DeepEqual(res.recs, want[:len(res.recs)]) && len(res.recs) > 0 {
				t.Fatalf("flip of byte %d bit %d: wrong records before the damage", i, bit)
			}
		}
	}
}

func TestGarbageLength(t *testing.T) {
	data, _, ends, counts := smallFile(t)
	bad := bytes.Clone(data)
	binary.LittleEndian.PutUint32(bad[ends[2]+1:], 0xfffffff0) // the third block's length
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := readAll(t, bad)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("reading a file with a 4 GiB block length allocated %d bytes", grew)
	}
	var de *DamageError
	if !errors.As(res.err, &de) || de.Offset != int64(ends[2]) || !strings.Contains(de.Reason, "exceeds") {
		t.Fatalf("got %v, want damage at byte %d for an oversized length", res.err, ends[2])
	}
	if len(res.recs) != counts[2] {
		t.Errorf("%d records before the damage, want %d", len(res.recs), counts[2])
	}
	want := "damaged at byte " + strconv.Itoa(ends[2]) + " after " + strconv.Itoa(counts[2]) + " records: "
	if !strings.HasPrefix(de.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", de.Error(), want)
	}
}

func TestNotResults(t *testing.T) {
	var vg bytes.Buffer
	enc := vegeta.NewEncoder(&vg)
	if err := enc.Encode(&vegeta.Result{Code: 200, Timestamp: time.Unix(1, 0), Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	newer := writeAll(t, nil, 0, CreateOptions{FlushInterval: time.Hour}, false)
	binary.LittleEndian.PutUint16(newer[len(magic):], FormatVersion+1)

	tests := []struct {
		name    string
		data    []byte
		wantErr error // nil: want a *DamageError
	}{
		{"empty", nil, ErrNotResults},
		{"json", []byte(`{"format":1,"records":[]}`), ErrNotResults},
		{"text", []byte("stormtest results\nrequest 1 ok\n"), ErrNotResults},
		{"vegeta binary", vg.Bytes(), ErrNotResults},
		{"one byte", []byte{0x1f}, ErrNotResults},
		{"newer format", newer, ErrNewerFormat},
		{"magic only", []byte(magic), nil},
		{"half the magic", []byte(magic[:4]), nil},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path)
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			var de *DamageError
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && !errors.As(err, &de) {
				t.Fatalf("Open: %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Open of a missing file: %v", err)
	}
}

func TestNoTrailer(t *testing.T) {
	recs := realisticRecords(1000, 12)
	res, err := readAll(t, writeAll(t, recs, 300, CreateOptions{FlushInterval: time.Hour}, true))
	if err != nil {
		t.Fatal(err)
	}
	if res.err != nil || len(res.recs) != len(recs) {
		t.Fatalf("read %d records and %v, want %d and a clean end", len(res.recs), res.err, len(recs))
	}
	if res.hasTr {
		t.Error("Trailer ok for a file that was never closed")
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.results")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Create(path, testHeader(), DefaultCreateOptions())
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Create over an existing file: %v, want an error naming it", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatalf("existing file changed to %q", b)
	}

	opt := DefaultCreateOptions()
	opt.Overwrite = true
	w, err := Create(path, testHeader(), opt)
	if err != nil {
		t.Fatal(err)
	}
	recs := realisticRecords(100, 13)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(testTrailer()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(testTrailer()); err == nil {
		t.Error("second Close succeeded")
	}
	if err := w.Write(&recs[0]); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Flush(); err == nil {
		t.Error("Flush after Close succeeded")
	}

	// Open finds the trailer through the footer, before reading any record.
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if tr, ok := r.Trailer(); !ok || !reflect.DeepEqual(tr, testTrailer()) {
		t.Errorf("Trailer before reading = %+v, %v; want %+v", tr, ok, testTrailer())
	}
	n := 0
	for {
		var rec Record
		if err := r.Next(&rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if rec != recs[n] {
			t.Fatalf("record %d: got %+v want %+v", n, rec, recs[n])
		}
		n++
	}
	if n != len(recs) {
		t.Errorf("read %d records, want %d", n, len(recs))
	}
}

func TestPeriodicFlush(t *testing.T) {
	const interval = 20 * time.Millisecond
	path := filepath.Join(t.TempDir(), "live.results")
	w, err := Create(path, testHeader(), CreateOptions{FlushInterval: interval, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	recs := realisticRecords(10, 14)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Well past one interval the records must be on disk though nobody called Flush. A loaded
	// machine may delay the flusher, so poll for a while before failing.
	time.Sleep(3 * interval)
	var n int
	var lastErr error
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(interval) {
		n, lastErr = countRecords(path)
		if n == len(recs) {
			break
		}
	}
	if n != len(recs) {
		t.Fatalf("a separate reader sees %d of %d records (last error %v)", n, len(recs), lastErr)
	}
	if err := w.Close(Trailer{}); err != nil {
		t.Fatal(err)
	}
}

func countRecords(path string) (int, error) {
	r, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	var rec Record
	for {
		if err := r.Next(&rec); err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
		n++
	}
}

// failWriter accepts limit bytes, then fails like a full disk.
type failWriter struct {
	syncBuffer
	limit int
}

var errDiskFull = errors.New("no space left on device")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.Len()+len(p) > f.limit {
		return 0, errDiskFull
	}
	return f.syncBuffer.Write(p)
}

func TestWriteErrorIsSticky(t *testing.T) {
	fw := &failWriter{limit: 1 << 10}
	w, err := NewWriter(fw, testHeader(), CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	recs := realisticRecords(200, 15)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush: %v, want the disk error", err)
	}
	if err := w.Write(&recs[0]); !errors.Is(err, errDiskFull) {
		t.Errorf("Write after a failed flush: %v, want the disk error", err)
	}
	if err := w.Close(Trailer{}); !errors.Is(err, errDiskFull) {
		t.Errorf("Close: %v, want the disk error", err)
	}
}

func TestBytesPerRecord(t *testing.T) {
	const n = 100_000
	recs := realisticRecords(n, 16)
	data := writeAll(t, recs, 0, CreateOptions{FlushInterval: time.Hour}, false)
	per := float64(len(data)) / n
	t.Logf("%d records in %d bytes: %.2f bytes/record", n, len(data), per)
	if per > 40 {
		t.Errorf("%.2f bytes/record, want at most 40", per)
	}
	res, err := readAll(t, data)
	if err != nil || res.err != nil || !reflect.DeepEqual(res.recs, recs) {
		t.Fatalf("realistic stream did not round-trip: %v %v", err, res.err)
	}
}

func TestWriteDoesNotAllocate(t *testing.T) {
	w, err := NewWriter(io.Discard, testHeader(), CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(Trailer{})
	recs := realisticRecords(10_000, 17)
	for i := range recs { // defines every error message
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(50_000, func() { // several sealed blocks
		if err := w.Write(&recs[i%len(recs)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Write: %v allocs/op, want 0", allocs)
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	recs := realisticRecords(80_000, 18)
	r, err := NewReader(bytes.NewReader(writeAll(t, recs, 0, CreateOptions{FlushInterval: time.Hour}, false)))
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	for range 10_000 { // reads every error definition
		if err := r.Next(&rec); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(60_000, func() {
		if err := r.Next(&rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next: %v allocs/op, want 0", allocs)
	}
}

// TestHeaderBlockIsJSON keeps docs/results-format.md's claim that the header block is
// plain JSON of Header true.
func TestHeaderBlockIsJSON(t *testing.T) {
	data := writeAll(t, nil, 0, CreateOptions{FlushInterval: time.Hour}, false)
	if data[preambleLen] != blockHeader {
		t.Fatalf("first block type %d, want %d", data[preambleLen], blockHeader)
	}
	n := binary.LittleEndian.Uint32(data[preambleLen+1:])
	var h Header
	if err := json.Unmarshal(data[preambleLen+frameLen:preambleLen+frameLen+int(n)], &h); err != nil {
		t.Fatal(err)
	}
	if h.Host != testHeader().Host {
		t.Errorf("header host %q", h.Host)
	}
}

// outOfBoundHeader is a header as an older stormtest wrote it for --time-scale 1e300: the
// phase's duration saturated at the largest time.Duration.
func outOfBoundHeader() Header {
	h := testHeader()
	h.Profile.Phases[0].Duration = profiles.Duration(math.MaxInt64)
	return h
}

// TestOutOfBoundHeaderIsRefused: such a file made analyze, report, gate and compare panic;
// the reader now refuses it with one line naming the bound, and reads one at the bounds.
func TestOutOfBoundHeaderIsRefused(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Header)
		want   []string // nil: readable
	}{
		{"at the bounds", func(h *Header) {
			h.Profile.Phases[0].Duration = profiles.MaxDuration
			h.Groups = make([]string, profiles.MaxGroups)
		}, nil},
		{"stretched phase", func(h *Header) { *h = outOfBoundHeader() }, []string{"out of bounds", "phases[0].duration", "maximum 24h", "MaxDuration"}},
		{"rate 1e308", func(h *Header) { r := 1e308; h.Profile.Phases[0].Rate = &r }, []string{"out of bounds", "phases[0].rate", "MaxRate"}},
		{"too many groups", func(h *Header) { h.Groups = make([]string, profiles.MaxGroups+1) }, []string{"out of bounds", "256 client groups", "MaxGroups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHeader()
			tt.modify(&h)
			var buf bytes.Buffer
			w, err := NewWriter(&buf, h, CreateOptions{FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(testTrailer()); err != nil {
				t.Fatal(err)
			}
			_, err = NewReader(bytes.NewReader(buf.Bytes()))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewReader: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrOutOfBounds) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("NewReader: %v, want one line wrapping ErrOutOfBounds", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestRecordCountersHoldProfileBounds: a record counts attempts and names its phase and group
// in one byte each. max_attempts 256 wrapped the attempt counter to 0 (retrying forever) and
// a 256th phase wrapped to phase 0; the profile bounds keep every value within a byte, and
// the largest ones round-trip.
func TestRecordCountersHoldProfileBounds(t *testing.T) {
	tests := []struct {
		name    string
		largest int // the largest value the bound allows in the field
	}{
		{"attempt", profiles.MaxAttempts},
		{"phase", profiles.MaxPhases - 1},
		{"group", profiles.MaxGroups - 1},
	}
	for _, tt := range tests {
		if tt.largest > math.MaxUint8 {
			t.Errorf("%s: the bound allows %d, a byte holds %d", tt.name, tt.largest, math.MaxUint8)
		}
	}
	rec := Record{RequestID: 7, Attempt: profiles.MaxAttempts, Phase: profiles.MaxPhases - 1, Group: profiles.MaxGroups - 1,
		Kind: Kind5xx, Code: 503, Intended: testStart.UnixNano(), RequestAge: time.Second, ServiceTime: time.Millisecond}
	data := writeAll(t, []Record{rec}, 1, CreateOptions{FlushInterval: time.Hour}, false)
	got, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.recs) != 1 || got.recs[0] != rec {
		t.Errorf("round trip: %+v, want %+v", got.recs, rec)
	}
}

// TestCreateOverwriteRefusesNonRegular: Overwrite replaces a regular file only; a FIFO would
// block the open forever and a device must never be truncated or removed.
func TestCreateOverwriteRefusesNonRegular(t *testing.T) {
	cases := []struct {
		name string
		make func(string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.st")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				opt := DefaultCreateOptions()
				opt.Overwrite = true
				w, err := Create(path, testHeader(), opt)
				if err == nil {
					w.Close(Trailer{})
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("Create: %v, want a refusal", err)
				}
			case <-time.After(3 * time.Second):
				if f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
					defer f.Close()
				}
				t.Fatal("Create hung")
			}
			if _, err := os.Lstat(path); err != nil {
				t.Errorf("the node is gone: %v", err)
			}
		})
	}
}
