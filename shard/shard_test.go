package shard

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    Part
		wantErr string
	}{
		{"0/4", Part{0, 4}, ""},
		{" 3/4 ", Part{3, 4}, ""},
		{"0/1", One, ""},
		{"4/4", Part{}, "index 4 is out of range for 4 shards"},
		{"-1/4", Part{}, "index -1"},
		{"1/0", Part{}, "count 0 is out of range"},
		{"1/1001", Part{}, "count 1001"},
		{"2", Part{}, "expected I/N"},
		{"a/4", Part{}, "whole numbers"},
	}
	for _, tc := range cases {
		got, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvIndex {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		count   int
		env     string
		want    Part
		wantErr string
	}{
		{4, "2", Part{2, 4}, ""},
		{4, "", Part{}, "JOB_COMPLETION_INDEX is not set"},
		{4, "4", Part{}, "completions equal to --shards"},
		{4, "x", Part{}, "not a whole number"},
	}
	for _, tc := range cases {
		got, err := FromEnv(tc.count, env(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("FromEnv(%d, %q) error %v, want %q", tc.count, tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FromEnv(%d, %q) = %v, %v; want %v", tc.count, tc.env, got, err, tc.want)
		}
	}
}

func TestOwnsAndIDs(t *testing.T) {
	const n = 5
	ids := map[uint64]bool{}
	for k := uint64(0); k < 100; k++ {
		owners := 0
		for i := range n {
			if (Part{i, n}).Owns(k) {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("item %d has %d owners", k, owners)
		}
	}
	for i := range n {
		for local := uint64(1); local <= 100; local++ {
			id := Part{i, n}.RequestID(local)
			if ids[id] {
				t.Fatalf("request id %d twice", id)
			}
			ids[id] = true
		}
	}
	if One.RequestID(7) != 7 || One.Seed(42) != 42 {
		t.Error("the whole run must keep its request ids and seed")
	}
	seeds := map[uint64]bool{}
	for i := range n {
		s := Part{i, n}.Seed(42)
		if s == 0 || seeds[s] || s != (Part{i, n}).Seed(42) {
			t.Fatalf("shard %d seed %d: zero, repeated or not reproducible", i, s)
		}
		seeds[s] = true
	}
}

func TestRunIDAndStartAt(t *testing.T) {
	now := time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC)
	a := RunID("Monday Morning!", now)
	if a != RunID("Monday Morning!", now) || !strings.HasPrefix(a, "monday-morning-20250106t093000z-") || CheckRunID(a) != nil {
		t.Errorf("RunID = %q", a)
	}
	if RunID("monday", now) == RunID("monday", now.Add(time.Millisecond)) || RunID("a", now) == RunID("b", now) {
		t.Error("run ids of different starts or profiles collide")
	}
	for _, bad := range []string{"", "Upper", "-x", "x-", "a_b", strings.Repeat("a", 64)} {
		if CheckRunID(bad) == nil {
			t.Errorf("CheckRunID(%q) accepted", bad)
		}
	}
	cases := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"+30s", now.Add(30 * time.Second), false},
		{"+0s", now, false},
		{"2025-01-06T10:00:00Z", time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC), false},
		{"2025-01-06T10:00:00.5+01:00", time.Date(2025, 1, 6, 9, 0, 0, 5e8, time.UTC), false},
		{"+-3s", time.Time{}, true},
		{"tomorrow", time.Time{}, true},
		{"30s", time.Time{}, true},
	}
	for _, tc := range cases {
		got, err := ParseStartAt(tc.in, now)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !got.Equal(tc.want)) {
			t.Errorf("ParseStartAt(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestClockEstimate feeds responses from a target whose clock is 340 ms ahead, sent 7 ms
// apart and taking 2 ms each: the estimate must land within its stated uncertainty of the
// truth, and the uncertainty must be about one round trip.
func TestClockEstimate(t *testing.T) {
	for _, ahead := range []time.Duration{340 * time.Millisecond, -1250 * time.Millisecond, 0} {
		var c Clock
		own := time.Date(2025, 1, 6, 9, 30, 0, 123e6, time.UTC)
		for i := 0; i < 600; i++ {
			sent := own.Add(time.Duration(i) * 7 * time.Millisecond)
			made := sent.Add(time.Millisecond).Add(ahead) // target's clock when it answered
			h := http.Header{"Date": {made.UTC().Format(http.TimeFormat)}}
			c.Observe(sent, sent.Add(2*time.Millisecond), h)
		}
		off, unc, n, ok := c.Estimate()
		if !ok || n != 600 {
			t.Fatalf("ahead %v: no estimate (%d samples)", ahead, n)
		}
		if d := (off - ahead).Abs(); d > unc || unc > 10*time.Millisecond {
			t.Errorf("ahead %v: estimated %v ± %v", ahead, off, unc)
		}
	}
	var c Clock
	c.Observe(time.Now(), time.Now(), http.Header{})
	if _, _, _, ok := c.Estimate(); ok {
		t.Error("an estimate without any Date header")
	}
	// Two targets whose clocks disagree by 5 s: no estimate rather than a wrong one.
	base := time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC)
	c = Clock{}
	for i := 0; i < 10; i++ {
		s := base.Add(time.Duration(i) * 100 * time.Millisecond)
		c.Observe(s, s.Add(time.Millisecond), http.Header{"Date": {s.Add(time.Duration(i%2) * 5 * time.Second).Format(http.TimeFormat)}})
	}
	if _, _, _, ok := c.Estimate(); ok {
		t.Error("an estimate from targets whose clocks disagree")
	}
}
