package live

import (
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
)

func profile(t *testing.T) *profiles.Profile {
	t.Helper()
	p, err := profiles.Parse([]byte("name: t\nphases: [{name: warm, duration: 10s, rate: 100}, {name: peak, duration: 10s, rate: 400}]"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatusLineRatesAndInFlight(t *testing.T) {
	prof := profile(t)
	start := time.Now()
	p := new(attack.Progress)
	st := status{prof: prof, sched: prof.Schedule(), start: start, p: p}
	st.line(start.Add(11 * time.Second))
	// One second later: 400 first attempts and 500 attempts sent, 300 completed, half of them ok.
	p.Requests.Add(400)
	p.Sent.Add(500)
	p.Attempts.Add(300)
	p.Successes.Add(150)
	line := st.line(start.Add(12 * time.Second))
	for _, want := range []string{"12.0s/20s", "peak", "intended 400/s", "sent 400/s", "offered 500/s", "in flight 200 ", "ok  50%"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	// After the end, the line shows the profile's last instant, not a rate of 0.
	if end := st.line(start.Add(25 * time.Second)); !strings.Contains(end, "intended 400/s") {
		t.Errorf("line after the end: %q", end)
	}
}

func TestLinesArePrinted(t *testing.T) {
	var out testfix.SyncBuffer
	d := Start(&out, Lines, profile(t), time.Now(), new(attack.Progress), Options{Interval: 10 * time.Millisecond})
	time.Sleep(60 * time.Millisecond)
	d.Stop()
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) < 2 || !strings.Contains(lines[0], "warm") {
		t.Fatalf("want a plain status line per interval, got %q", out.String())
	}
}

func TestOffShowsNothing(t *testing.T) {
	var out testfix.SyncBuffer
	d := Start(&out, Off, profile(t), time.Now(), new(attack.Progress), Options{Interval: time.Millisecond})
	time.Sleep(20 * time.Millisecond)
	d.Stop()
	if out.String() != "" {
		t.Fatalf("quiet display wrote %q", out.String())
	}
}

func TestBarRedrawsOneLine(t *testing.T) {
	var out testfix.SyncBuffer
	d := Start(&out, Bar, profile(t), time.Now().Add(-5*time.Second), new(attack.Progress), Options{Interval: 10 * time.Millisecond})
	time.Sleep(60 * time.Millisecond)
	d.Stop()
	s := out.String()
	if !strings.Contains(s, "\r") || !strings.Contains(s, "warm") || !strings.Contains(s, "%") {
		t.Fatalf("bar output %q: want carriage-return redraws of a status with the phase and a percentage", s)
	}
}
