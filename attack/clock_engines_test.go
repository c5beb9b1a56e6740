package attack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClockOffsetOnEveryEngine: the generator estimates its clock against the target's from
// the Date header of the first minute's responses (package shard), whatever engine sent them.
// The server here shares the generator's clock, so the estimate must be within its
// uncertainty of zero, and the uncertainty within a second (Date has whole seconds).
func TestClockOffsetOnEveryEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	forEachEngine(t, func(t *testing.T, eng string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sum, recs := runAttackOn(t, eng, ctx, srv.URL, "phases: [{duration: 1500ms, rate: 40}]\nclient: {timeout: 1s}\n")
		if len(recs) == 0 {
			t.Fatal("no attempts recorded")
		}
		if sum.Clock == nil {
			t.Fatalf("%s: no clock offset estimated from %d responses with a Date header", eng, len(recs))
		}
		off, unc := sum.Clock.Offset, sum.Clock.Uncertainty
		if unc > time.Second || off.Abs() > unc+10*time.Millisecond {
			t.Errorf("%s: clock offset %v ± %v against a server on the same clock", eng, off, unc)
		}
	})
}
