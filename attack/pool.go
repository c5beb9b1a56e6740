package attack

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// pool is the worker pool both engines send from; an engine gives it only the send.
//
// Pacing is leader/follower: the worker holding pace is the only one in the scheduler's Pace
// (which blocks until the next attempt is due and claims it); it lets the next idle worker
// have pace, takes the attempt and sends. A worker that finds an attempt due already claims
// it without waiting for pace (see claim). So an attempt is claimed only when a worker is free
// to send it (vegeta's unbuffered ticks did the same), and no goroutine hand-off sits between
// the claim and the send.
//
// Workers start at poolSpare and grow to max while a claim finds no other worker idle, as
// vegeta's do; unlike vegeta's, they also shrink: a worker that comes back from a send to find
// poolSpare others idle ends. A burst of slow attempts (a target hanging for a while, a retry
// storm) raises the pool for as long as it lasts, and the pool falls back after it, so that an
// hour-long run holds as many goroutines at the end as it did at the start (make soak).
//
// A run with transport.preconnect N starts N workers (up to max) and never falls below them:
// the workers a burst of late attempts needs are ready, as their connections are. A new
// worker costs more than its goroutine: its stack grows several times through the first send
// (each growth a copy that walks the stack), and its request and response are allocated; at
// 10 k/s a burst of 40 late attempts made 40 of them at once, on the two cores that were
// already behind (docs/performance.md).
type pool struct {
	g   *group
	max int64 // max workers, at least 1
	out chan outcome
	// sender makes one worker's send function. It is called once per worker, on that
	// worker's goroutine, so what a send function keeps between attempts (a request and
	// response to reuse) needs no lock.
	sender func() sendFunc

	floor   int64      // workers the pool starts with and keeps: poolSpare, or the preconnect count
	pace    sync.Mutex // held by the worker in the scheduler's Pace
	workers atomic.Int64
	idle    atomic.Int64 // workers waiting for pace or in Pace
	wg      sync.WaitGroup
	parks   atomic.Int64 // how often next found no outcome and parked
}

// sendFunc makes one attempt, once, and says how it went: slot and ep are what group.take
// handed over for it.
type sendFunc func(slot uint32, ep *endpoint) outcome

// poolSpare is how many workers a pool starts with and how many idle ones it keeps: enough
// that a steady run never starts a goroutine for an attempt, few enough to cost nothing.
const poolSpare = 16

// newPool makes a pool of up to limit workers that starts and keeps warm of them (at least
// poolSpare).
func newPool(g *group, limit uint64, warm int, sender func() sendFunc) *pool {
	p := &pool{g: g, max: int64(max(limit, 1)), sender: sender}
	p.floor = min(p.max, max(poolSpare, int64(warm)))
	p.out = make(chan outcome, min(p.max, 1024))
	return p
}

// start starts the first workers; next delivers their outcomes, on the caller's goroutine,
// until the scheduler said stop and every attempt in flight has been delivered.
func (p *pool) start() (next func() (outcome, bool)) {
	n := p.floor
	p.workers.Store(n)
	p.wg.Add(int(n))
	for range n {
		go p.work()
	}
	go func() {
		p.wg.Wait()
		close(p.out)
	}()
	return p.next
}

// next delivers the next outcome, on the consumer's goroutine (see start).
//
// Before parking on an empty channel it yields a few times: at max rate an outcome arrives
// every ~10 µs, and a parked consumer costs the worker that finds it so a wake-up (the
// max-rate profile against nginx: the consumer parked for 75 % of 423 k outcomes; with the
// yields for ~5 %). When nothing else is runnable a yield returns at once, so an idle
// consumer spends a few hundred nanoseconds before it parks.
func (p *pool) next() (outcome, bool) {
	for range consumerYields {
		select {
		case o, ok := <-p.out:
			return o, ok
		default:
		}
		runtime.Gosched()
	}
	p.parks.Add(1)
	o, ok := <-p.out
	return o, ok
}

// consumerYields is how many times next yields before it parks on an empty channel.
const consumerYields = 3

// work is one worker: claim, send, deliver, until the scheduler says stop or the pool has
// workers enough to spare this one.
func (p *pool) work() {
	defer p.wg.Done()
	send := p.sender()
	for {
		if p.claim() {
			return
		}
		slot, ep, ok := p.g.take()
		if !ok {
			// Cannot happen: every worker takes once per claim of its own, after it.
			p.out <- outcome{err: errTickWithoutClaim.Error()}
			p.g.sched.stop()
			return
		}
		p.out <- send(slot, ep)
		if p.shrink() {
			return
		}
	}
}

// claim claims the next attempt for the calling worker, waiting for it to be due, or reports
// that the scheduler said stop.
//
// A worker back from a send first tries to claim without taking pace: when an attempt is due
// already (a rate: max phase, a due retry, a pacer that woke late) it takes it at once. At
// max rate every claim went through the pace mutex before this, and the max-rate profile showed
// that queue's hand-offs (one goroutine parked and woken per attempt); at a high fixed rate the
// attempt the pacer overslept goes out with the first free worker instead of the next in line.
// Only when nothing is due does the worker queue for pace and wait in Pace.
func (p *pool) claim() (stop bool) {
	sc := p.g.sched
	_, claimed, done := sc.claim(sc.clock.Now())
	switch {
	case done:
		return true
	case claimed:
		if p.idle.Load() == 0 {
			p.grow() // nobody is waiting for the next attempt
		}
		return false
	}
	p.idle.Add(1)
	p.pace.Lock()
	_, stop = sc.Pace(0, 0)
	p.pace.Unlock()
	if p.idle.Add(-1) == 0 && !stop {
		p.grow()
	}
	return stop
}

// grow starts another worker, unless max workers are running.
func (p *pool) grow() {
	if p.workers.Add(1) > p.max {
		p.workers.Add(-1)
		return
	}
	p.wg.Add(1) // the caller is a running worker, so the count cannot have reached zero
	go p.work()
}

// shrink reports whether the calling worker, back from a send, should end: poolSpare others
// are idle already. The pool never falls below its floor this way.
func (p *pool) shrink() bool {
	if p.idle.Load() < poolSpare {
		return false
	}
	for {
		n := p.workers.Load()
		if n <= p.floor {
			return false
		}
		if p.workers.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// running is how many workers the pool has now, for tests.
func (p *pool) running() int64 { return p.workers.Load() }
