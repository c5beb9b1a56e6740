package attack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// group is one client group of a run: its behaviour, its scheduler and its vegeta attacker.
type group struct {
	index    uint8
	client   profiles.Client
	sched    *scheduler
	attacker *vegeta.Attacker
	budget   profiles.RetryBudget
	rng      *rand.Rand // retry jitter; used by the consumer goroutine only
	progress *Progress

	denied, expired uint64 // retries refused by the budget / past the deadline
	// hops counts redirects followed; vegeta's workers add to it, so it is atomic.
	hops atomic.Uint64
}

// targeter hands the attempt the scheduler claimed to the vegeta worker that took the tick.
func (g *group) targeter(tgt *vegeta.Target) error {
	_, ep, u, first, ok := g.sched.next()
	if !ok {
		return errTickWithoutClaim
	}
	g.progress.Sent.Add(1)
	if first {
		g.progress.Requests.Add(1)
	}
	tgt.Method = ep.method
	tgt.URL = u
	tgt.Header = ep.header
	tgt.Body = ep.body
	return nil
}

func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream^0xbf58476d1ce4e5b9))
}

// consumer turns vegeta results into records and decides retries. It runs in the one
// goroutine that reads the attack's merged results.
type consumer struct {
	recorder Recorder
	start    time.Time
	groups   []*group
	progress *Progress
	rec      results.Record
	recorded uint64
	err      error
}

func (c *consumer) consume(g *group, res *vegeta.Result) error {
	slot, ok := slotOf(res.URL)
	if !ok {
		return fmt.Errorf("attack: result for an unknown attempt (url %q, error %q)", res.URL, res.Error)
	}
	a := g.sched.get(slot)
	sent := res.Timestamp.Sub(c.start)
	end := sent + res.Latency
	kind := classify(res.Code, res.Error)

	rec := &c.rec
	*rec = results.Record{
		RequestID:   a.requestID,
		Attempt:     a.number,
		Group:       g.index,
		Phase:       a.phase,
		Kind:        kind,
		Code:        res.Code,
		Intended:    c.start.Add(a.intended).UnixNano(),
		SendLag:     sent - a.intended,
		ServiceTime: res.Latency,
		RequestAge:  a.intended - a.first,
	}
	if kind != results.KindOK {
		rec.Error = errorMessage(res.Error)
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

	if next, ok := g.nextAttempt(a, kind, res, end); ok {
		g.sched.retry(slot, next)
		c.progress.Retries.Add(1)
	} else {
		g.sched.finish(slot, end)
	}
	if werr != nil {
		return fmt.Errorf("recording attempt %d of request %d: %w", a.number, a.requestID, werr)
	}
	return nil
}

// nextAttempt decides, as the group's clients would, whether the attempt a, which ended at end
// with kind, is tried again, and when.
func (g *group) nextAttempt(a attempt, kind results.Kind, res *vegeta.Result, end time.Duration) (attempt, bool) {
	ok := kind == results.KindOK
	g.budget.Outcome(end, ok)
	if a.number == 1 {
		g.budget.Request(end)
	}
	retry := g.client.Retry
	if ok || int(a.number) >= retry.Attempts() || !retry.RetriesOn(retryClass(kind), int(res.Code)) {
		return attempt{}, false
	}
	delay := retry.Delay(int(a.number), a.prevDelay, g.rng)
	if retry.RetryAfter {
		if wait, ok := retryAfter(res.Headers, res.Timestamp.Add(res.Latency)); ok && wait > delay {
			delay = wait
		}
	}
	next := a
	next.number++
	next.intended = end + delay
	next.prevDelay = delay
	if d := time.Duration(g.client.Deadline); d > 0 && next.intended-a.first >= d {
		g.expired++
		return attempt{}, false
	}
	if !g.budget.Allow(end) {
		g.denied++
		return attempt{}, false
	}
	return next, true
}

// retryClass names a failure the way a profile's retry.on does.
func retryClass(k results.Kind) string {
	switch k {
	case results.KindTimeout:
		return profiles.RetryOnTimeout
	case results.KindRefused, results.KindReset:
		return profiles.RetryOnConnection
	case results.Kind5xx:
		return profiles.RetryOn5xx
	case results.Kind429:
		return profiles.RetryOn429
	case results.Kind4xx:
		return profiles.RetryOn4xx
	}
	return ""
}

// maxRetryAfter bounds the wait a Retry-After can ask for. Without a bound, "9223372036" or a
// date in the year 9999 overflows end+delay into the past: the retry is sent at once and its
// record gets a negative latency. A day is longer than any sensible run's retry and far from
// overflow; a retry it puts after the profile's end is counted as unsent.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// Compare in seconds: multiplying first is what overflowed. ErrRange is a number of
		// seconds beyond uint64, which is at least the bound.
		if err != nil || secs >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		// t.Sub saturates at the largest Duration rather than overflowing; clamp it anyway.
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}
