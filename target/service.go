package target

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
