package simservice

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is Config.Instances app instances behind a round-robin balancer, sharing one
// database (dbServer). Each instance keeps its own connection pool. With health checks on,
// one orchestrator goroutine per instance slot checks the slot's instance every
// HealthInterval and, after HealthFailures failures in a row, removes it (its queue answers
// 503, its connections linger at the database for ConnReleaseDelay) and starts a replacement
// RestartDelay later, which opens its own pool. Nothing here looks at the clock to decide an
// outcome: a database that refuses connections fails the checks, removals leave lingering
// connections that fill the connection limit, replacements short of connections keep
// attempting them, that set-up work slows every query and probe, and more instances fail.
//
// Requests call pick from the HTTP server's goroutines; the orchestrators change the slots.
// Both go through mu.
type fleet struct {
	cfg  Config
	db   *dbServer
	stop context.Context
	bg   *sync.WaitGroup

	mu    sync.Mutex
	slots []*instance // the current instance of each slot; nil between removal and start
	next  int         // the balancer's round-robin cursor

	replacements atomic.Uint64
	healthChecks atomic.Uint64
	healthFailed atomic.Uint64
	noInstance   atomic.Uint64 // requests answered 503: no instance in service
	dbErrors     atomic.Uint64 // requests answered 500: the database failed them
}

// instance is one incarnation of an app instance. Its state fields are guarded by fleet.mu.
type instance struct {
	slot        int
	incarnation int
	pool        *connPool
	up          bool // in service: the balancer routes to it
	passed      bool // its last health check passed (a new instance has had none)
	failStreak  int
}

func newFleet(cfg Config, exec *database, stop context.Context, bg *sync.WaitGroup) *fleet {
	f := &fleet{cfg: cfg, db: newDBServer(cfg, exec, stop), stop: stop, bg: bg,
		slots: make([]*instance, cfg.Instances)}
	// The fleet has been running for a while when the target starts: every pool is full,
	// opened at no cost, as far as the connection limit allows.
	for i := range f.slots {
		inst := &instance{slot: i, pool: newConnPool(cfg.InstancePoolSize(), f.db), up: true, passed: true}
		inst.pool.fill(f.db.preopen(inst.pool.size))
		inst.pool.maintain(stop, bg)
		f.slots[i] = inst
	}
	if cfg.HealthInterval > 0 {
		for i := range f.slots {
			bg.Add(1)
			go f.orchestrate(i)
		}
	}
	return f
}

// preopen establishes up to n connections without set-up work, within the limit.
func (db *dbServer) preopen(n int) []dbConn {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.maxConns > 0 {
		n = min(n, db.maxConns-db.conns)
	}
	out := make([]dbConn, max(n, 0))
	for i := range out {
		out[i] = dbConn{gen: db.gen}
	}
	db.conns += len(out)
	return out
}

// pick is the balancer: the next instance in service, round robin; nil when none is.
func (f *fleet) pick() *instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range len(f.slots) {
		inst := f.slots[f.next]
		f.next = (f.next + 1) % len(f.slots)
		if inst != nil && inst.up {
			return inst
		}
	}
	return nil
}

// removed reports whether inst is no longer in service.
func (f *fleet) removed(inst *instance) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !inst.up
}

// orchestrate is the orchestrator of one slot: health checks, removal and replacement, until
// the target closes.
func (f *fleet) orchestrate(slot int) {
	defer f.bg.Done()
	f.mu.Lock()
	inst := f.slots[slot]
	f.mu.Unlock()
	for {
		if !f.checkUntilFailed(inst) {
			return
		}
		f.remove(inst)
		if !sleepCtx(f.stop, f.cfg.RestartDelay) {
			return
		}
		inst = f.launch(slot, inst.incarnation+1)
	}
}

// checkUntilFailed checks inst every HealthInterval until HealthFailures checks in a row have
// failed (true) or the target closes (false).
func (f *fleet) checkUntilFailed(inst *instance) bool {
	for {
		if !sleepCtx(f.stop, f.cfg.HealthInterval) {
			return false
		}
		ok := f.probe(inst)
		if f.stop.Err() != nil {
			return false
		}
		f.healthChecks.Add(1)
		if !ok {
			f.healthFailed.Add(1)
		}
		f.mu.Lock()
		inst.passed = ok
		if ok {
			inst.failStreak = 0
		} else {
			inst.failStreak++
		}
		failed := inst.failStreak >= f.cfg.HealthFailures
		f.mu.Unlock()
		if failed {
			return true
		}
	}
}

// probe is one health check. A database check takes a connection from the instance's pool
// and runs a query, as the traffic does, within HealthThreshold; a process check only asks
// the process, which answers while it runs.
func (f *fleet) probe(inst *instance) bool {
	if f.cfg.HealthCheck == HealthCheckProcess {
		return true
	}
	ctx, cancel := context.WithTimeout(f.stop, f.cfg.HealthThreshold)
	defer cancel()
	start := time.Now()
	c, err := inst.pool.get(ctx)
	if err != nil {
		return false
	}
	err = f.db.query(ctx, c)
	inst.pool.put(c)
	return err == nil && time.Since(start) <= f.cfg.HealthThreshold
}

