package simservice

import (
	"math/rand/v2"
	"sync"
	"time"
)

// serviceModel decides how long one query holds its connection. It is the seam for a
// contention model (service time growing with the number of queries running at once).
type serviceModel interface {
	// ServiceTime is the duration of the next query; active counts the connections in use,
	// this query's included. Implementations must be safe for concurrent use.
	ServiceTime(active int) time.Duration
}

// jitteredService is a fixed service time spread uniformly by ± jitter (relative), from a
// seeded generator so that runs are reproducible.
type jitteredService struct {
	base   time.Duration
	jitter float64

	mu  sync.Mutex // guards rng: rand.Rand is not safe for concurrent use
	rng *rand.Rand
}

func newJitteredService(base time.Duration, jitter float64, seed uint64) *jitteredService {
	// The second PCG word is a fixed odd constant so that every seed, 0 included, gives a
	// well-mixed stream.
	return &jitteredService{
		base:   base,
		jitter: jitter,
		rng:    rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
	}
}

func (s *jitteredService) ServiceTime(int) time.Duration {
	if s.jitter == 0 || s.base <= 0 {
		return s.base
	}
	s.mu.Lock()
	u := s.rng.Float64()
	s.mu.Unlock()
	return time.Duration(float64(s.base) * (1 + s.jitter*(2*u-1)))
}

// contendedService stretches another model's service time by the number of queries running at
// once: base × (1 + factor × n × (n−1)), the coherency term of the universal scalability law.
// A linear term alone would only flatten throughput; the quadratic one makes it fall past
// n ≈ 1/√factor, which is what thrashing looks like from outside.
type contendedService struct {
	base   serviceModel
	factor float64
}

func (s contendedService) ServiceTime(active int) time.Duration {
	d := s.base.ServiceTime(active)
	if active <= 1 || d <= 0 {
		return d
	}
	n := float64(active)
	stretched := float64(d) * (1 + s.factor*n*(n-1))
	if stretched >= float64(maxServiceTime) { // keeps the conversion to Duration in range
		return maxServiceTime
	}
	return time.Duration(stretched)
}

// maxServiceTime bounds a contended query: far beyond any client timeout, and small enough that
// an absurd Contention cannot overflow a Duration.
const maxServiceTime = time.Hour

// newService builds the service model cfg describes.
func newService(cfg Config) serviceModel {
	var m serviceModel = newJitteredService(cfg.QueryTime, cfg.QueryJitter, cfg.Seed)
	if cfg.Contention > 0 {
		m = contendedService{base: m, factor: cfg.Contention}
	}
	return m
}
