// Package testfix holds the test fixtures that several packages' tests share: rates and
// phases, a run header with known client settings, synthetic runs and results files written
// from records. It is for tests only (nothing outside _test.go files imports it) and keeps
// no state: every helper builds its value from its arguments.
//
// The results and profiles packages cannot use it from their own in-package tests (it
// imports both, which would be an import cycle); their few fixtures stay beside them.
package testfix

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// Rate returns a pointer to x, as the optional rate fields of a profile want it.
func Rate(x float64) *float64 { return &x }

// Phase is a constant-rate phase of secs seconds at rps first attempts per second.
func Phase(name string, secs int, rps float64) profiles.Phase {
	return profiles.Phase{Name: name, Duration: profiles.Duration(time.Duration(secs) * time.Second), Rate: Rate(rps)}
}

// Header is a run of profile name started at start with the given phases, against
// http://127.0.0.1:8080, with a 1 s client timeout, immediate retries up to 3 attempts, a
// 500 ms SLO and two client groups, web and batch.
func Header(start time.Time, name string, phases ...profiles.Phase) results.Header {
	return results.Header{
		Format: results.FormatVersion,
		Target: "http://127.0.0.1:8080",
		Start:  start,
		Profile: profiles.Profile{
			Name:   name,
			Phases: phases,
			Client: profiles.Client{
				Timeout: profiles.Duration(time.Second),
				Retry:   profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 3},
			},
			SLO: profiles.SLO{Latency: profiles.Duration(500 * time.Millisecond)},
		},
		Groups: []string{"web", "batch"},
	}
}

// MustParse parses a profile from YAML, failing the test on an error.
func MustParse(t testing.TB, yaml string) *profiles.Profile {
	t.Helper()
	p, err := profiles.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

// WriteResults writes h and recs to the results file path and returns path. With a trailer
// the file is closed with it; without one (nil) it is left as a crash would leave it: the
// writer's pending records are flushed and the file is cut through the middle of its records.
func WriteResults(t testing.TB, path string, h results.Header, recs []results.Record, trailer *results.Trailer) string {
	t.Helper()
	w, err := results.Create(path, h, results.CreateOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	tr := results.Trailer{End: h.Start.Add(80 * time.Second), Attempts: uint64(len(recs))}
	if trailer != nil {
		tr = *trailer
	}
	if err := w.Close(tr); err != nil {
		t.Fatal(err)
	}
	if trailer == nil {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()*2/3); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// WriteTemp writes a complete results file (trailer ending a minute after the start) to a
// fresh temporary directory and returns its path.
func WriteTemp(t testing.TB, h results.Header, recs []results.Record) string {
	t.Helper()
	return WriteResults(t, filepath.Join(t.TempDir(), "run.st"), h, recs,
		&results.Trailer{End: h.Start.Add(time.Minute), Attempts: uint64(len(recs))})
}

// SortByEnd orders recs by end time, stably, as a results writer receives them: attempts are
// recorded as they complete.
func SortByEnd(recs []results.Record) {
	slices.SortStableFunc(recs, func(a, b results.Record) int { return cmp.Compare(a.End(), b.End()) })
}

// SyncBuffer is a strings.Builder that several goroutines may write to, for capturing a
// command's or a display's output while it runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitUntil polls cond until it holds, failing the test if timeout passes first; what says
// what was waited for.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
