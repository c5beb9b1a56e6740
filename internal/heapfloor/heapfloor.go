// Package heapfloor keeps a load generator's garbage collector from running while its heap is
// small. Go's default (GOGC=100) collects whenever the heap doubles its live part; a generator
// lives on a few MB and makes garbage at every attempt, so it collected every fraction of a
// second, and a collection that began while attempts were in flight started the generator's
// stalls: at 10 k/s and 20 k/s against nginx, the attempts sent over 1 ms late clustered
// around the collections (GODEBUG=gctrace=1 beside the runs), and with GOGC=off the lag p99
// fell from a median of 1.1 to 0.2 ms at 10 k/s and from 16.7 to 3.2 ms at 20 k/s
// (docs/performance.md).
//
// A floor is the other half of what GOGC=off with GOMEMLIMIT gives, without its cliff: after
// each collection Start sets GOGC so that the next one comes when the heap reaches the floor,
// or at twice the live heap (GOGC=100) once that is larger. So the heap stays under
// max(floor, the default's goal), and a run whose live heap outgrows the floor is collected
// as Go would have, never in a loop near a limit. (Uber's GOGC tuner works this way.)
//
// GOGC is the process's, so the caller owns the process: the CLI starts a floor for the
// commands that generate load, and never when the user set GOGC or GOMEMLIMIT.
package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultMiB is the floor the CLI's load-generating commands use unless told otherwise: a
// generator's heap at 10–60 k/s is 5–25 MB, so 128 MiB spaces collections by seconds to
// minutes, and it fits the 256 MiB a generator pod requests (kube).
const DefaultMiB = 128

// MaxMiB bounds the floor a user can ask for (64 GiB).
const MaxMiB = 64 << 10

// defaultPercent is GOGC's default: above the floor, the collector runs as Go's would.
const defaultPercent = 100

// maxPercent bounds the GOGC the floor sets, so that a tiny live heap (kilobytes, in a test)
// does not ask for an absurd value.
const maxPercent = 1 << 20

// Floor is a running floor: the collector's pace set after each collection, until Stop.
type Floor struct {
	bytes  uint64
	before int // GOGC when Start was called, put back by Stop

	mu      sync.Mutex // guards stopped and samples between Stop and a tune on the finalizer goroutine
	stopped bool
	samples []metrics.Sample
}

// Start sets the collector's pace for a floor of the given bytes now and after every
// collection until Stop. A floor of zero does nothing. GOGC is the process's: one floor at a
// time, started and stopped by the goroutine that owns the process's run.
func Start(bytes uint64) *Floor {
	if bytes == 0 {
		return &Floor{stopped: true}
	}
	f := &Floor{bytes: bytes, before: debug.SetGCPercent(defaultPercent)}
	// What the pace is computed from: the heap a collection found live, and the stacks and
	// globals it scanned, which Go's heap goal counts as well (goal = live + (live + stacks
	// + globals) × GOGC/100).
	f.samples = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
	f.tune()
	f.arm()
	return f
}

// Stop puts GOGC back as Start found it. The sentinel armed last is finalized after the next
// collection and then does nothing.
func (f *Floor) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	f.stopped = true
	debug.SetGCPercent(f.before)
}

// sentinel is garbage as soon as arm returns: its finalizer runs on the runtime's finalizer
// goroutine after the next collection, tunes and arms another. It holds a pointer so that it
// is not a tiny allocation (those share a block with others and may never be finalized).
type sentinel struct{ f *Floor }

func (f *Floor) arm() {
	runtime.SetFinalizer(&sentinel{f: f}, func(s *sentinel) {
		if s.f.tune() {
			s.f.arm()
		}
	})
}

// tune sets GOGC for the heap the last collection left, and reports whether the floor still
// runs.
func (f *Floor) tune() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.samples)
	var v [3]uint64 // live, stacks, globals; 0 where this Go does not have one
	for i, s := range f.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	debug.SetGCPercent(Percent(f.bytes, v[0], v[1]+v[2]))
	return true
}

// goMinimumHeap is the runtime's smallest heap goal at GOGC=100 (defaultHeapMinimum in
// runtime/mgcpacer.go); it scales with GOGC, so on a heap of a few MB it is what sets the goal.
const goMinimumHeap = 4 << 20

// Percent is the GOGC that makes the next collection come when the heap reaches floor, given
// the live heap and the stacks and globals a collection scans: never below Go's default.
//
// Go's goal is the larger of live + (live + roots) × GOGC/100 and 4 MiB × GOGC/100, so both
// are kept at the floor: on a small heap the second is the one that binds.
func Percent(floor, live, roots uint64) int {
	if floor <= live {
		return defaultPercent
	}
	p := uint64(maxPercent)
	if base := live + roots; base > 0 {
		p = (floor - live) * 100 / base
	}
	p = min(p, floor*100/goMinimumHeap)
	return int(min(max(p, defaultPercent), maxPercent))
}
