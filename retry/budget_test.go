package retry

import (
	"math"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

func TestTokenBucket(t *testing.T) {
	tests := []struct {
		max, ratio float64
		retries    int // allowed under 100 % failures: failures f with max − f > max/2
		refill     int // successes after the count hit 0 until a retry is allowed again
	}{
		{10, 0.1, 4, 51},
		{7, 0.5, 3, 8},
		{100, 1, 49, 51},
	}
	for _, tt := range tests {
		b := newBudget(&profiles.Budget{Type: profiles.BudgetTokenBucket, MaxTokens: tt.max, TokenRatio: tt.ratio})
		retries := 0
		for i := range 1000 { // requests whose every attempt fails
			now := time.Duration(i) * time.Millisecond
			b.Request(now)
			b.Outcome(now, false)
			for b.Allow(now) {
				if !b.Allow(now) { // Allow must not take a token itself
					t.Fatalf("max %v: Allow changed the count", tt.max)
				}
				retries++
				b.Outcome(now, false)
			}
		}
		if retries != tt.retries {
			t.Errorf("max %v: %d retries allowed under 100%% failures, want %d", tt.max, retries, tt.retries)
		}
		for k := 1; k <= tt.refill; k++ {
			b.Outcome(time.Second, true)
			if got, want := b.Allow(time.Second), k == tt.refill; got != want {
				t.Errorf("max %v ratio %v: after %d successes Allow = %v, want %v", tt.max, tt.ratio, k, got, want)
			}
		}
		for range 10 * int(tt.max/tt.ratio) { // the count is capped at max
			b.Outcome(time.Second, true)
		}
		retries = 0
		b.Outcome(time.Second, false) // as above, the first attempt fails before any retry
		for b.Allow(time.Second) {
			retries++
			b.Outcome(time.Second, false)
		}
		if retries != tt.retries {
			t.Errorf("max %v: after a full refill %d retries, want %d (the cap)", tt.max, retries, tt.retries)
		}
	}
	var none *profiles.Budget
	u := newBudget(none)
	for range 1000 {
		u.Outcome(0, false)
	}
	if !u.Allow(0) {
		t.Error("a nil budget refused")
	}
}

func TestRatioBudget(t *testing.T) {
	tests := []struct {
		percent, min float64
		ttl          time.Duration
	}{
		{20, 10, 10 * time.Second},
		{50, 0, 5 * time.Second},
		{10, 5, time.Second},
		{0, 25, 60 * time.Second},
	}
	const rps, run = 100, 60 * time.Second
	for _, tt := range tests {
		b := newBudget(&profiles.Budget{Type: profiles.BudgetRatio, Percent: tt.percent, MinPerSecond: tt.min, TTL: profiles.Duration(tt.ttl)})
		if tt.min == 0 || tt.percent == 0 { // 0 reads as "default" in newBudget; the budget itself takes it
			b = newRatioBudget(tt.percent, tt.min, tt.ttl)
		}
		var retries, late float64 // late: in the second half, when the burst of the reserve is long spent
		step := time.Second / rps
		for now := time.Duration(0); now < run; now += step {
			b.Request(now)
			// Every attempt fails and asks for a retry; demand (2 per request) far exceeds
			// the budget, so the budget alone decides.
			for range 2 {
				if b.Allow(now) {
					retries++
					if now >= run/2 {
						late++
					}
				}
			}
		}
		want := (tt.percent/100*rps + tt.min) * run.Seconds()
		if math.Abs(retries-want) > 0.02*want {
			t.Errorf("percent %v min %v ttl %v: %v retries in %v, want %v ±2%%", tt.percent, tt.min, tt.ttl, retries, run, want)
		}
		// Per second in steady state, where the window slides over steady traffic.
		if perSecond := late / (run / 2).Seconds(); tt.ttl <= run/4 && math.Abs(perSecond*run.Seconds()-want) > 0.02*want {
			t.Errorf("percent %v min %v ttl %v: %v retries/s in the second half, want %v ±2%%", tt.percent, tt.min, tt.ttl, perSecond, want/run.Seconds())
		}
	}
}
