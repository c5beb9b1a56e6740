package simservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the target's HTTP layer: /healthz, /stats, /metrics, and every other path is the workload
// (one database query, or a look-aside cache hit). It is safe for concurrent use.
type Server struct {
	cfg   Config
	db    *database
	work  backend // what the workload path calls on a cache miss: the database
	cache *cache  // nil without Config.CacheHitRatio
	// fleet is the fleet of Config.Instances ≥ 2; nil for a single instance. With a fleet,
	// db is the shared database's execution slots and the single-instance health checker
	// does not run.
	fleet *fleet

	// ctl is the state the control endpoints set; ctlMu serialises changes so that the
	// state recorded is the state applied.
	ctl   controls
	ctlMu sync.Mutex

	// stop ends the background work (health checker, reconnect work) when the server closes.
	stop       context.Context
	cancelStop context.CancelFunc
	bg         sync.WaitGroup
	closeOnce  sync.Once

	lifeMu sync.Mutex
	life   lifecycle

	served    atomic.Uint64
	abandoned atomic.Uint64
	canceled  atomic.Uint64
	shed      atomic.Uint64

	restarts         atomic.Uint64
	healthChecks     atomic.Uint64
	healthFailed     atomic.Uint64
	restartDropped   atomic.Uint64
	reconnectQueries atomic.Uint64

	clientConns atomic.Int64 // open client connections, counted by the listener Start wraps
	refused     atomic.Uint64

	metrics *metrics // /metrics (metrics.go)
	faults  *faults  // injected faults and /control/fault (fault.go)
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

	// DBQueries counts queries the database ran to completion: traffic, health probes and
	// reconnect work alike.
	DBQueries uint64 `json:"db_queries"`

	// Healthy is false while the instance restarts or its last health check failed; always
	// true without Config.HealthInterval.
	Healthy bool `json:"healthy"`
	// HealthChecks and HealthFailed count the health checks run and failed.
	HealthChecks uint64 `json:"health_checks"`
	HealthFailed uint64 `json:"health_failed"`
	// Restarts counts restarts triggered by Config.HealthFailures failed checks in a row.
	Restarts uint64 `json:"restarts"`
	// RestartDropped counts requests answered 503 because of a restart: dropped from the
	// queue, arrived while the instance was down, or still running when it went down.
	RestartDropped uint64 `json:"restart_dropped"`
	// ReconnectQueries counts reconnect-work queries completed by restarted instances.
	ReconnectQueries uint64 `json:"reconnect_queries"`

	// CacheHits and CacheMisses count look-aside cache lookups; CacheFills counts misses
	// whose read was fast enough (Config.CacheFillDeadline) to be stored; CacheSize is the
	// number of entries still valid. All 0 without Config.CacheHitRatio.
	CacheHits   uint64 `json:"cache_hits"`
	CacheMisses uint64 `json:"cache_misses"`
	CacheFills  uint64 `json:"cache_fills"`
	CacheSize   int    `json:"cache_size"`

	// ClientConns is the number of client connections open; Refused counts connections
	// closed at once because ClientConns was at Config.MaxClientConns. Both 0 for a Server
	// not run by Start.
	ClientConns int64  `json:"client_conns"`
	Refused     uint64 `json:"refused"`

	// The control endpoints' state (see /control): the capacity fraction in effect, whether
	// the database refuses new connections, the latency added to every query; ControlChanges
	// counts the changes made and LastControl is the latest (the whole log, each change with
	// its time, is /stats' "controls" and Server.Controls).
	CapacityFraction float64        `json:"capacity_fraction"`
	DBRefusing       bool           `json:"db_refusing"`
	AddedLatencyMS   float64        `json:"added_latency_ms"`
	ControlChanges   uint64         `json:"control_changes"`
	LastControl      *ControlChange `json:"last_control"`

	// Fleet is the fleet's view (Config.Instances ≥ 2); absent for a single instance.
	Fleet *FleetStats `json:"fleet,omitempty"`
}

