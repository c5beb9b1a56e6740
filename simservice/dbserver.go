package simservice

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Errors of a fleet's database connections.
var (
	// errDBRefusing: the database does not accept new connections (/control/db).
	errDBRefusing = errors.New("database is not accepting new connections")
	// errTooManyConns: the connection limit (Config.DBMaxConns) is reached.
	errTooManyConns = errors.New("database: too many connections")
	// errConnLost: the database dropped the connection (/control/db with drop_connections).
	errConnLost = errors.New("database connection lost")
)

// dbServer is a fleet's shared database as its clients see it: connections counted against a
// limit, each costing set-up work, and queries. Set-up work and queries run on the same
// execution slots (exec, a FIFO-queued pool of Config.PoolSize() slots), so a storm of
// connection attempts slows every query, health probes included. It is safe for concurrent
// use: instances' pools call it from request and health-check goroutines.
type dbServer struct {
	exec         *database
	maxConns     int // 0 = no limit
	connectTime  time.Duration
	releaseDelay time.Duration
	stop         context.Context // ends set-up work when the target closes

	mu sync.Mutex
	// conns counts connections the database holds: established, being set up, and those of
	// removed instances not yet released (lingering).
	conns     int
	lingering int
	// gen changes when the database drops every connection: a connection of an older
	// generation is dead, and its slot was freed by the drop.
	gen      uint64
	refusing bool

	connects uint64 // connections established
	refused  uint64 // attempts refused while not accepting connections
	rejected uint64 // attempts rejected at the connection limit
	dropped  uint64 // connections dropped by /control/db
}

// dbConn is one connection to the database, valid while its generation is current.
type dbConn struct{ gen uint64 }

func newDBServer(cfg Config, exec *database, stop context.Context) *dbServer {
	return &dbServer{exec: exec, maxConns: cfg.DBMaxConns, connectTime: cfg.ConnectTime,
		releaseDelay: cfg.ConnReleaseDelay, stop: stop}
}

// connect opens a connection. A database that is not accepting connections refuses at once,
// at no cost; otherwise the attempt takes a slot under the connection limit and runs its
// set-up work on an execution slot, and an attempt beyond the limit is rejected only after
// that work, as a real database authenticates a client before it can tell it has no room.
// The work is not cut short by the caller's client leaving: the database does not know.
func (db *dbServer) connect() (dbConn, error) {
	db.mu.Lock()
	if db.refusing {
		db.refused++
		db.mu.Unlock()
		return dbConn{}, errDBRefusing
	}
	full := db.maxConns > 0 && db.conns >= db.maxConns
	gen := db.gen
	if !full {
		db.conns++
	}
	db.mu.Unlock()

	err := db.setup()
	db.mu.Lock()
	defer db.mu.Unlock()
	switch {
	case full:
		db.rejected++
		if err == nil {
			err = errTooManyConns
		}
		return dbConn{}, err
	case gen != db.gen:
		// Dropped while being set up; the drop already freed its slot.
		if err == nil {
			err = errConnLost
		}
		return dbConn{}, err
	case err != nil:
		db.conns--
		return dbConn{}, err
	}
	db.connects++
	return dbConn{gen: gen}, nil
}

// setup runs one connection set-up on an execution slot.
func (db *dbServer) setup() error {
	if err := db.exec.acquire(db.stop); err != nil {
		return err
	}
	defer db.exec.release()
	return db.exec.hold(db.stop, db.connectTime)
}

// alive reports whether c has not been dropped.
func (db *dbServer) alive(c dbConn) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return c.gen == db.gen
}

// query runs one query over c: it waits for an execution slot and holds it for the service
// time. ctx is the caller's (a departed client may or may not cancel it).
func (db *dbServer) query(ctx context.Context, c dbConn) error {
	if !db.alive(c) {
		return errConnLost
	}
	if err := db.exec.acquire(ctx); err != nil {
		return err
	}
	defer db.exec.release()
	return db.exec.query(ctx)
}

// close gives c back to the database at once: its pool discarded it.
func (db *dbServer) close(c dbConn) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if c.gen == db.gen {
		db.conns--
	}
}

// linger keeps c open at the database for the release delay and then releases it: its
// instance was removed, and the database only notices when keep-alive or its idle timeout
// says the peer is gone.
func (db *dbServer) linger(c dbConn) {
	db.mu.Lock()
	if c.gen != db.gen {
		db.mu.Unlock()
		return
	}
	db.lingering++
	db.mu.Unlock()
	release := func() {
		db.mu.Lock()
		defer db.mu.Unlock()
		if c.gen == db.gen {
			db.conns--
			db.lingering--
		}
	}
	if db.releaseDelay <= 0 {
		release()
		return
	}
	time.AfterFunc(db.releaseDelay, release)
}

// setRefusing makes the database refuse new connections (or accept them again); drop also
// closes every connection it holds, as a database restarted by a scaling event does.
func (db *dbServer) setRefusing(refusing, drop bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.refusing = refusing
	if drop {
		db.dropped += uint64(db.conns)
		db.gen++
		db.conns, db.lingering = 0, 0
	}
}

// dbServerStats is a snapshot of the connection counters.
type dbServerStats struct {
	conns, lingering                     int
	refusing                             bool
	connects, refused, rejected, dropped uint64
}

func (db *dbServer) stats() dbServerStats {
	db.mu.Lock()
	defer db.mu.Unlock()
	return dbServerStats{conns: db.conns, lingering: db.lingering, refusing: db.refusing,
		connects: db.connects, refused: db.refused, rejected: db.rejected, dropped: db.dropped}
}
