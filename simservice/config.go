package simservice

import (
	"fmt"
	"math"
	"time"
)

// Config describes one target instance.
type Config struct {
	// DBConns is the number of database connections the service is meant to have.
	DBConns int
	// CapacityFraction is the share of DBConns actually in effect, in (0, 1]: 0.5 models
	// "only half the database resources were applied".
	CapacityFraction float64
	// QueryTime is how long one query holds a connection. It is slept, not computed, so a
	// load test on the same machine is not starved of CPU by the target.
	QueryTime time.Duration
	// QueryJitter spreads QueryTime uniformly by ± this fraction, in [0, 1).
	QueryJitter float64
	// CancelAbandoned drops work whose client has gone: a waiter leaves the queue and a
	// running query is cut short. Off by default, because real services rarely do this and
	// the wasted work is what sustains a retry storm.
	CancelAbandoned bool
	// QueueLimit sheds new requests with 503 once this many are waiting; 0 means unlimited.
	QueueLimit int
	// Seed makes the query-time jitter and the cache's key draws reproducible.
	Seed uint64

	// Contention makes a query slower the more queries run at once, as lock and latch
	// contention does in a real database. A query starting with n connections in use takes
	// QueryTime × (1 + Contention × n × (n−1)): the coherency term of Gunther's universal
	// scalability law. Throughput n / serviceTime then peaks near n = 1/√Contention and falls
	// beyond it, so a saturated pool larger than that does less work than a smaller one. 0 (the
	// default) keeps QueryTime flat; must be >= 0.
	Contention float64

	// HealthInterval turns on the instance's health checker: every HealthInterval it runs a
	// probe query through the same pool and queue as the traffic. 0 (the default) means no
	// health checking and no restarts.
	HealthInterval time.Duration
	// HealthThreshold is the probe latency (queue wait + query) above which a check fails; a
	// probe still unfinished at the threshold is abandoned and counts as failed. Must be > 0
	// when HealthInterval is set.
	HealthThreshold time.Duration
	// HealthFailures is the number of consecutive failed checks that make the instance
	// restart. Must be >= 1 when HealthInterval is set.
	HealthFailures int
	// RestartDelay is how long a restarting instance is down (answering 503) after it has
	// dropped its queue. Must be >= 0.
	RestartDelay time.Duration
	// ReconnectWork is the number of queries a restarted instance runs on the pool as it
	// comes back (warming connections, reloading state), queued ahead of any new traffic.
	// It is what makes every restart load the database. If that work alone keeps probes
	// waiting past HealthThreshold (roughly ReconnectWork × QueryTime / PoolSize beyond it),
	// the instance restarts forever even without traffic. Must be >= 0.
	ReconnectWork int

	// CacheHitRatio turns on an in-process look-aside cache in front of the database, sized
	// to hold this fraction of the CacheKeys keyspace. Requests without a key= query
	// parameter draw their key uniformly from the keyspace, so a warm, full cache with a long
	// TTL serves this fraction of them without the database. In [0, 1]; 0 (the default)
	// means no cache.
	CacheHitRatio float64
	// CacheKeys is the size of the keyspace requests draw keys from. Must be >= 1 when the
	// cache is on.
	CacheKeys int
	// CacheTTL is how long an entry stays valid after it was filled; 0 means forever. Must
	// be >= 0.
	CacheTTL time.Duration
	// CacheFillDeadline: a miss fills the cache only if its database read (queue wait +
	// query) finished within this time, as a service that gives up on caching slow reads
	// does. Under overload reads slow down, fills stop, entries expire and the hit ratio
	// falls: a sustaining effect with no retries at all. 0 means every completed read fills.
	// Must be >= 0.
	CacheFillDeadline time.Duration
	// CacheWarm starts the cache full, entries of staggered ages (so they do not all expire
	// at once). Without it the cache starts cold; it is always cold after a restart.
	CacheWarm bool

	// MaxClientConns caps the client connections the HTTP server holds open. A connection
	// accepted beyond the cap is closed at once, before a byte is read, the way a database at
	// max_connections turns new connections away while the established ones keep working.
	// Idle keep-alive connections count. 0 (the default) means no cap. Only Start applies it.
	MaxClientConns int

	// Instances, when 2 or more, turns the target into a fleet: that many app instances
	// behind a built-in round-robin balancer, sharing one database. 0 or 1 is the single
	// instance above, unchanged. In a fleet, PoolSize() is the database's capacity (the
	// queries and connection set-ups it runs at once) and every instance keeps its own pool
	// of InstancePool connections to it, opened against DBMaxConns; the health checker
	// (HealthInterval and friends) runs per instance, and an orchestrator replaces an
	// instance that fails HealthFailures checks in a row: the new one starts RestartDelay
	// later and opens its own pool. QueueLimit, ReconnectWork and the cache are single-
	// instance mechanisms and are refused with a fleet.
	Instances int
	// InstancePool is the number of database connections each fleet instance keeps; 0 means
	// PoolSize() divided among the instances (rounded up).
	InstancePool int
	// DBMaxConns is the database's connection limit (max_connections), counted over every
	// instance's connections, including those of removed instances not yet released and those
	// being set up. A connection attempt beyond it is rejected after its set-up work, as
	// PostgreSQL starts a backend before it says "too many clients". 0 means no limit.
	DBMaxConns int
	// ConnectTime is the database work one connection attempt costs (authentication, session
	// set-up): it holds one of the database's PoolSize() execution slots that long, queued
	// with the queries. 0 makes connections free.
	ConnectTime time.Duration
	// ConnReleaseDelay is how long the connections of a removed instance stay open at the
	// database before it notices the peer is gone and releases them, as TCP keep-alive and
	// server-side idle timeouts do. 0 releases them at once.
	ConnReleaseDelay time.Duration
	// HealthCheck is what an instance's health check tests: HealthCheckDB (the default, "")
	// runs a query through the instance's pool like the traffic does; HealthCheckProcess only
	// checks the process answers, so a database problem never fails it (the fix of the
	// second outage). With a single instance, HealthCheckProcess means no restarts.
	HealthCheck string
}

