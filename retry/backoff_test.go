package retry

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

const samples = 20000

func stats(r profiles.Retry, retry int, prev time.Duration, seed uint64) (lo, hi time.Duration, mean float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	lo, hi = math.MaxInt64, math.MinInt64
	var sum float64
	for range samples {
		d := delay(r, retry, prev, rng)
		lo, hi = min(lo, d), max(hi, d)
		sum += float64(d)
	}
	return lo, hi, sum / samples
}

func TestDelay(t *testing.T) {
	ms := time.Millisecond
	exp := func(j string) profiles.Retry {
		return profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 5, Base: profiles.Duration(100 * ms), Cap: profiles.Duration(time.Second), Jitter: j}
	}
	tests := []struct {
		name   string
		r      profiles.Retry
		retry  int
		prev   time.Duration
		lo, hi time.Duration // every sample in [lo, hi]
		mean   time.Duration
	}{
		{"none", profiles.Retry{Policy: profiles.PolicyNone}, 1, 0, 0, 0, 0},
		{"immediate", profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 4}, 3, 0, 0, 0, 0},
		{"fixed", profiles.Retry{Policy: profiles.PolicyFixed, MaxAttempts: 3, Base: profiles.Duration(250 * ms)}, 2, 0, 250 * ms, 250 * ms, 250 * ms},
		{"exp none retry 1", exp(profiles.JitterNone), 1, 0, 100 * ms, 100 * ms, 100 * ms},
		{"exp none retry 3", exp(profiles.JitterNone), 3, 0, 400 * ms, 400 * ms, 400 * ms},
		{"exp none capped", exp(profiles.JitterNone), 5, 0, time.Second, time.Second, time.Second},
		{"exp none retry 200", exp(profiles.JitterNone), 200, 0, time.Second, time.Second, time.Second},
		{"full retry 1", exp(profiles.JitterFull), 1, 0, 0, 100*ms - 1, 50 * ms},
		{"full retry 3", exp(profiles.JitterFull), 3, 0, 0, 400*ms - 1, 200 * ms},
		{"full capped", exp(profiles.JitterFull), 200, 0, 0, time.Second - 1, 500 * ms},
		{"empty jitter is full", exp(""), 2, 0, 0, 200*ms - 1, 100 * ms},
		{"equal retry 1", exp(profiles.JitterEqual), 1, 0, 50 * ms, 100*ms - 1, 75 * ms},
		{"equal retry 3", exp(profiles.JitterEqual), 3, 0, 200 * ms, 400*ms - 1, 300 * ms},
		{"equal capped", exp(profiles.JitterEqual), 200, 0, 500 * ms, time.Second - 1, 750 * ms},
		// rand[Base, 3·Base) when there was no previous delay: mean 2·Base.
		{"decorrelated first", exp(profiles.JitterDecorrelated), 1, 0, 100 * ms, 300*ms - 1, 200 * ms},
		// rand[Base, 3·prev): mean (100ms + 600ms)/2.
		{"decorrelated prev 200ms", exp(profiles.JitterDecorrelated), 2, 200 * ms, 100 * ms, 600*ms - 1, 350 * ms},
		// rand[100ms, 1.5s) capped at 1s: P(cap) = 0.5/1.4, mean = (0.9/1.4)·0.55s + (0.5/1.4)·1s ≈ 710.714286ms.
		{"decorrelated capped", exp(profiles.JitterDecorrelated), 3, 500 * ms, 100 * ms, time.Second, 710714286 * time.Nanosecond},
		{"decorrelated prev below base", exp(profiles.JitterDecorrelated), 2, 10 * ms, 100 * ms, 300*ms - 1, 200 * ms},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, mean := stats(tt.r, tt.retry, tt.prev, uint64(i))
			if lo < tt.lo || hi > tt.hi {
				t.Errorf("samples in [%v, %v], want within [%v, %v]", lo, hi, tt.lo, tt.hi)
			}
			// A uniform spread's mean over 20k samples is within 1% of its width with
			// overwhelming probability (the standard error is 0.2%).
			if tol := 0.01 * float64(tt.hi-tt.lo); math.Abs(mean-float64(tt.mean)) > tol {
				t.Errorf("mean %v, want %v ± %v", time.Duration(mean), tt.mean, time.Duration(tol))
			}
			// The spread must actually be used: a jittered delay that always returned its
			// lower bound would pass the mean only by accident.
			if tt.hi-tt.lo > time.Millisecond && (hi-lo) < (tt.hi-tt.lo)*9/10 {
				t.Errorf("samples span only [%v, %v] of [%v, %v]", lo, hi, tt.lo, tt.hi)
			}
		})
	}
}

// Doubling must saturate at the cap rather than wrap negative, whatever the numbers.
func TestDelayNoOverflow(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tests := []profiles.Retry{
		{Policy: profiles.PolicyExponential, Base: 1, Cap: math.MaxInt64, Jitter: profiles.JitterNone},
		{Policy: profiles.PolicyExponential, Base: profiles.Duration(time.Hour), Cap: math.MaxInt64, Jitter: profiles.JitterFull},
		{Policy: profiles.PolicyExponential, Base: profiles.Duration(time.Second), Cap: profiles.Duration(time.Minute), Jitter: profiles.JitterEqual},
		{Policy: profiles.PolicyExponential, Base: profiles.Duration(time.Second), Cap: math.MaxInt64, Jitter: profiles.JitterDecorrelated},
		{Policy: profiles.PolicyExponential, Base: profiles.Duration(time.Second), Jitter: profiles.JitterNone}, // no cap
	}
	for _, r := range tests {
		prev := time.Duration(math.MaxInt64 / 2)
		for _, retry := range []int{0, 1, 62, 63, 64, 65, 200, math.MaxInt} {
			d := delay(r, retry, prev, rng)
			limit := time.Duration(r.Cap)
			if limit == 0 {
				limit = math.MaxInt64
			}
			if d < 0 || d > limit {
				t.Errorf("%+v retry %d: delay %v outside [0, %v]", r, retry, d, limit)
			}
			if r.Jitter == profiles.JitterNone && retry >= 64 && d != limit {
				t.Errorf("%+v retry %d: delay %v, want the cap %v", r, retry, d, limit)
			}
		}
	}
}

func TestDelayReproducible(t *testing.T) {
	r := profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 3, Base: profiles.DefaultBase, Cap: profiles.DefaultCap, Jitter: profiles.JitterFull}
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for i := 1; i < 100; i++ {
		if x, y := delay(r, i%8+1, 0, a), delay(r, i%8+1, 0, b); x != y {
			t.Fatalf("same seed, different delays %v and %v", x, y)
		}
	}
}

func TestAttempts(t *testing.T) {
	tests := []struct {
		r    profiles.Retry
		want int
	}{
		{profiles.Retry{Policy: profiles.PolicyNone}, 1},
		{profiles.Retry{Policy: profiles.PolicyNone, MaxAttempts: 1}, 1},
		{profiles.Retry{Policy: profiles.PolicyImmediate, MaxAttempts: 4}, 4},
		{profiles.Retry{Policy: profiles.PolicyExponential, MaxAttempts: 3}, 3},
		{profiles.Retry{Policy: profiles.PolicyFixed}, 1},
	}
	for _, tt := range tests {
		if got := Attempts(tt.r); got != tt.want {
			t.Errorf("Attempts(%+v) = %d, want %d", tt.r, got, tt.want)
		}
	}
}
