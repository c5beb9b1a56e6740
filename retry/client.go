package retry

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// Client decides the retries of one client group. It is not safe for concurrent use: see the
// package doc.
type Client struct {
	retry    profiles.Retry
	deadline time.Duration // 0: none
	budget   budget
	rng      *rand.Rand // jitter
}

// New returns the retry behaviour of the client group c, with a fresh budget. seed and stream
// seed its jitter: the attack passes the profile's seed and the group's index, so that groups
// draw apart and a run replays from its seed.
func New(c profiles.Client, seed, stream uint64) *Client {
	return &Client{
		retry:    c.Retry,
		deadline: time.Duration(c.Deadline),
		budget:   newBudget(c.Retry.Budget),
		rng:      rand.New(rand.NewPCG(seed, stream^0xbf58476d1ce4e5b9)),
	}
}

// Attempt is the attempt that just finished, as its request's scheduler knows it.
type Attempt struct {
	// Number counts the request's attempts from 1, the first.
	Number int
	// First is the intended start of the request's first attempt, on the run's clock: the
	// deadline counts from it.
	First time.Duration
	// PrevDelay is the delay Next gave before this attempt, 0 for a first attempt; only
	// decorrelated jitter reads it.
	PrevDelay time.Duration
}

// Outcome is how the attempt ended.
type Outcome struct {
	Kind   results.Kind
	Code   int         // HTTP status, 0 without a response
	Header http.Header // the response's headers, for Retry-After; may be nil
	// End is when the attempt ended on the run's clock (time since its start); the next
	// attempt is due at End plus Next's delay, and budgets count in this clock.
	End time.Duration
	// Wall is the same instant on the wall clock, which an HTTP-date Retry-After is read
	// against.
	Wall time.Time
}

// Reason says why Next did or did not retry.
type Reason uint8

const (
	// Retrying: retry after the delay Next returned.
	Retrying Reason = iota
	// Success: the attempt succeeded; nothing to retry.
	Success
	// NotRetryable: the failure's class and status are not in the group's retry.on.
	NotRetryable
	// Exhausted: the request has made all its attempts (always, for policy none).
	Exhausted
	// DeadlineExpired: the retry would start at or after the request's deadline.
	DeadlineExpired
	// BudgetDenied: the group's retry budget refused the retry.
	BudgetDenied
)

var reasonNames = [...]string{"retrying", "success", "not retryable", "attempts exhausted", "deadline expired", "budget denied"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Next records the outcome o of attempt a and decides, as the group's clients would, whether
// the request is tried again: reason Retrying with the delay after o.End, or the reason it is
// not (delay 0). Every finished attempt must be passed, in the order they finish, successes
// too: budgets count them. Only the attack's consumer goroutine calls it.
//
// The checks run in order: success, retry.on, attempts left; then the delay is drawn
// (backoff with jitter, raised to a Retry-After when the policy honours it); then the
// deadline, and last the budget, which counts a retry it allows, so it is asked only for a
// retry that will be sent.
func (c *Client) Next(a Attempt, o Outcome) (time.Duration, Reason) {
	ok := o.Kind == results.KindOK
	c.budget.Outcome(o.End, ok)
	if a.Number == 1 {
		c.budget.Request(o.End)
	}
	switch {
	case ok:
		return 0, Success
	case !retriesOn(c.retry, class(o.Kind), o.Code):
		return 0, NotRetryable
	case a.Number >= Attempts(c.retry):
		return 0, Exhausted
	}
	d := delay(c.retry, a.Number, a.PrevDelay, c.rng)
	if c.retry.RetryAfter {
		if wait, ok := retryAfter(o.Header, o.Wall); ok && wait > d {
			d = wait
		}
	}
	if c.deadline > 0 && o.End+d-a.First >= c.deadline {
		return 0, DeadlineExpired
	}
	if !c.budget.Allow(o.End) {
		return 0, BudgetDenied
	}
	return d, Retrying
}
