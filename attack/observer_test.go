package attack

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
)

// countingObserver remembers what Run told it; only the consumer goroutine calls Attempt.
type countingObserver struct {
	begins   int
	start    time.Time
	attempts []results.Record
	retried  int
}

func (o *countingObserver) Begin(start time.Time) { o.begins++; o.start = start }

func (o *countingObserver) Attempt(r *results.Record, retried bool) {
	o.attempts = append(o.attempts, *r)
	if retried {
		o.retried++
	}
}

// The observer sees every recorded attempt, as recorded, and is told exactly which ones the
// client retries: on a target that always answers 503, every attempt but a request's last.
func TestObserverSeesEveryAttemptAndEveryRetry(t *testing.T) {
	forEachEngine(t, testObserverSeesEveryAttemptAndEveryRetry)
}

func testObserverSeesEveryAttemptAndEveryRetry(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	obs := new(countingObserver)
	rec := &memRecorder{}
	start := time.Now().Add(50 * time.Millisecond)
	// Retries come at once and the last first attempt is due 100ms before the end, so every
	// request makes its three attempts.
	prof := parseOn(t, eng, "phases: [{duration: 500ms, rate: 20}]\nclient: {timeout: 1s, retry: {policy: immediate, max_attempts: 3}}\n")
	sum, err := Run(context.Background(), Config{Target: srv.URL, Profile: prof, Start: start, Observer: obs}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if obs.begins != 1 || !obs.start.Equal(start) {
		t.Fatalf("Begin called %d times with %v, want once with %v", obs.begins, obs.start, start)
	}
	if len(obs.attempts) != len(rec.recs) || uint64(len(obs.attempts)) != sum.Attempts {
		t.Fatalf("observer saw %d attempts, recorder %d, summary %d", len(obs.attempts), len(rec.recs), sum.Attempts)
	}
	for i := range rec.recs {
		if obs.attempts[i] != rec.recs[i] {
			t.Fatalf("attempt %d: observer saw %+v, recorded %+v", i, obs.attempts[i], rec.recs[i])
		}
	}
	if sum.Requests != 10 || sum.Attempts != 30 || obs.retried != 20 {
		t.Fatalf("%d requests, %d attempts, %d retried: want 10, 30, 20", sum.Requests, sum.Attempts, obs.retried)
	}
}
