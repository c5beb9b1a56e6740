package retry

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

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
