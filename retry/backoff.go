package retry

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// Attempts is the most attempts one logical request makes under r, the first included: 1 for
// policy none, else MaxAttempts (at least 1, so that a profile without defaults still sends).
// The attack sizes its worker pool by it; Client.Next stops retrying at it.
func Attempts(r profiles.Retry) int {
	if r.Policy == profiles.PolicyNone || r.MaxAttempts < 1 {
		return 1
	}
	return r.MaxAttempts
}

// delay is how long a client waits after a failed attempt before retry number retry
// (retry 1 comes before attempt 2). prev is the delay before the previous retry, 0 for the
// first; only decorrelated jitter reads it. Formulas, with t = min(Cap, Base·2^(retry-1)):
//   - none: 0 (never asked: there are no retries);
//   - immediate: 0;
//   - fixed: Base;
//   - exponential with jitter none: t; full: uniform in [0, t); equal: t/2 + uniform in
//     [0, t/2); decorrelated: min(Cap, uniform in [Base, 3·max(Base, prev))).
//
// An empty jitter is read as full, the default. rng supplies the randomness so that runs
// replay from a seed; a nil rng falls back to math/rand/v2's unseeded global source.
func delay(r profiles.Retry, retry int, prev time.Duration, rng *rand.Rand) time.Duration {
	switch r.Policy {
	case profiles.PolicyFixed:
		return time.Duration(r.Base)
	case profiles.PolicyExponential:
	default:
		return 0
	}
	base := max(time.Duration(r.Base), 0)
	limit := time.Duration(r.Cap)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	if r.Jitter == profiles.JitterDecorrelated {
		if prev <= 0 {
			prev = base
		}
		hi := max(base, prev)
		upper := time.Duration(math.MaxInt64)
		if hi <= math.MaxInt64/3 {
			upper = 3 * hi
		}
		return min(base+randN(rng, upper-base), limit)
	}
	t := backoff(base, limit, retry)
	switch r.Jitter {
	case profiles.JitterNone:
		return t
	case profiles.JitterEqual:
		return t/2 + randN(rng, t/2)
	default:
		return randN(rng, t)
	}
}

// backoff is min(limit, base·2^(retry-1)) without overflowing: the doubling stops as soon as
// it would pass the limit, so retry 200 is as safe as retry 2.
func backoff(base, limit time.Duration, retry int) time.Duration {
	shift := max(retry-1, 0)
	if base == 0 {
		return 0
	}
	if shift >= 63 || base > limit>>shift {
		return limit
	}
	return min(base<<shift, limit)
}

// randN is uniform in [0, n), 0 when n <= 0.
func randN(rng *rand.Rand, n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	if rng == nil {
		return rand.N(n)
	}
	return time.Duration(rng.Int64N(int64(n)))
}
