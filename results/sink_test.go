package results

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// memSink keeps what a Sink is given, and checks the order of calls.
type memSink struct {
	t       *testing.T
	header  *Header
	recs    []Record
	trailer *Trailer
}

func (m *memSink) Begin(h Header) error {
	if m.header != nil {
		m.t.Error("Begin called twice")
	}
	m.header = &h
	return nil
}

func (m *memSink) Write(r *Record) error {
	if m.header == nil || m.trailer != nil {
		m.t.Error("Write outside Begin..End")
	}
	m.recs = append(m.recs, *r)
	return nil
}

func (m *memSink) End(t Trailer) error {
	if m.header == nil || m.trailer != nil {
		m.t.Error("End before Begin, or twice")
	}
	m.trailer = &t
	return nil
}

// TestCopyFileToFile copies a results file through FileSink and reads the copy back: the
// same header, records and trailer.
func TestCopyFileToFile(t *testing.T) {
	recs := realisticRecords(3000, 7)
	data := writeAll(t, recs, 0, CreateOptions{FlushInterval: time.Hour}, false)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.st")
	dst := NewFileSink(path, CreateOptions{FlushInterval: time.Hour})
	n, damage, err := Copy(dst, r)
	if err != nil || damage != nil || n != uint64(len(recs)) || dst.Records() != n {
		t.Fatalf("Copy = %d, %v, %v; records %d", n, damage, err, dst.Records())
	}
	copied, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, copied)
	if err != nil || got.err != nil {
		t.Fatal(err, got.err)
	}
	if !reflect.DeepEqual(got.recs, expected(recs)) {
		t.Error("records differ after a copy")
	}
	if !got.hasTr || !reflect.DeepEqual(got.trailer, testTrailer()) {
		t.Errorf("trailer %+v (ok %v), want %+v", got.trailer, got.hasTr, testTrailer())
	}
	if got.header.Profile.Name != testHeader().Profile.Name || !got.header.Start.Equal(testHeader().Start) {
		t.Errorf("header %+v", got.header)
	}
}

// TestCopyDamage: damage ends the records, is returned as damage (not as an error), and a
// stream without a trailer ends without End.
func TestCopyDamage(t *testing.T) {
	recs := realisticRecords(20000, 3)
	data := writeAll(t, recs, 0, CreateOptions{FlushInterval: time.Hour}, true)
	data = data[:len(data)-5] // tear the last block
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	m := &memSink{t: t}
	n, damage, err := Copy(m, r)
	var de *DamageError
	if err != nil || !errors.As(damage, &de) {
		t.Fatalf("Copy = %d, %v, %v; want damage", n, damage, err)
	}
	if n == 0 || n >= uint64(len(recs)) || uint64(len(m.recs)) != n || de.Records != n {
		t.Errorf("copied %d of %d records (sink has %d, damage after %d)", n, len(recs), len(m.recs), de.Records)
	}
	if m.trailer != nil {
		t.Error("End called for a stream without a trailer")
	}
}

// TestCopyErrors: a failing sink stops the copy with its own error.
func TestCopyErrors(t *testing.T) {
	data := writeAll(t, realisticRecords(100, 1), 0, CreateOptions{FlushInterval: time.Hour}, false)
	full := errors.New("disk full")
	for _, tc := range []struct {
		name  string
		sink  Sink
		wantN uint64
	}{
		{"begin", beginFails{full}, 0},
		{"write", WriteFunc(func(*Record) error { return full }), 0},
		{"end", Tee(WriteFunc(func(*Record) error { return nil }), endFails{full}), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			n, damage, err := Copy(tc.sink, r)
			if err != full || damage != nil || n != tc.wantN {
				t.Errorf("Copy = %d, %v, %v; want %d, nil, %v", n, damage, err, tc.wantN, full)
			}
		})
	}
}

type beginFails struct{ err error }

func (b beginFails) Begin(Header) error  { return b.err }
func (b beginFails) Write(*Record) error { return nil }
func (b beginFails) End(Trailer) error   { return nil }

type endFails struct{ err error }

func (e endFails) Begin(Header) error  { return nil }
func (e endFails) Write(*Record) error { return nil }
func (e endFails) End(Trailer) error   { return e.err }

// TestTee: every sink sees the whole stream.
func TestTee(t *testing.T) {
	recs := realisticRecords(500, 9)
	data := writeAll(t, recs, 0, CreateOptions{FlushInterval: time.Hour}, false)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	a, b := &memSink{t: t}, &memSink{t: t}
	if _, _, err := Copy(Tee(a, b), r); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*memSink{a, b} {
		if m.header == nil || m.trailer == nil || !reflect.DeepEqual(m.recs, expected(recs)) {
			t.Errorf("a tee'd sink missed part of the stream: header %v, trailer %v, %d records", m.header != nil, m.trailer != nil, len(m.recs))
		}
	}
}