// Health check kinds for Config.HealthCheck.
const (
	HealthCheckDB      = "db"
	HealthCheckProcess = "process"
)

// MaxInstances bounds Config.Instances: each instance is a few goroutines and a pool, and the
// model is about a handful of them sharing one database, not about thousands.
const MaxInstances = 64

// Fleet reports whether the configuration describes a fleet of instances.
func (c Config) Fleet() bool { return c.Instances >= 2 }

// InstancePoolSize is each fleet instance's pool: InstancePool, or PoolSize() divided among
// the instances, rounded up.
func (c Config) InstancePoolSize() int {
	if c.InstancePool > 0 {
		return c.InstancePool
	}
	n := max(c.Instances, 1)
	return (c.PoolSize() + n - 1) / n
}

// Defaults used by DefaultConfig.
const (
	DefaultDBConns   = 16
	DefaultQueryTime = 20 * time.Millisecond
	// DefaultCacheKeys is the keyspace size in DefaultConfig; it matters only once
	// CacheHitRatio turns the cache on.
	DefaultCacheKeys = 1000
)

// DefaultConfig is a healthy instance: 16 connections fully applied, 20 ms queries, no jitter,
// unlimited queue, abandoned work not cancelled, no contention, no health checking, no cache,
// no connection cap. Its capacity is 800 requests/s.
//
// New does not fill in zero fields (a zero QueryTime is meaningful), so callers should start
// from DefaultConfig and override what they need.
func DefaultConfig() Config {
	return Config{
		DBConns:          DefaultDBConns,
		CapacityFraction: 1.0,
		QueryTime:        DefaultQueryTime,
		CacheKeys:        DefaultCacheKeys,
	}
}

