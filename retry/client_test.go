package retry

import (
	"net/http"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// TestNextReasons walks Next through each reason, in the order the package doc gives the
// checks.
func TestNextReasons(t *testing.T) {
	ms := time.Millisecond
	fixed := profiles.Retry{Policy: profiles.PolicyFixed, MaxAttempts: 3, Base: profiles.Duration(100 * ms)}
	fail := Outcome{Kind: results.Kind5xx, Code: 503, End: time.Second}
	tests := []struct {
		name   string
		client profiles.Client
		a      Attempt
		o      Outcome
		delay  time.Duration
		reason Reason
	}{
		{"retry", profiles.Client{Retry: fixed}, Attempt{Number: 1}, fail, 100 * ms, Retrying},
		{"success", profiles.Client{Retry: fixed}, Attempt{Number: 1}, Outcome{Kind: results.KindOK, Code: 200}, 0, Success},
		{"4xx not retried by default", profiles.Client{Retry: fixed}, Attempt{Number: 1}, Outcome{Kind: results.Kind4xx, Code: 404}, 0, NotRetryable},
		{"status listed", profiles.Client{Retry: profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 2, On: []string{"404"}}},
			Attempt{Number: 1}, Outcome{Kind: results.Kind4xx, Code: 404}, 0, Retrying},
		{"last attempt", profiles.Client{Retry: fixed}, Attempt{Number: 3}, fail, 0, Exhausted},
		{"policy none", profiles.Client{Retry: profiles.Retry{Policy: profiles.PolicyNone}}, Attempt{Number: 1}, fail, 0, Exhausted},
		// The retry would start at 1.1s, 1.1s after the first attempt's start: at the deadline.
		{"deadline", profiles.Client{Retry: fixed, Deadline: profiles.Duration(1100 * ms)}, Attempt{Number: 1}, fail, 0, DeadlineExpired},
		{"before deadline", profiles.Client{Retry: fixed, Deadline: profiles.Duration(1100 * ms)}, Attempt{Number: 2, First: ms}, fail, 100 * ms, Retrying},
		{"retry-after ignored", profiles.Client{Retry: fixed}, Attempt{Number: 1},
			Outcome{Kind: results.Kind5xx, Code: 503, Header: http.Header{"Retry-After": {"2"}}}, 100 * ms, Retrying},
		{"retry-after honoured", profiles.Client{Retry: withRetryAfter(fixed)}, Attempt{Number: 1},
			Outcome{Kind: results.Kind5xx, Code: 503, Header: http.Header{"Retry-After": {"2"}}}, 2 * time.Second, Retrying},
		{"retry-after shorter than backoff", profiles.Client{Retry: withRetryAfter(fixed)}, Attempt{Number: 1},
			Outcome{Kind: results.Kind5xx, Code: 503, Header: http.Header{"Retry-After": {"0"}}}, 100 * ms, Retrying},
		{"retry-after past the deadline", profiles.Client{Retry: withRetryAfter(fixed), Deadline: profiles.Duration(time.Second)}, Attempt{Number: 1},
			Outcome{Kind: results.Kind5xx, Code: 503, Header: http.Header{"Retry-After": {"2"}}}, 0, DeadlineExpired},
	}
	for _, tt := range tests {
		d, why := New(tt.client, 1, 0).Next(tt.a, tt.o)
		if d != tt.delay || why != tt.reason {
			t.Errorf("%s: Next = %v, %v; want %v, %v", tt.name, d, why, tt.delay, tt.reason)
		}
	}
}

func withRetryAfter(r profiles.Retry) profiles.Retry {
	r.RetryAfter = true
	return r
}

// TestNextBudgetDenies: under 100 % failures, with every request's first attempt and its one
// retry each taking a token from a bucket of 10, the count goes 9 (retry), 8, 7 (retry), 6,
// 5, and at 5, half of 10, no more retries are allowed: Next says budget denied.
func TestNextBudgetDenies(t *testing.T) {
	c := New(profiles.Client{Retry: profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 2,
		Budget: &profiles.Budget{Type: profiles.BudgetTokenBucket}}}, 1, 0)
	counts := map[Reason]int{}
	for i := range 100 {
		now := time.Duration(i) * time.Millisecond
		_, why := c.Next(Attempt{Number: 1, First: now}, Outcome{Kind: results.KindTimeout, End: now})
		counts[why]++
		if why == Retrying {
			if _, why := c.Next(Attempt{Number: 2, First: now}, Outcome{Kind: results.KindTimeout, End: now}); why != Exhausted {
				t.Fatalf("second attempt: %v, want %v", why, Exhausted)
			}
		}
	}
	if counts[Retrying] != 2 || counts[BudgetDenied] != 98 {
		t.Errorf("reasons %v, want 2 retrying and 98 budget denied", counts)
	}
}

// TestNextReplays: Clients made with the same seed and stream draw the same delays; another
// stream draws others.
func TestNextReplays(t *testing.T) {
	cl := profiles.Client{Retry: profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 9,
		Base: profiles.DefaultBase, Cap: profiles.DefaultCap, Jitter: profiles.JitterFull}}
	a, b, other := New(cl, 42, 3), New(cl, 42, 3), New(cl, 42, 4)
	same := true
	for i := range 100 {
		at, o := Attempt{Number: i%8 + 1}, Outcome{Kind: results.Kind5xx, Code: 500}
		x, _ := a.Next(at, o)
		y, _ := b.Next(at, o)
		z, _ := other.Next(at, o)
		if x != y {
			t.Fatalf("same seed and stream, different delays %v and %v", x, y)
		}
		same = same && x == z
	}
	if same {
		t.Error("another stream drew the same 100 delays")
	}
}

func TestClass(t *testing.T) {
	for k, want := range map[results.Kind]string{
		results.KindOK:      "",
		results.KindTimeout: profiles.RetryOnTimeout,
		results.KindRefused: profiles.RetryOnConnection,
		results.KindReset:   profiles.RetryOnConnection,
		results.Kind5xx:     profiles.RetryOn5xx,
		results.Kind429:     profiles.RetryOn429,
		results.Kind4xx:     profiles.RetryOn4xx,
	} {
		if got := class(k); got != want {
			t.Errorf("class(%v) = %q, want %q", k, got, want)
		}
	}
}

func TestReasonString(t *testing.T) {
	if got := BudgetDenied.String(); got != "budget denied" {
		t.Errorf("BudgetDenied = %q", got)
	}
	if got := Reason(200).String(); got != "Reason(200)" {
		t.Errorf("Reason(200) = %q", got)
	}
}