// New validates cfg and builds a Server. It does not fill in zero fields; start from
// DefaultConfig. With Config.HealthInterval set it starts the health checker, so Close must be
// called to stop it.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("target: invalid config: %w", err)
	}
	db := newDatabase(cfg.PoolSize(), cfg.QueueLimit, newService(cfg))
	s := &Server{cfg: cfg, db: db, work: db}
	s.metrics = newMetrics(s)
	s.faults = newFaults(cfg.Seed)
	db.onWait = s.metrics.observeWait
	s.ctl = controls{started: time.Now(), state: ControlState{CapacityFraction: cfg.CapacityFraction}}
	s.stop, s.cancelStop = context.WithCancel(context.Background())
	if cfg.Fleet() {
		s.fleet = newFleet(cfg, db, s.stop, &s.bg)
		return s, nil
	}
	if cfg.CacheCapacity() > 0 {
		s.cache = newCache(cfg)
		if cfg.CacheWarm {
			s.cache.warm(time.Now())
		}
	}
	if cfg.HealthInterval > 0 {
		s.bg.Add(1)
		go s.checkHealth()
	}
	return s, nil
}

// Controls returns the changes made through /control, oldest first (the latest 100).
func (s *Server) Controls() []ControlChange {
	_, log, _ := s.ctl.snapshot()
	return log
}

// Config returns the configuration the server was built with.
func (s *Server) Config() Config { return s.cfg }

var okBody = []byte("ok\n")

// ServeHTTP routes /healthz, /stats, /metrics (Prometheus) and /control/fault (fault.go);
// everything else is the workload, or an injected fault.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		code, state := http.StatusOK, s.healthState()
		if state != stateOK {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]string{"status": state})
	case "/stats":
		// The control log rides beside the counters: Stats stays a comparable value.
		_, log, _ := s.ctl.snapshot()
		writeJSON(w, http.StatusOK, struct {
			Stats
			Controls []ControlChange `json:"controls"`
		}{s.Stats(), log})
	case "/metrics":
		s.metrics.handler.ServeHTTP(w, r)
	case "/control/fault":
		s.controlFault(w, r)
	default:
		if r.URL.Path == "/control" || strings.HasPrefix(r.URL.Path, "/control/") {
			s.serveControl(w, r)
			return
		}
		if k := s.faults.pick(r); k != "" {
			s.serveFault(k, w, r)
			return
		}
		if s.fleet != nil {
			s.serveFleet(w, r)
			return
		}
		s.serveWork(w, r)
	}
}

