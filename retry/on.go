package retry

import (
	"slices"
	"strconv"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// defaultRetryOn is what an empty Retry.On means: the failures a retry can cure. A 4xx other
// than 429 is the client's own fault, and sending it again cannot help.
var defaultRetryOn = []string{profiles.RetryOnTimeout, profiles.RetryOnConnection, profiles.RetryOn5xx, profiles.RetryOn429}

// retriesOn reports whether a failed attempt is retried under r.On. class is the attempt's
// failure class (one of the profiles.RetryOn* constants, or "" for a success or any other
// outcome) and code its HTTP status (0 when there was no response). It is true when the class
// is listed, or the code is listed as a status ("503"). An empty On means timeout,
// connection, 5xx and 429. The policy is not consulted: whether any retry is left is the
// caller's.
func retriesOn(r profiles.Retry, class string, code int) bool {
	on := r.On
	if len(on) == 0 {
		on = defaultRetryOn
	}
	if class != "" && slices.Contains(on, class) {
		return true
	}
	return code != 0 && slices.Contains(on, strconv.Itoa(code))
}

// class names a failure the way a profile's retry.on does.
func class(k results.Kind) string {
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
