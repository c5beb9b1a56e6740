package attack

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/retry"
	"github.com/stormtest/stormtest/shard"
)

// group is one client group of a run: its behaviour, its scheduler and its engine.
type group struct {
	index    uint8
	sched    *scheduler
	engine   engine
	retry    *retry.Client // used by the consumer goroutine only
	progress *Progress

	denied, expired uint64 // retries refused by the budget / past the deadline
	// hops counts redirects followed; the workers add to it, so it is atomic.
	hops atomic.Uint64
}

// consumer turns the engines' outcomes into records and decides retries. It runs in the one
// goroutine that reads the attack's merged results.
type consumer struct {
	recorder Recorder
	observer Observer // may be nil
	start    time.Time
	groups   []*group
	progress *Progress
	rec      results.Record
	recorded uint64
	err      error
	// clock estimates the generator's clock offset from the responses' Date headers until
	// clockUntil (shard.ClockWindow after t=0).
	clock      shard.Clock
	clockUntil time.Time
}

func (c *consumer) consume(g *group, res *outcome) error {
	if !res.known {
		return fmt.Errorf("attack: result for an unknown attempt (%s)", res.err)
	}
	slot := res.slot
	a := g.sched.get(slot)
	sent := res.sent.Sub(c.start)
	end := sent + res.lat
	kind := res.kind
	if res.code != 0 && res.sent.Before(c.clockUntil) {
		c.clock.ObserveDate(res.sent, res.sent.Add(res.lat), res.date)
	}

	rec := &c.rec
	*rec = results.Record{
		RequestID:   a.requestID,
		Attempt:     a.number,
		Group:       g.index,
		Phase:       a.phase,
		Kind:        kind,
		Code:        res.code,
		Intended:    c.start.Add(a.intended).UnixNano(),
		SendLag:     sent - a.intended,
		ServiceTime: res.lat,
		RequestAge:  a.intended - a.first,
	}
	if kind != results.KindOK {
		rec.Error = res.err
	}
	werr := c.recorder.Write(rec)
	if werr == nil {
		c.recorded++
	}
	c.progress.observe(rec.Latency(), end)
	c.progress.Attempts.Add(1)
	if kind == results.KindOK {
		c.progress.Successes.Add(1)
	}

	next, retried := g.nextAttempt(a, kind, res, end)
	if retried {
		g.sched.retry(slot, next)
		c.progress.Retries.Add(1)
	} else {
		g.sched.finish(slot, end)
	}
	if c.observer != nil {
		c.observer.Attempt(rec, retried)
	}
	if werr != nil {
		return fmt.Errorf("recording attempt %d of request %d: %w", a.number, a.requestID, werr)
	}
	return nil
}

// nextAttempt asks the group's retry.Client whether the attempt a, which ended at end with
// kind, is tried again, and when; it counts the retries the deadline or the budget stopped.
func (g *group) nextAttempt(a attempt, kind results.Kind, res *outcome, end time.Duration) (attempt, bool) {
	delay, why := g.retry.Next(
		retry.Attempt{Number: int(a.number), First: a.first, PrevDelay: a.prevDelay},
		retry.Outcome{Kind: kind, Code: int(res.code), Header: res.header, End: end, Wall: res.sent.Add(res.lat)})
	switch why {
	case retry.Retrying:
	case retry.DeadlineExpired:
		g.expired++
		return attempt{}, false
	case retry.BudgetDenied:
		g.denied++
		return attempt{}, false
	default:
		return attempt{}, false
	}
	next := a
	next.number++
	next.intended = end + delay
	next.prevDelay = delay
	return next, true
}