// Validate reports the first field out of range, naming the field and the allowed range.
func (c Config) Validate() error {
	switch {
	case c.DBConns < 1:
		return fmt.Errorf("DBConns must be >= 1, got %d", c.DBConns)
	case !(c.CapacityFraction > 0 && c.CapacityFraction <= 1): // also rejects NaN
		return fmt.Errorf("CapacityFraction must be in (0, 1], got %g", c.CapacityFraction)
	case c.QueryTime < 0:
		return fmt.Errorf("QueryTime must be >= 0, got %s", c.QueryTime)
	case !(c.QueryJitter >= 0 && c.QueryJitter < 1):
		return fmt.Errorf("QueryJitter must be in [0, 1), got %g", c.QueryJitter)
	case c.QueueLimit < 0:
		return fmt.Errorf("QueueLimit must be >= 0 (0 = unlimited), got %d", c.QueueLimit)
	case !(c.Contention >= 0) || math.IsInf(c.Contention, 1):
		return fmt.Errorf("Contention must be a finite number >= 0, got %g", c.Contention)
	case c.HealthInterval < 0:
		return fmt.Errorf("HealthInterval must be >= 0 (0 = no health checks), got %s", c.HealthInterval)
	case c.HealthInterval > 0 && c.HealthThreshold <= 0:
		return fmt.Errorf("HealthThreshold must be > 0 when HealthInterval is set, got %s", c.HealthThreshold)
	case c.HealthInterval > 0 && c.HealthFailures < 1:
		return fmt.Errorf("HealthFailures must be >= 1 when HealthInterval is set, got %d", c.HealthFailures)
	case c.RestartDelay < 0:
		return fmt.Errorf("RestartDelay must be >= 0, got %s", c.RestartDelay)
	case c.ReconnectWork < 0:
		return fmt.Errorf("ReconnectWork must be >= 0, got %d", c.ReconnectWork)
	case !(c.CacheHitRatio >= 0 && c.CacheHitRatio <= 1):
		return fmt.Errorf("CacheHitRatio must be in [0, 1] (0 = no cache), got %g", c.CacheHitRatio)
	case c.CacheHitRatio > 0 && c.CacheKeys < 1:
		return fmt.Errorf("CacheKeys must be >= 1 when CacheHitRatio is set, got %d", c.CacheKeys)
	case c.CacheTTL < 0:
		return fmt.Errorf("CacheTTL must be >= 0 (0 = no expiry), got %s", c.CacheTTL)
	case c.CacheFillDeadline < 0:
		return fmt.Errorf("CacheFillDeadline must be >= 0 (0 = always fill), got %s", c.CacheFillDeadline)
	case c.MaxClientConns < 0:
		return fmt.Errorf("MaxClientConns must be >= 0 (0 = unlimited), got %d", c.MaxClientConns)
	case c.Instances < 0 || c.Instances > MaxInstances:
		return fmt.Errorf("Instances must be in [0, %d] (0 or 1 = a single instance), got %d", MaxInstances, c.Instances)
	case c.InstancePool < 0:
		return fmt.Errorf("InstancePool must be >= 0 (0 = the database's capacity divided among the instances), got %d", c.InstancePool)
	case c.DBMaxConns < 0:
		return fmt.Errorf("DBMaxConns must be >= 0 (0 = unlimited), got %d", c.DBMaxConns)
	case c.ConnectTime < 0:
		return fmt.Errorf("ConnectTime must be >= 0, got %s", c.ConnectTime)
	case c.ConnReleaseDelay < 0:
		return fmt.Errorf("ConnReleaseDelay must be >= 0, got %s", c.ConnReleaseDelay)
	case c.HealthCheck != "" && c.HealthCheck != HealthCheckDB && c.HealthCheck != HealthCheckProcess:
		return fmt.Errorf("HealthCheck must be %q or %q, got %q", HealthCheckDB, HealthCheckProcess, c.HealthCheck)
	}
	if !c.Fleet() {
		// The fleet's knobs mean nothing to a single instance; set, they would be ignored
		// silently.
		switch {
		case c.InstancePool > 0:
			return fmt.Errorf("InstancePool needs a fleet (Instances >= 2), got Instances %d", c.Instances)
		case c.DBMaxConns > 0:
			return fmt.Errorf("DBMaxConns needs a fleet (Instances >= 2), got Instances %d", c.Instances)
		case c.ConnectTime > 0:
			return fmt.Errorf("ConnectTime needs a fleet (Instances >= 2), got Instances %d", c.Instances)
		case c.ConnReleaseDelay > 0:
			return fmt.Errorf("ConnReleaseDelay needs a fleet (Instances >= 2), got Instances %d", c.Instances)
		}
		return nil
	}
	switch {
	case c.QueueLimit > 0:
		return fmt.Errorf("QueueLimit is not modelled for a fleet (Instances %d); use a single instance or drop it", c.Instances)
	case c.ReconnectWork > 0:
		return fmt.Errorf("ReconnectWork is not used by a fleet (Instances %d): a replacement's reconnect work is opening its pool (ConnectTime); drop it", c.Instances)
	case c.CacheHitRatio > 0:
		return fmt.Errorf("the look-aside cache is not modelled for a fleet (Instances %d); use a single instance or drop CacheHitRatio", c.Instances)
	}
	return nil
}

// CacheCapacity is the number of entries the look-aside cache holds:
// max(1, round(CacheHitRatio × CacheKeys)), or 0 when the cache is off.
func (c Config) CacheCapacity() int {
	if c.CacheHitRatio <= 0 || c.CacheKeys < 1 {
		return 0
	}
	return max(1, int(math.Round(c.CacheHitRatio*float64(c.CacheKeys))))
}

// PoolSize is the number of connections in effect: max(1, round(DBConns × CapacityFraction)).
func (c Config) PoolSize() int {
	n := int(math.Round(float64(c.DBConns) * c.CapacityFraction))
	return max(1, n)
}

// Capacity is the throughput in requests/s the pool sustains when every connection is busy:
// PoolSize / QueryTime, +Inf when QueryTime is 0. Offered load above it makes the queue grow.
func (c Config) Capacity() float64 {
	if c.QueryTime <= 0 {
		return math.Inf(1)
	}
	return float64(c.PoolSize()) / c.QueryTime.Seconds()
}