// remove takes inst out of service, as an orchestrator terminates an unhealthy instance: the
// requests waiting in its pool answer 503 and its connections linger at the database.
func (f *fleet) remove(inst *instance) {
	f.mu.Lock()
	inst.up = false
	f.slots[inst.slot] = nil
	f.mu.Unlock()
	f.replacements.Add(1)
	inst.pool.close()
}

// launch puts a new instance into a slot: in service at once, its pool opening its
// connections in the background (each costing the database its set-up work).
func (f *fleet) launch(slot, incarnation int) *instance {
	inst := &instance{slot: slot, incarnation: incarnation, pool: newConnPool(f.cfg.InstancePoolSize(), f.db), up: true}
	f.mu.Lock()
	f.slots[slot] = inst
	f.mu.Unlock()
	inst.pool.maintain(f.stop, f.bg)
	return inst
}

// close stops the fleet's pools; the orchestrators stop with the target's stop context.
func (f *fleet) close() {
	f.mu.Lock()
	insts := make([]*instance, 0, len(f.slots))
	for _, inst := range f.slots {
		if inst != nil {
			inst.up = false
			insts = append(insts, inst)
		}
	}
	f.mu.Unlock()
	for _, inst := range insts {
		inst.pool.close()
	}
}

// InstanceStats is one slot of a fleet in /stats.
type InstanceStats struct {
	Slot int `json:"slot"`
	// Incarnation counts the instances this slot has had before the current one.
	Incarnation int `json:"incarnation"`
	// State is "up" (in service, last check passed), "failing" (in service, last check
	// failed), "new" (in service, not checked yet) or "starting" (removed, its replacement
	// not started yet).
	State string `json:"state"`
	// PoolOpen counts the connections the instance holds or is opening; PoolIdle those idle;
	// PoolWaiting the requests waiting for one.
	PoolOpen    int `json:"pool_open"`
	PoolIdle    int `json:"pool_idle"`
	PoolWaiting int `json:"pool_waiting"`
}

// FleetStats is the fleet's part of /stats (Config.Instances ≥ 2).
type FleetStats struct {
	// Instances is the configured number; InService how many are in the balancer; Healthy
	// how many of those passed their last check (a replacement not checked yet is not).
	Instances int `json:"instances"`
	InService int `json:"in_service"`
	Healthy   int `json:"healthy"`
	// Replacements counts instances removed by the orchestrator (Stats.Restarts too).
	Replacements uint64 `json:"replacements"`
	// DBConns is the connections the database holds (established, being set up, and
	// lingering ones of removed instances), against DBMaxConns (0: no limit).
	DBConns          int `json:"db_conns"`
	DBMaxConns       int `json:"db_max_conns"`
	DBConnsLingering int `json:"db_conns_lingering"`
	// DBConnects counts connections established; DBConnectsRefused attempts refused while the
	// database did not accept connections; DBConnectsRejected attempts rejected at the limit
	// (each after its set-up work); DBConnsDropped connections the database dropped.
	DBConnects         uint64 `json:"db_connects"`
	DBConnectsRefused  uint64 `json:"db_connects_refused"`
	DBConnectsRejected uint64 `json:"db_connects_rejected"`
	DBConnsDropped     uint64 `json:"db_conns_dropped"`
	// DBErrors counts requests answered 500 because the database failed them (no
	// connection); NoInstance those answered 503 because no instance was in service.
	DBErrors   uint64 `json:"db_errors"`
	NoInstance uint64 `json:"no_instance"`
	// PoolWaiting is the requests waiting for a connection in all pools; OldestPoolWaitMS the
	// longest such wait so far.
	PoolWaiting      int             `json:"pool_waiting"`
	OldestPoolWaitMS float64         `json:"oldest_pool_wait_ms"`
	Members          []InstanceStats `json:"members"`
}

func (f *fleet) stats() FleetStats {
	ds := f.db.stats()
	fs := FleetStats{
		Instances: len(f.slots), Replacements: f.replacements.Load(),
		DBConns: ds.conns, DBMaxConns: f.cfg.DBMaxConns, DBConnsLingering: ds.lingering,
		DBConnects: ds.connects, DBConnectsRefused: ds.refused, DBConnectsRejected: ds.rejected,
		DBConnsDropped: ds.dropped, DBErrors: f.dbErrors.Load(), NoInstance: f.noInstance.Load(),
	}
	f.mu.Lock()
	type member struct {
		inst  *instance
		state string
	}
	members := make([]member, len(f.slots))
	for i, inst := range f.slots {
		members[i] = member{inst: inst, state: "starting"}
		if inst != nil && inst.up {
			fs.InService++
			switch {
			case inst.failStreak > 0:
				members[i].state = "failing"
			case !inst.passed:
				members[i].state = "new"
			default:
				members[i].state = "up"
				fs.Healthy++
			}
		}
	}
	f.mu.Unlock()
	for i, m := range members {
		is := InstanceStats{Slot: i, State: m.state}
		if m.inst != nil {
			ps := m.inst.pool.stats()
			is.Incarnation = m.inst.incarnation
			is.PoolOpen, is.PoolIdle, is.PoolWaiting = ps.open, ps.idle, ps.waiting
			fs.PoolWaiting += ps.waiting
			fs.OldestPoolWaitMS = max(fs.OldestPoolWaitMS, ms(ps.oldestWait))
		}
		fs.Members = append(fs.Members, is)
	}
	return fs
}

// sleepCtx sleeps d, or less if ctx ends first; it reports whether ctx is still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
