package live

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
)

// syncBuffer is a bytes.Buffer safe for the display's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func profile(t *testing.T) *profiles.Profile {
	t.Helper()
	p, err := profiles.Parse([]byte("name: t\nphases: [{name: warm, duration: 10s, rate: 100}, {name: peak, duration: 10s, rate: 400}]"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLinesShowPhaseRatesAndInFlight(t *testing.T) {
	var out syncBuffer
	p := new(attack.Progress)
	// 12 s into the run: the peak phase.
	d := Start(&out, Lines, profile(t), time.Now().Add(-12*time.Second), p, Options{Interval: 20 * time.Millisecond})
	for i := 0; i < 5; i++ {
		p.Requests.Add(8)
		p.Sent.Add(10)
		p.Attempts.Add(6)
		p.Successes.Add(3)
		time.Sleep(20 * time.Millisecond)
	}
	d.Stop()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("expected a line per interval, got %q", out.String())
	}
	last := lines[len(lines)-1]
	for _, want := range []string{"peak", "intended 400/s", "in flight", "ok  50%", "p99"} {
		if !strings.Contains(last, want) {
			t.Errorf("line %q lacks %q", last, want)
		}
	}
	if !strings.Contains(last, "in flight 20 ") {
		t.Errorf("line %q: with 50 sent and 30 completed, in flight should be 20", last)
	}
}

func TestOffShowsNothing(t *testing.T) {
	var out syncBuffer
	d := Start(&out, Off, profile(t), time.Now(), new(attack.Progress), Options{Interval: time.Millisecond})
	time.Sleep(20 * time.Millisecond)
	d.Stop()
	if out.String() != "" {
		t.Fatalf("quiet display wrote %q", out.String())
	}
}

func TestBarRedrawsOneLine(t *testing.T) {
	var out syncBuffer
	d := Start(&out, Bar, profile(t), time.Now().Add(-5*time.Second), new(attack.Progress), Options{Interval: 10 * time.Millisecond})
	time.Sleep(60 * time.Millisecond)
	d.Stop()
	s := out.String()
	if !strings.Contains(s, "\r") || !strings.Contains(s, "warm") || !strings.Contains(s, "%") {
		t.Fatalf("bar output %q: want carriage-return redraws of a status with the phase and a percentage", s)
	}
}