// serveFleet is the workload of a fleet: the balancer picks an instance in service, which
// takes a connection from its pool (opening one if it has room) and runs one query.
func (s *Server) serveFleet(w http.ResponseWriter, r *http.Request) {
	f := s.fleet
	inst := f.pick()
	if inst == nil {
		f.noInstance.Add(1)
		w.Header().Set("Connection", "close")
		http.Error(w, "no instance in service", http.StatusServiceUnavailable)
		return
	}
	ctx := r.Context()
	if !s.cfg.CancelAbandoned {
		ctx = context.WithoutCancel(ctx) // as in serveWork: a departed client does not stop the work
	}
	c, err := inst.pool.get(ctx)
	if err == nil {
		err = f.db.query(ctx, c)
		inst.pool.put(c)
	}
	if err == nil && f.removed(inst) {
		err = errDropped // the instance was removed under this request; its answer is lost
	}
	switch {
	case err == nil:
		s.answer(w, r)
	case errors.Is(err, errDropped):
		s.restartDropped.Add(1)
		w.Header().Set("Connection", "close")
		http.Error(w, "instance removed", http.StatusServiceUnavailable)
	case errors.Is(err, errDBRefusing), errors.Is(err, errTooManyConns), errors.Is(err, errConnLost):
		f.dbErrors.Add(1)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case errors.Is(err, errClosed):
		w.Header().Set("Connection", "close")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	case ctx.Err() != nil:
		s.canceled.Add(1)
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (s *Server) serveWork(w http.ResponseWriter, r *http.Request) {
	gen, up := s.admit()
	if !up {
		s.restartDropped.Add(1)
		w.Header().Set("Connection", "close") // the process is down: no connection survives
		http.Error(w, "restarting", http.StatusServiceUnavailable)
		return
	}
	var key string
	if s.cache != nil {
		key = r.URL.Query().Get("key")
		if key == "" {
			key = s.cache.drawKey()
		}
		if s.cache.get(key, time.Now()) {
			s.answer(w, r)
			return
		}
	}

	ctx := r.Context()
	if !s.cfg.CancelAbandoned {
		// A departed client does not stop the work, as in most real services: the request
		// keeps its place in the queue and its query still runs. That wasted work is what
		// lets client retries sustain an overload.
		ctx = context.WithoutCancel(ctx)
	}
	start := time.Now()
	err := s.work.Do(ctx)
	if err == nil && s.generation() != gen {
		err = errDropped // the instance restarted under this request; its answer is lost
	}
	switch {
	case err == nil:
		if s.cache != nil {
			// A slow read is not cached, so under overload the cache stops refilling.
			if now := time.Now(); s.cfg.CacheFillDeadline == 0 || now.Sub(start) <= s.cfg.CacheFillDeadline {
				s.cache.fill(key, gen, now)
			}
		}
		s.answer(w, r)
	case errors.Is(err, errShed):
		s.shed.Add(1)
		http.Error(w, "overloaded: wait queue full", http.StatusServiceUnavailable)
	case errors.Is(err, errDropped):
		s.restartDropped.Add(1)
		w.Header().Set("Connection", "close")
		http.Error(w, "restarting", http.StatusServiceUnavailable)
	case errors.Is(err, errClosed):
		w.Header().Set("Connection", "close")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	case ctx.Err() != nil:
		s.canceled.Add(1) // the client left and CancelAbandoned dropped its work
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// answer sends the result of completed work, or counts it as abandoned if nobody is left to
// read it.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	if r.Context().Err() != nil {
		s.abandoned.Add(1)
		return
	}
	s.served.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(okBody) // a write error means the client left just now; nothing to do
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left; nothing to do
}

// Stats returns a snapshot of the pool, the queue, the instance and the outcome counters.
func (s *Server) Stats() Stats {
	ps := s.db.stats()
	var cs cacheStats
	if s.cache != nil {
		cs = s.cache.stats(time.Now())
	}
	ctl, log, changes := s.ctl.snapshot()
	st := Stats{
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

		DBQueries:        ps.queries,
		Healthy:          s.healthState() == stateOK,
		HealthChecks:     s.healthChecks.Load(),
		HealthFailed:     s.healthFailed.Load(),
		Restarts:         s.restarts.Load(),
		RestartDropped:   s.restartDropped.Load(),
		ReconnectQueries: s.reconnectQueries.Load(),

		CacheHits:   cs.hits,
		CacheMisses: cs.misses,
		CacheFills:  cs.fills,
		CacheSize:   cs.size,

		ClientConns: s.clientConns.Load(),
		Refused:     s.refused.Load(),
	}
	st.CapacityFraction, st.DBRefusing, st.AddedLatencyMS = ctl.CapacityFraction, ctl.DBRefusing, ctl.AddedLatencyMS
	st.ControlChanges = changes
	if len(log) > 0 {
		st.LastControl = &log[len(log)-1]
	}
	if s.fleet != nil {
		fs := s.fleet.stats()
		st.Fleet = &fs
		st.Healthy = fs.Healthy == fs.Instances
		st.HealthChecks, st.HealthFailed = s.fleet.healthChecks.Load(), s.fleet.healthFailed.Load()
		st.Restarts = fs.Replacements
		// A request waiting in a pool waits as surely as one queued at the database.
		st.OldestWaitMS = max(st.OldestWaitMS, fs.OldestPoolWaitMS)
		st.QueueDepth += fs.PoolWaiting
	}
	return st
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Close makes every queued request and running query give up at once (they answer 503),
// refuses new work and stops the health checker and any reconnect work, so that an HTTP
// shutdown does not wait out the queue. Safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancelStop()
		if s.fleet != nil {
			s.fleet.close()
		}
		s.db.close()
		s.bg.Wait()
	})
}
