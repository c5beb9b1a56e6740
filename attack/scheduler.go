package attack

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stormtest/stormtest/curve"
	"github.com/stormtest/stormtest/shard"
)

// attempt is one logical request's state between its attempts. It lives in a slot of the
// scheduler's slab from the moment its first attempt is claimed until its last attempt
// completes; the worker that sends it hands the slot number back with the outcome, so no
// per-attempt allocation or map is needed to find it again.
type attempt struct {
	requestID uint64
	number    uint8         // 1 for the first attempt
	phase     uint8         // phase in force at intended
	endpoint  uint16        // what the request sends (requestPlan), the same on every attempt
	user      int32         // closed-loop user sending the request; -1 for open-loop
	intended  time.Duration // since run start: when this attempt is due
	first     time.Duration // since run start: when attempt 1 was due
	prevDelay time.Duration // the last backoff, for decorrelated jitter
}

// scheduler decides when the next attempt is due and which one it is: the profile's next
// first attempt or a retry whose backoff has elapsed, whichever is earlier. The engine's pool
// asks it through two calls, vegeta's seams: Pace (when; vegeta's Pacer) and group.take
// (what; a Targeter's job).
//
// Pace claims the due attempt and queues it as ready; the worker that claimed it then calls
// take, which pops a ready attempt. Claims and pops therefore always pair up, whatever order
// the workers run in.
type scheduler struct {
	schedule *curve.Schedule
	end      time.Duration
	hasMax   bool // the schedule has a rate: max phase, so claim looks for one (nextMax)
	clock    clock
	plan     *requestPlan
	rng      *rand.Rand     // endpoint choice; used under mu
	ids      *atomic.Uint64 // request ids, shared by every client group of a run

	mu        sync.Mutex
	nextFirst uint64            // index of the next open-loop first attempt
	firstAt   time.Duration     // when it is due
	firstDone bool              // the profile has no more open-loop first attempts
	users     minHeap[userItem] // closed loop: idle users, by when they send next
	think     time.Duration     // closed loop: a user's pause between requests
	requested uint64            // first attempts claimed, open- and closed-loop
	retries   minHeap[retryItem]
	slots     []attempt
	free      []uint32
	ready     []uint32 // claimed, not yet handed to a worker (FIFO)
	readyHead int
	inFlight  int  // claimed and not yet completed
	stopped   bool // stop was called: Pace returns stop from now on

	wake chan struct{} // a retry was queued, a closed-loop user became idle, or stop was called

	// part is the generator's share of the run: the open-loop first attempts k with
	// part.Owns(k) and the closed-loop users u with part.Owns(u) (package shard).
	part shard.Part
}

// newScheduler paces one client group. ids is shared by the groups of a run so that request
// ids are unique in its results file; nil gives the scheduler its own. think is the closed-loop
// pause between a user's requests.
func newScheduler(s *curve.Schedule, plan *requestPlan, c clock, ids *atomic.Uint64, seed uint64, think time.Duration) *scheduler {
	if ids == nil {
		ids = new(atomic.Uint64)
	}
	sc := &scheduler{
		schedule: s,
		end:      s.Duration(),
		hasMax:   s.HasMax(),
		clock:    c,
		plan:     plan,
		rng:      rand.New(rand.NewPCG(seed, seed^0x94d049bb133111eb)),
		ids:      ids,
		think:    think,
		wake:     make(chan struct{}, 1),
		users:    minHeap[userItem]{before: userBefore},
		retries:  minHeap[retryItem]{before: retryBefore},
	}
	sc.setPart(shard.One)
	return sc
}

// setPart makes the scheduler send only part's share of the schedule: every part.Stride()-th
// first attempt from part.FirstOwned() on, and the closed-loop users part owns. Call it
// before the first Pace.
func (sc *scheduler) setPart(part shard.Part) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.part = part
	sc.nextFirst, sc.firstDone = part.FirstOwned(), false
	sc.advanceFirst()
	// Every closed-loop user starts when the first phase that has it starts.
	sc.users.items = sc.users.items[:0]
	for u := 0; u < maxUsers(sc.schedule); u++ {
		if !part.Owns(uint64(u)) {
			continue
		}
		if at, ok := sc.activeFrom(u, 0); ok {
			sc.users.push(userItem{at: at, user: int32(u)})
		}
	}
}

// maxUsers is the largest closed-loop population of the schedule.
func maxUsers(s *curve.Schedule) int {
	n := 0
	for _, sp := range s.Spans {
		n = max(n, s.UsersAt(sp.Start))
	}
	return n
}

