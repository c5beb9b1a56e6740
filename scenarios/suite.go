package scenarios

import (
	"fmt"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/simservice"
)

// Scenario is one labelled situation of the suite: a target with one failure mechanism
// switched on, the traffic that exercises it, and the verdict it must get.
type Scenario struct {
	Name string
	// Why says what the scenario reproduces.
	Why     string
	Target  simservice.Config
	Profile string // YAML
	Want    string // the verdict; "" where only agreement with the target's view is required
	// Healthy scenarios must never raise a false alarm, whatever the seed.
	Healthy bool
}

// surge is the traffic shape most scenarios share: a baseline, a surge of three times it,
// and a long tail at the baseline to see whether the target comes back by itself.
func surge(base, peak float64, client string) string {
	return fmt.Sprintf(`
phases:
  - {name: baseline, duration: 6s, rate: %g}
  - {name: surge, duration: 6s, rate: %g}
  - {name: after, duration: 18s, rate: %g}
client: %s
slo: {latency: 500ms}
request: {path: /api/orders}
`, base, peak, base, client)
}

const noRetries = "{timeout: 1s, retry: {policy: none}}"

// halfPool is the first outage's target: 16 connections provisioned, half applied, 20 ms a
// query: 400 requests/s.
func halfPool() simservice.Config {
	c := simservice.DefaultConfig()
	c.DBConns, c.CapacityFraction, c.QueryTime = 16, 0.5, 20*time.Millisecond
	return c
}

// Suite is the labelled scenario suite. Each scenario's seed is applied by WithSeed.
func Suite() []Scenario {
	shedding := halfPool()
	shedding.QueueLimit = 40

	// The retry scenarios run at half the demo's rates against a target of half its capacity
	// (8 connections × 40 ms = 200 requests/s): the same dynamics at half the CPU, because a
	// retry storm with reconnects is the most expensive thing the generator does.
	slowPool := halfPool()
	slowPool.QueryTime = 40 * time.Millisecond
	cancelling := slowPool
	cancelling.CancelAbandoned = true

	cold := simservice.DefaultConfig()
	// A database that serves 150 reads/s behind a cache that, warm, answers 80 % of them.
	cold.DBConns, cold.QueryTime = 3, 20*time.Millisecond
	cold.CacheHitRatio, cold.CacheKeys, cold.CacheTTL = 0.8, 1000, 3*time.Second
	cold.CacheFillDeadline, cold.CacheWarm = 100*time.Millisecond, true

	restarts := halfPool()
	restarts.HealthInterval, restarts.HealthThreshold, restarts.HealthFailures = 200*time.Millisecond, 250*time.Millisecond, 3
	restarts.RestartDelay, restarts.ReconnectWork = time.Second, 400

	contention := simservice.DefaultConfig()
	contention.DBConns, contention.QueryTime, contention.Contention = 32, 20*time.Millisecond, 0.01

	return []Scenario{
		{Name: "healthy", Healthy: true, Want: "stable",
			Why:    "a steady load at a quarter of capacity: no false alarm",
			Target: halfPool(), Profile: `
phases: [{name: steady, duration: 20s, rate: 100}]
client: {timeout: 1s, retry: {policy: exponential, max_attempts: 3, base: 50ms, cap: 1s}}
slo: {latency: 500ms}
`},
		{Name: "low-rate", Healthy: true, Want: "stable",
			Why:    "20 requests/s, where a second's noise is large: no false alarm",
			Target: halfPool(), Profile: `
phases: [{name: trickle, duration: 25s, rate: 20}]
client: {timeout: 1s, retry: {policy: immediate, max_attempts: 3}}
slo: {latency: 500ms}
`},
		{Name: "shedding", Want: "overloaded",
			Why:    "a surge past capacity against a target that sheds excess with 503: overloaded, and recovered once the surge is gone",
			Target: shedding, Profile: surge(200, 600, noRetries)},
		{Name: "retries", Want: "metastable",
			Why:    "the first outage: a surge on half the pool with clients that retry at once; the retries sustain the overload",
			Target: slowPool, Profile: surge(100, 300, "{timeout: 1s, retry: {policy: immediate, max_attempts: 4}}")},
		{Name: "retries-cancelled", Want: "",
			Why:    "the retry storm against a target that drops the work of clients who left: whether it recovers is the mechanism's business, and the verdict must agree with the target",
			Target: cancelling, Profile: surge(100, 300, "{timeout: 1s, retry: {policy: immediate, max_attempts: 4}}")},
		{Name: "cold-cache", Want: "metastable",
			Why:    "no retries at all: the surge slows the database, slow reads stop refilling the cache, entries expire, and the baseline alone now misses the cache and overloads the database",
			Target: cold, Profile: surge(250, 900, noRetries)},
		{Name: "restart-loop", Want: "metastable",
			Why:    "the second outage: health checks restart the instance when the database is slow, and every restart's reconnect work keeps it slow",
			Target: restarts, Profile: surge(200, 600, noRetries)},
		{Name: "contention", Want: "metastable",
			Why:    "no retries: service time grows with concurrency, so the queue a surge builds keeps throughput below the baseline",
			Target: contention, Profile: surge(180, 400, noRetries)},
	}
}

// Parse reads the scenario's profile with the given seed for the clients and the target.
func (s Scenario) Parse(seed uint64) (*profiles.Profile, simservice.Config, error) {
	p, err := profiles.Parse([]byte(s.Profile), s.Name+".yaml")
	if err != nil {
		return nil, simservice.Config{}, err
	}
	p.Name, p.Seed = s.Name, seed
	t := s.Target
	t.Seed = seed
	if t.QueryJitter == 0 {
		// A little noise, different per seed, so three seeds are three different runs.
		t.QueryJitter = 0.1
	}
	return p, t, nil
}
