package main

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
)

// TestReadStormtest reads a results file as -pacing does: first attempts give the lag and
// service columns, retries count only as attempts, and first attempts over 1 ms late are the
// stalls' input.
func TestReadStormtest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.st")
	start := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	w, err := results.Create(path, results.Header{Target: "http://127.0.0.1:8080", Start: start}, results.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	us := func(n int) time.Duration { return time.Duration(n) * time.Microsecond }
	recs := []results.Record{
		{RequestID: 1, Attempt: 1, Kind: results.KindOK, Code: 200, SendLag: us(20), ServiceTime: us(300)},
		{RequestID: 2, Attempt: 1, Kind: results.KindTimeout, SendLag: us(2500), ServiceTime: us(9000)},
		{RequestID: 2, Attempt: 2, Kind: results.KindOK, Code: 200, SendLag: us(40000), ServiceTime: us(100)},
		{RequestID: 3, Attempt: 1, Kind: results.KindOK, Code: 200, SendLag: us(1000), ServiceTime: us(700)},
	}
	for i := range recs {
		recs[i].Intended = start.UnixNano() + int64(i)*int64(time.Millisecond)
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(results.Trailer{End: start.Add(time.Second), Attempts: uint64(len(recs))}); err != nil {
		t.Fatal(err)
	}

	st, err := readStormtest(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.attempts != 4 || st.firsts != 3 || st.ok != 3 {
		t.Errorf("attempts, firsts, ok = %d, %d, %d; want 4, 3, 3", st.attempts, st.firsts, st.ok)
	}
	if want := []time.Duration{us(20), us(2500), us(1000)}; !slices.Equal(st.lags, want) {
		t.Errorf("lags = %v, want %v (first attempts only)", st.lags, want)
	}
	if want := []time.Duration{us(300), us(9000), us(700)}; !slices.Equal(st.services, want) {
		t.Errorf("services = %v, want %v (first attempts only)", st.services, want)
	}
	// Exactly 1 ms is not late; the retry's 40 ms lag is its backoff, not a stall.
	if want := []lateAttempt{{recs[1].Intended, us(2500)}}; !slices.Equal(st.late, want) {
		t.Errorf("late = %v, want %v", st.late, want)
	}
}
