package simservice

import (
	"math"
	"slices"
	"time"
)

// waitWindow is the number of recent acquisitions the wait percentiles cover: enough for a
// stable p99 estimate, small enough that they follow the queue within a fraction of a second
// at typical rates.
const waitWindow = 256

// waitRing holds the queue waits of the last waitWindow acquisitions. Not safe for concurrent
// use; the database guards it with its mutex.
type waitRing struct {
	buf  [waitWindow]time.Duration
	n    int // filled entries, ≤ waitWindow
	next int // slot the next wait goes into
}

func (r *waitRing) add(d time.Duration) {
	r.buf[r.next] = d
	r.next = (r.next + 1) % waitWindow
	r.n = min(r.n+1, waitWindow)
}

// quantiles returns the nearest-rank quantiles for each p in [0, 1], all 0 while empty.
func (r *waitRing) quantiles(ps ...float64) []time.Duration {
	out := make([]time.Duration, len(ps))
	if r.n == 0 {
		return out
	}
	sorted := slices.Clone(r.buf[:r.n])
	slices.Sort(sorted)
	for i, p := range ps {
		rank := int(math.Ceil(p*float64(r.n))) - 1
		out[i] = sorted[min(max(rank, 0), r.n-1)]
	}
	return out
}