// activeFrom is the earliest time at or after t at which user u belongs to the population.
func (sc *scheduler) activeFrom(u int, t time.Duration) (time.Duration, bool) {
	for _, sp := range sc.schedule.Spans {
		if sp.End <= t {
			continue
		}
		if u < sc.schedule.UsersAt(sp.Start) {
			return max(t, sp.Start), true
		}
	}
	return 0, false
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
// zero wait, so the worker that called it sends exactly that attempt next. It returns stop at
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
	// In a rate: max phase a first attempt is due whenever a worker asks: the pool asks only
	// while a worker is free, so max-workers is what bounds the rate, as with vegeta's
	// -rate=0. Its intended time is now, the moment it was claimed.
	flat := false
	if sc.hasMax {
		if at, ok := sc.nextMax(now); ok && at < next {
			next, flat = at, true
		}
	}
	userDue := len(sc.users.items) > 0 && sc.users.items[0].at < next
	if userDue {
		next = sc.users.items[0].at
	}
	retryDue := len(sc.retries.items) > 0 && sc.retries.items[0].at <= next
	if retryDue {
		next = sc.retries.items[0].at
		userDue = false
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
	switch {
	case retryDue:
		slot = sc.retries.pop().slot
	case userDue:
		u := sc.users.pop()
		slot = sc.newRequest(u.at, u.user)
	case flat:
		slot = sc.newRequest(now, -1)
	default:
		slot = sc.newRequest(sc.firstAt, -1)
		sc.nextFirst += sc.part.Stride()
		sc.advanceFirst()
	}
	sc.ready = append(sc.ready, slot)
	sc.inFlight++
	return 0, true, false
}

// nextMax is the earliest time at or after now that falls in a rate: max phase.
func (sc *scheduler) nextMax(now time.Duration) (time.Duration, bool) {
	for i := range sc.schedule.Spans {
		if sp := &sc.schedule.Spans[i]; sp.Max && sp.End > now {
			return max(sp.Start, now), true
		}
	}
	return 0, false
}

// newRequest starts a request whose first attempt is due at, for a closed-loop user or for
// nobody (-1). Caller holds mu.
func (sc *scheduler) newRequest(at time.Duration, user int32) uint32 {
	slot := sc.allocSlot()
	sc.slots[slot] = attempt{
		requestID: sc.part.RequestID(sc.ids.Add(1)),
		number:    1,
		phase:     uint8(sc.schedule.PhaseAt(at)),
		// Round robin over a targets file counts the run's requests, not the shard's, so
		// the shards together cycle through it as one generator would.
		endpoint: sc.plan.choose(sc.part.RequestID(sc.requested), sc.rng),
		user:     user,
		intended: at,
		first:    at,
	}
	sc.requested++
	return slot
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
	return slot
}

// next pops the oldest claimed attempt for a worker: its slot, endpoint (what to send), and
// whether it is a request's first attempt.
func (sc *scheduler) next() (slot uint32, ep *endpoint, first, ok bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.readyHead == len(sc.ready) {
		return 0, nil, false, false
	}
	slot = sc.ready[sc.readyHead]
	sc.readyHead++
	if sc.readyHead == len(sc.ready) {
		// Drained: reuse the backing array instead of letting it creep forward.
		sc.ready, sc.readyHead = sc.ready[:0], 0
	}
	return slot, &sc.plan.endpoints[sc.slots[slot].endpoint], sc.slots[slot].number == 1, true
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
	sc.retries.push(retryItem{at: next.intended, slot: slot})
	sc.inFlight--
	sc.mu.Unlock()
	sc.signal()
}

// finish releases the slot of a request that will not be tried again, which ended at end.
// A closed-loop user sends its next request after its think time, if it is still part of the
// population then.
func (sc *scheduler) finish(slot uint32, end time.Duration) {
	sc.mu.Lock()
	queued := false
	if u := sc.slots[slot].user; u >= 0 {
		if at, ok := sc.activeFrom(int(u), end+sc.think); ok {
			sc.users.push(userItem{at: at, user: u})
			queued = true
		}
	}
	sc.free = append(sc.free, slot)
	sc.inFlight--
	sc.mu.Unlock()
	// Only a newly idle user can make something due sooner than the pacer is waiting for;
	// waking it for every open-loop completion cost a futile wake-up per attempt.
	if queued {
		sc.signal()
	}
}

// stop makes Pace return stop at once.
func (sc *scheduler) stop() {
	sc.mu.Lock()
	sc.stopped = true
	sc.mu.Unlock()
	sc.signal()
}

// pending counts what was scheduled but never sent: retries still waiting for their backoff
// and claims that no worker sent because the run was stopping.
func (sc *scheduler) pending() (retries, claimed int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.retries.items), len(sc.ready) - sc.readyHead
}

// requests is how many logical requests were started.
func (sc *scheduler) requests() uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.requested
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

func retryBefore(a, b retryItem) bool { return a.at < b.at }

type userItem struct {
	at   time.Duration
	user int32
}

// userBefore orders idle closed-loop users by when they send next, then by user, so that
// users starting together go in a fixed order.
func userBefore(a, b userItem) bool { return a.at < b.at || (a.at == b.at && a.user < b.user) }
