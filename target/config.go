package target

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
	// Seed makes the query-time jitter reproducible.
	Seed uint64
}

// Defaults used by DefaultConfig.
const (
	DefaultDBConns   = 16
	DefaultQueryTime = 20 * time.Millisecond
)

// DefaultConfig is a healthy instance: 16 connections fully applied, 20 ms queries, no jitter,
// unlimited queue, abandoned work not cancelled. Its capacity is 800 requests/s.
//
// New does not fill in zero fields (a zero QueryTime is meaningful), so callers should start
// from DefaultConfig and override what they need.
func DefaultConfig() Config {
	return Config{
		DBConns:          DefaultDBConns,
		CapacityFraction: 1.0,
		QueryTime:        DefaultQueryTime,
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
	}
	return nil
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
