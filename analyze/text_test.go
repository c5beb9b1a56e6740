package analyze

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

func TestWriteText(t *testing.T) {
	a, _ := metastableRun()
	rep := a.Finish(nil, nil)
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "METASTABLE: http://127.0.0.1:8080, profile test") {
		t.Errorf("first line %q, want the verdict", lines[0])
	}
	for _, want := range []string{"  - goodput collapsed at t=30 s", "phase", "p99.9 ms", "surge", "30–40", "warnings:", "  ! no trailer", "errors (share of 19800 attempts): 64 % timeout"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestWriteTextError(t *testing.T) {
	rep := New(testHeader(testfix.Phase("base", 1, 1)), DefaultOptions()).Finish(&results.Trailer{End: t0.Add(time.Second)}, nil)
	if err := rep.WriteText(failWriter{}); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Errorf("WriteText returned %v, want the writer's error", err)
	}
}

// deadRun is a run of secs seconds at rps first attempts per second against a target that
// fails every attempt the same way: the records a dead service leaves.
func deadRun(secs, rps int, kind results.Kind, code uint16) *Report {
	a := New(testHeader(testfix.Phase("steady", secs, float64(rps))), DefaultOptions())
	step := int64(time.Second) / int64(rps)
	for i := range secs * rps {
		r := results.Record{
			RequestID: uint64(i), Attempt: 1, Kind: kind, Code: code,
			Intended: t0.UnixNano() + int64(i)*step, SendLag: 100 * time.Microsecond,
			ServiceTime: 2 * time.Millisecond, Error: "failed",
		}
		a.Add(&r)
	}
	return a.Finish(&results.Trailer{End: t0.Add(time.Duration(secs) * time.Second), Requests: uint64(secs * rps), Attempts: uint64(secs * rps)}, nil)
}

// TestDeadServiceIsDown is issue 11 end to end: 2 requests/s for 10 s against a target that
// answers every one with 503 (or resets it) was judged STABLE. It must read as down, and the
// text and markdown summaries must name the dominant error, not just "errors 100%".
func TestDeadServiceIsDown(t *testing.T) {
	tests := []struct {
		name  string
		kind  results.Kind
		code  uint16
		label string
	}{
		{"all 503", results.Kind5xx, 503, "100 % HTTP 503"},
		{"all reset", results.KindReset, 0, "100 % connection reset"},
		{"all 429", results.Kind429, 429, "100 % HTTP 429"},
		{"all redirected", results.Kind3xx, 302, "100 % HTTP 302"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := deadRun(10, 2, tc.kind, tc.code)
			if rep.Verdict != Down {
				t.Fatalf("verdict %s, want %s; evidence %q", rep.Verdict, Down, rep.Evidence)
			}
			if len(rep.Failures) == 0 || rep.Failures[0].Attempts != 20 {
				t.Errorf("failures %+v, want all 20 attempts under one kind", rep.Failures)
			}
			for _, f := range []Format{FormatText, FormatMarkdown} {
				var b strings.Builder
				if err := rep.Write(&b, f, false); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				for _, want := range []string{"DOWN", "rrors (share of 20 attempts): " + tc.label} {
					if !strings.Contains(out, want) {
						t.Errorf("%s summary lacks %q:\n%s", f, want, out)
					}
				}
			}
		})
	}
}
