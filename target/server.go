package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Server is the target's HTTP layer: /healthz, /stats, and every other path is the workload
// (one database query). It is safe for concurrent use.
type Server struct {
	cfg  Config
	db   *database
	work backend // what the workload path calls; the database today

	served    atomic.Uint64
	abandoned atomic.Uint64
	canceled  atomic.Uint64
	shed      atomic.Uint64
}

// Stats is a snapshot of the target, served as JSON on /stats.
type Stats struct {
	PoolSize   int `json:"pool_size"`
	InUse      int `json:"in_use"`
	QueueDepth int `json:"queue_depth"`

	// Served counts queries completed for a client that was still there.
	Served uint64 `json:"served"`
	// Abandoned counts queries completed after their client had gone: wasted work.
	Abandoned uint64 `json:"abandoned"`
	// Canceled counts requests dropped (from the queue or mid-query) because their client
	// had gone; only with Config.CancelAbandoned.
	Canceled uint64 `json:"canceled"`
	// Shed counts requests refused with 503 because the queue was at Config.QueueLimit.
	Shed uint64 `json:"shed"`

	// OldestWaitMS is how long the request at the head of the queue has waited so far.
	OldestWaitMS float64 `json:"oldest_wait_ms"`
	// LastWaitMS is the queue wait of the most recent request to get a connection.
	LastWaitMS float64 `json:"last_wait_ms"`
	// WaitP50MS and WaitP99MS cover the queue waits of the last 256 acquisitions.
	WaitP50MS float64 `json:"wait_p50_ms"`
	WaitP99MS float64 `json:"wait_p99_ms"`
}

// New validates cfg and builds a Server. It does not fill in zero fields; start from
// DefaultConfig.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("target: invalid config: %w", err)
	}
	db := newDatabase(cfg.PoolSize(), cfg.QueueLimit,
		newJitteredService(cfg.QueryTime, cfg.QueryJitter, cfg.Seed))
	return &Server{cfg: cfg, db: db, work: db}, nil
}

// Config returns the configuration the server was built with.
func (s *Server) Config() Config { return s.cfg }

var okBody = []byte("ok\n")

// ServeHTTP routes /healthz and /stats; everything else is the workload.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case "/stats":
		writeJSON(w, http.StatusOK, s.Stats())
	default:
		s.serveWork(w, r)
	}
}

func (s *Server) serveWork(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !s.cfg.CancelAbandoned {
		// A departed client does not stop the work, as in most real services: the request
		// keeps its place in the queue and its query still runs. That wasted work is what
		// lets client retries sustain an overload.
		ctx = context.WithoutCancel(ctx)
	}
	err := s.work.Do(ctx)
	switch {
	case err == nil:
		if r.Context().Err() != nil {
			s.abandoned.Add(1) // nobody is left to read the answer
			return
		}
		s.served.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(okBody) // a write error means the client left just now; nothing to do
	case errors.Is(err, errShed):
		s.shed.Add(1)
		http.Error(w, "overloaded: wait queue full", http.StatusServiceUnavailable)
	case errors.Is(err, errClosed):
		w.Header().Set("Connection", "close")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	case ctx.Err() != nil:
		s.canceled.Add(1) // the client left and CancelAbandoned dropped its work
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left; nothing to do
}

// Stats returns a snapshot of the pool, the queue and the outcome counters.
func (s *Server) Stats() Stats {
	ps := s.db.stats()
	return Stats{
		PoolSize:     ps.size,
		InUse:        ps.inUse,
		QueueDepth:   ps.queueDepth,
		Served:       s.served.Load(),
		Abandoned:    s.abandoned.Load(),
		Canceled:     s.canceled.Load(),
		Shed:         s.shed.Load(),
		OldestWaitMS: ms(ps.oldestWait),
		LastWaitMS:   ms(ps.lastWait),
		WaitP50MS:    ms(ps.waitP50),
		WaitP99MS:    ms(ps.waitP99),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Close makes every queued request and running query give up at once (they answer 503) and
// refuses new work, so that an HTTP shutdown does not wait out the queue. Safe to call more
// than once.
func (s *Server) Close() { s.db.close() }
