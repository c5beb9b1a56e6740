package retry

import (
	"math"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// budget caps the retries of one client group. Client.Next tells it about every logical
// request and every attempt's outcome, and asks it before each retry. now is the time since
// the run's start (any clock that does not go backwards will do: tests pass simulated time).
//
// A budget is not safe for concurrent use: Next calls it from the attack's one consumer
// goroutine, and a lock on every attempt would buy nothing there.
type budget interface {
	// Request records a new logical request (its first attempt), before it is sent.
	Request(now time.Duration)
	// Outcome records a finished attempt, first or retry: ok is false when it failed in a
	// way the group retries on.
	Outcome(now time.Duration, ok bool)
	// Allow reports whether a retry may be sent now. A budget that counts retries (ratio)
	// counts it when it says yes, so call Allow only for a retry that will be sent if allowed.
	Allow(now time.Duration) bool
}

// newBudget returns a fresh budget of b's type and settings, with defaults applied. A nil b
// (no budget configured) gives one that always allows.
func newBudget(b *profiles.Budget) budget {
	if b == nil {
		return unlimited{}
	}
	c := *b
	c.ApplyDefaults()
	switch c.Type {
	case profiles.BudgetTokenBucket:
		// gRFC A6 keeps token_ratio to three decimal places; counting in thousandths of a
		// token keeps the count exact, so "allowed after k successes" is exact too.
		full := int64(math.Round(c.MaxTokens * 1000))
		return &tokenBucket{max: full, ratio: int64(math.Round(c.TokenRatio * 1000)), count: full}
	case profiles.BudgetRatio:
		return newRatioBudget(c.Percent, c.MinPerSecond, time.Duration(c.TTL))
	}
	return unlimited{}
}

// unlimited is the budget of a group without one.
type unlimited struct{}

func (unlimited) Request(time.Duration)       {}
func (unlimited) Outcome(time.Duration, bool) {}
func (unlimited) Allow(time.Duration) bool    { return true }

// tokenBucket is gRPC's retry throttling (gRFC A6), in thousandths of a token: the count
// starts at max, each failed attempt takes a token (never below 0), each success gives back
// ratio (never above max), and retries are allowed only while count > max/2.
type tokenBucket struct {
	max, ratio, count int64
}

func (t *tokenBucket) Request(time.Duration) {}

func (t *tokenBucket) Outcome(_ time.Duration, ok bool) {
	if ok {
		t.count = min(t.count+t.ratio, t.max)
	} else {
		t.count = max(t.count-1000, 0)
	}
}

// Allow does not take a token: in gRFC A6 the retry pays only if it fails, through Outcome.
func (t *tokenBucket) Allow(time.Duration) bool { return 2*t.count > t.max }

// ratioSlices is how many buckets the ratio budget's window is cut into, as in Finagle's
// WindowedAdder: counts leave the window a slice at a time, not all at once.
const ratioSlices = 10

// ratioBudget is Finagle's RetryBudget: over a sliding window of ttl, the balance is
// minPerSecond·ttl + percent/100 · requests − retries, and a retry is allowed (and counted)
// while the balance is at least 1.
type ratioBudget struct {
	reserve float64 // minPerSecond·ttl
	ratio   float64 // percent/100
	width   time.Duration
	// buckets is a ring: buckets[i] holds the slice number i%len(buckets) was last used for.
	buckets [ratioSlices]ratioBucket
}

type ratioBucket struct {
	slice             int64
	requests, retries float64
}

func newRatioBudget(percent, minPerSecond float64, ttl time.Duration) *ratioBudget {
	b := &ratioBudget{
		reserve: minPerSecond * ttl.Seconds(),
		ratio:   percent / 100,
		width:   max(ttl/ratioSlices, 1),
	}
	for i := range b.buckets {
		b.buckets[i].slice = math.MinInt64 // empty, and never in the window
	}
	return b
}

// bucket is the bucket for now's slice, emptied if it last held an older slice.
func (b *ratioBudget) bucket(now time.Duration) *ratioBucket {
	slice := int64(max(now, 0) / b.width) // a run's clock starts at 0
	bk := &b.buckets[((slice%ratioSlices)+ratioSlices)%ratioSlices]
	if bk.slice != slice {
		*bk = ratioBucket{slice: slice}
	}
	return bk
}

// balance sums the buckets of the slices in the window ending with now's.
func (b *ratioBudget) balance(now time.Duration) float64 {
	cur := b.bucket(now).slice
	bal := b.reserve
	for _, bk := range b.buckets {
		if bk.slice > cur-ratioSlices && bk.slice <= cur {
			bal += b.ratio*bk.requests - bk.retries
		}
	}
	return bal
}

func (b *ratioBudget) Request(now time.Duration) { b.bucket(now).requests++ }

func (b *ratioBudget) Outcome(time.Duration, bool) {}

func (b *ratioBudget) Allow(now time.Duration) bool {
	if b.balance(now) < 1 {
		return false
	}
	b.bucket(now).retries++
	return true
}
