package attack

import (
	"container/heap"
	"strconv"
	"sync"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// attempt is one logical request's state between its attempts. It lives in a slot of the
// scheduler's slab from the moment its first attempt is claimed until its last attempt
// completes; the slot number travels with the HTTP request (see slotURL), so no per-attempt
// allocation or map is needed to find it again when vegeta hands back the result.
type attempt struct {
	requestID uint64
	number    uint8         // 1 for the first attempt
	phase     uint8         // phase in force at intended
	intended  time.Duration // since run start: when this attempt is due
	first     time.Duration // since run start: when attempt 1 was due
	prevDelay time.Duration // the last backoff, for decorrelated jitter
}

// scheduler decides when the next attempt is due and which one it is: the profile's next
// first attempt or a retry whose backoff has elapsed, whichever is earlier. vegeta asks it
// through two seams: the Pacer (when) and the Targeter (what).
//
// Pace claims the due attempt and queues it as ready; vegeta then sends exactly one tick per
// claim, and the worker that takes the tick calls the Targeter, which pops a ready attempt.
// Claims and pops therefore always pair up, whatever order the workers run in.
type scheduler struct {
	schedule *profiles.Schedule
	end      time.Duration
	clock    clock

	mu        sync.Mutex
	nextFirst uint64        // index of the next first attempt
	firstAt   time.Duration // when it is due
	firstDone bool          // the profile has no more first attempts
	retries   retryHeap
	slots     []attempt
	urls      []string // slot → request URL with the slot's fragment, built once per slot
	free      []uint32
	ready     []uint32 // claimed, not yet handed to a worker (FIFO)
	readyHead int
	inFlight  int  // claimed and not yet completed
	stopped   bool // stop was called: Pace returns stop from now on

	wake chan struct{} // a retry was queued, an attempt completed, or stop was called

	baseURL string
}

func newScheduler(s *profiles.Schedule, baseURL string, c clock) *scheduler {
	sc := &scheduler{
		schedule: s,
		end:      s.Duration(),
		clock:    c,
		wake:     make(chan struct{}, 1),
		baseURL:  baseURL,
	}
	sc.advanceFirst()
	return sc
}

// advanceFirst computes when the next first attempt is due. Caller holds mu (or owns sc).
func (sc *scheduler) advanceFirst() {
	at, ok := sc.schedule.TimeOf(float64(sc.nextFirst))
	if !ok || at >= sc.end {
		sc.firstDone = true
		return
	}
	sc.firstAt = at
}

// Pace implements vegeta's Pacer. It blocks until an attempt is due, claims it and returns a
// zero wait, so the tick vegeta sends next carries exactly that attempt. It returns stop at
// the end of the profile, or once stop was called.
func (sc *scheduler) Pace(_ time.Duration, _ uint64) (time.Duration, bool) {
	for {
		now := sc.clock.Now()
		wait, claimed, done := sc.claim(now)
		if done {
			return 0, true
		}
		if claimed {
			return 0, false
		}
		sc.clock.Wait(wait, sc.wake)
	}
}

// Rate implements vegeta's Pacer: the profile's first-attempt rate (retries come on top).
func (sc *scheduler) Rate(elapsed time.Duration) float64 { return sc.schedule.RateAt(elapsed) }

// claim takes the attempt due at now, if any. Otherwise it says how long until the next one
// is due (it may come sooner: a retry can be queued meanwhile, which signals wake), or that
// the run is over.
func (sc *scheduler) claim(now time.Duration) (wait time.Duration, claimed, done bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.stopped {
		return 0, false, true
	}
	next := sc.end
	if !sc.firstDone {
		next = sc.firstAt
	}
	retryDue := len(sc.retries.items) > 0 && sc.retries.items[0].at <= next
	if retryDue {
		next = sc.retries.items[0].at
	}
	if next >= sc.end {
		// Nothing is due before the profile ends. Attempts due before the end are still
		// sent when the pacer wakes late, so the profile's integral is delivered in full;
		// retries due after the end are left unsent.
		if now >= sc.end {
			return 0, false, true
		}
		return sc.end - now, false, false
	}
	if next > now {
		return next - now, false, false
	}
	var slot uint32
	if retryDue {
		slot = heap.Pop(&sc.retries).(retryItem).slot
	} else {
		slot = sc.allocSlot()
		sc.slots[slot] = attempt{
			requestID: sc.nextFirst + 1,
			number:    1,
			phase:     uint8(sc.schedule.PhaseAt(sc.firstAt)),
			intended:  sc.firstAt,
			first:     sc.firstAt,
		}
		sc.nextFirst++
		sc.advanceFirst()
	}
	sc.ready = append(sc.ready, slot)
	sc.inFlight++
	return 0, true, false
}

// allocSlot returns a free slot, growing the slab when none is free. Caller holds mu.
func (sc *scheduler) allocSlot() uint32 {
	if n := len(sc.free); n > 0 {
		slot := sc.free[n-1]
		sc.free = sc.free[:n-1]
		return slot
	}
	slot := uint32(len(sc.slots))
	sc.slots = append(sc.slots, attempt{})
	sc.urls = append(sc.urls, sc.baseURL+"#"+strconv.FormatUint(uint64(slot), 10))
	return slot
}

// next pops the oldest claimed attempt for a worker: its slot and the URL to send.
func (sc *scheduler) next() (slot uint32, url string, ok bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.readyHead == len(sc.ready) {
		return 0, "", false
	}
	slot = sc.ready[sc.readyHead]
	sc.readyHead++
	if sc.readyHead == len(sc.ready) {
		// Drained: reuse the backing array instead of letting it creep forward.
		sc.ready, sc.readyHead = sc.ready[:0], 0
	}
	return slot, sc.urls[slot], true
}

// get returns a copy of the slot's attempt.
func (sc *scheduler) get(slot uint32) attempt {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.slots[slot]
}

// retry queues the slot's next attempt, due at the given time.
func (sc *scheduler) retry(slot uint32, next attempt) {
	sc.mu.Lock()
	sc.slots[slot] = next
	heap.Push(&sc.retries, retryItem{at: next.intended, slot: slot})
	sc.inFlight--
	sc.mu.Unlock()
	sc.signal()
}

// finish releases the slot of a request that will not be tried again.
func (sc *scheduler) finish(slot uint32) {
	sc.mu.Lock()
	sc.free = append(sc.free, slot)
	sc.inFlight--
	sc.mu.Unlock()
	sc.signal()
}

// stop makes Pace return stop at once.
func (sc *scheduler) stop() {
	sc.mu.Lock()
	sc.stopped = true
	sc.mu.Unlock()
	sc.signal()
}

// pending counts what was scheduled but never sent: retries still waiting for their backoff
// and claims that vegeta did not turn into a hit because it was stopping.
func (sc *scheduler) pending() (retries, claimed int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.retries.items), len(sc.ready) - sc.readyHead
}

// requests is how many logical requests were started.
func (sc *scheduler) requests() uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.nextFirst
}

func (sc *scheduler) signal() {
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

type retryItem struct {
	at   time.Duration
	slot uint32
}

// retryHeap orders retries by due time.
type retryHeap struct{ items []retryItem }

func (h *retryHeap) Len() int           { return len(h.items) }
func (h *retryHeap) Less(i, j int) bool { return h.items[i].at < h.items[j].at }
func (h *retryHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *retryHeap) Push(x any)         { h.items = append(h.items, x.(retryItem)) }
func (h *retryHeap) Pop() any {
	n := len(h.items) - 1
	it := h.items[n]
	h.items = h.items[:n]
	return it
}
