package attack

import (
	"context"
	"net/http"
	"testing"
)

// TestHugeRetryAfterLeavesRetriesUnsent: a retry a server asks to come back after the run's
// end is never sent, is counted as unsent, and nothing recorded has a negative latency.
func TestHugeRetryAfterLeavesRetriesUnsent(t *testing.T) {
	forEachEngine(t, testHugeRetryAfterLeavesRetriesUnsent)
}

func testHugeRetryAfterLeavesRetriesUnsent(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	for _, value := range []string{"9223372036", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		t.Run(value, func(t *testing.T) {
			url, hits := alwaysUnavailable(t, http.Header{"Retry-After": {value}})
			sum, recs := runAttackOn(t, eng, context.Background(), url,
				"phases: [{duration: 300ms, rate: 20}]\nclient: {timeout: 1s, retry: {policy: immediate, max_attempts: 3, retry_after: true}}\n")
			if n := retriesOf(recs); n > 0 {
				t.Fatalf("%d retries sent although the server asked for them after the run", n)
			}
			for _, r := range recs {
				if r.Latency() < 0 || r.SendLag < 0 || r.ServiceTime < 0 {
					t.Fatalf("request %d attempt %d: latency %v (lag %v)", r.RequestID, r.Attempt, r.Latency(), r.SendLag)
				}
			}
			if sum.Requests == 0 || sum.UnsentRetries != sum.Requests || int64(len(recs)) != hits.Load() {
				t.Fatalf("requests %d, unsent retries %d, records %d, target saw %d: want every request's retry unsent",
					sum.Requests, sum.UnsentRetries, len(recs), hits.Load())
			}
		})
	}
}
