package main

import (
	"strings"
	"testing"
	"time"
)

// TestJudge: a leak raises the floor and is growing; peaks while the machine is busy (more
// attempts in flight) with the floor where it was are flat.
func TestJudge(t *testing.T) {
	mk := func(rssMiB []int, goroutines []int) []sample {
		var ss []sample
		for i := range rssMiB {
			ss = append(ss, sample{at: time.Duration(i+1) * time.Minute, rss: uint64(rssMiB[i]) << 20, goroutines: goroutines[i], fds: 40, lagP99: 2 * time.Millisecond})
		}
		return ss
	}
	lagging := func(ss []sample, lagMs []float64) []sample {
		for i := range ss {
			ss[i].lagP99 = time.Duration(lagMs[i] * float64(time.Millisecond))
		}
		return ss
	}
	steady := func() []sample {
		return mk([]int{30, 25, 25, 26, 25, 25, 26, 25, 25}, []int{400, 300, 310, 300, 305, 300, 310, 300, 302})
	}
	tests := []struct {
		name    string
		samples []sample
		want    string
		why     string
	}{
		{"steady", mk([]int{30, 25, 25, 26, 25, 25, 26, 25, 25}, []int{400, 300, 310, 300, 305, 300, 310, 300, 302}), "flat", "goroutines 300 → 300"},
		{"busy neighbour in the middle and at the end", mk([]int{30, 25, 25, 31, 30, 25, 31, 25, 29}, []int{400, 300, 310, 650, 600, 300, 640, 305, 560}), "flat", ""},
		{"goroutine leak", mk([]int{30, 25, 25, 25, 25, 25, 25, 25, 25}, []int{400, 300, 300, 380, 420, 460, 500, 540, 580}), "growing", "goroutines floor 300 → 540"},
		{"memory leak", mk([]int{30, 25, 26, 30, 34, 38, 42, 46, 50}, []int{400, 300, 300, 300, 300, 300, 300, 300, 300}), "growing", "RSS floor 25.0 → 46.0 MiB"},
		{"lag spikes with the floor kept", lagging(steady(), []float64{9, 2, 2.2, 8, 2.1, 2, 30, 2.3, 12}), "flat", "lag p99 2ms → 2.3ms"},
		{"generator falling behind", lagging(steady(), []float64{9, 2, 2.2, 3, 4, 5, 6, 7, 8}), "growing", "lag p99 floor 2ms → 7ms"},
		{"too short", mk([]int{30, 25}, []int{400, 300}), "too short", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := judge(tt.samples, 2*time.Minute)
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("judge = %s (%s), want %s (%s)", got, why, tt.want, tt.why)
			}
		})
	}
}
