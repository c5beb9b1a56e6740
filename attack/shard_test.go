package attack

import (
	"slices"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/shard"
)

// TestShardsUnionIsTheWholeSchedule: the first attempts of parts 0..N-1 of a schedule, put
// together, are exactly the one-generator schedule (same instants, same phases), each part
// gets every N-th of them, request ids are unique across parts, and closed-loop users are
// split the same way.
func TestShardsUnionIsTheWholeSchedule(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		n    int
	}{
		{"monday, 4 shards", "phases: [{duration: 5s, rate: 200}, {duration: 3s, from: 200, to: 600}, {duration: 6s, rate: 600}, {duration: 4s, rate: 200}]", 4},
		{"slow rate, more shards than attempts per second", "phases: [{duration: 10s, rate: 3}]", 7},
		{"ramp, 3 shards", "phases: [{duration: 4s, from: 10, to: 900}]", 3},
		{"closed loop, 4 shards", "client: {think: 100ms}\nphases: [{duration: 2s, users: 10}, {duration: 2s, users: 3}]", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testfix.MustParse(t, tc.yaml)
			closed := p.ClosedLoop()
			s := p.Schedule()
			type first struct {
				at    time.Duration
				phase uint8
				user  int32
			}
			collect := func(part shard.Part) ([]first, []uint64) {
				sc := testScheduler(t, s, "http://127.0.0.1:1/")
				sc.think = 100 * time.Millisecond
				sc.setPart(part)
				var fs []first
				var ids []uint64
				for _, a := range drain(sc, 100*time.Microsecond) {
					fs = append(fs, first{a.intended, a.phase, a.user})
					ids = append(ids, a.requestID)
				}
				return fs, ids
			}
			whole, _ := collect(shard.One)
			var union []first
			seen := map[uint64]int{}
			for i := range tc.n {
				part := shard.Part{Index: i, Count: tc.n}
				fs, ids := collect(part)
				for _, f := range fs {
					if closed && !part.Owns(uint64(f.user)) {
						t.Fatalf("part %s ran user %d", part, f.user)
					}
				}
				for _, id := range ids {
					if prev, dup := seen[id]; dup {
						t.Fatalf("request id %d used by parts %d and %d", id, prev, i)
					}
					seen[id] = i
				}
				if !closed {
					// Part i has the k-th first attempts with k mod N == i, in order.
					for j, f := range fs {
						if k := j*tc.n + i; k >= len(whole) || whole[k] != f {
							t.Fatalf("part %s attempt %d = %+v, want the whole run's attempt %d", part, j, f, k)
						}
					}
				}
				union = append(union, fs...)
			}
			cmp := func(a, b first) int {
				switch {
				case a.at != b.at:
					return int(a.at - b.at)
				case a.user != b.user:
					return int(a.user - b.user)
				}
				return int(a.phase) - int(b.phase)
			}
			slices.SortFunc(union, cmp)
			slices.SortFunc(whole, cmp)
			if !slices.Equal(union, whole) {
				t.Fatalf("union of %d parts: %d first attempts, the whole run %d; they differ", tc.n, len(union), len(whole))
			}
			if len(whole) == 0 {
				t.Fatal("the schedule produced nothing")
			}
		})
	}
}
