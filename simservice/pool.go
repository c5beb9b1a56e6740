package simservice

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// connPool is one fleet instance's pool of database connections, in the manner of Go's
// database/sql: a caller takes an idle connection, or opens a new one itself while the pool
// holds fewer than its size (counting connections being opened), or waits in FIFO order for
// one to be given back. When an open fails, the first waiter is allowed to try one, so a pool
// short of connections keeps attempting them as long as requests arrive: on a database at its
// connection limit, that is a storm of set-up work. Connections the database dropped are
// found dead when taken and discarded.
//
// get and put are called from the request and health-check goroutines of the instance;
// close from its orchestrator goroutine. All are safe for concurrent use.
type connPool struct {
	size int
	db   *dbServer

	mu      sync.Mutex
	idle    []dbConn
	open    int       // connections held (idle or in use) or being opened; ≤ size
	waiters list.List // of *poolWaiter, oldest first
	closed  bool      // the instance was removed
	opens   uint64    // connection attempts made
	failed  uint64    // attempts that failed
}

// poolWaiter is a caller waiting for a connection. Fields other than ready are guarded by
// connPool.mu and written before ready is closed.
type poolWaiter struct {
	since   time.Time
	ready   chan struct{}
	elem    *list.Element
	queued  bool
	conn    dbConn
	hasConn bool
	mayOpen bool // a slot was reserved for this waiter to open a connection itself
	err     error
}

func newConnPool(size int, db *dbServer) *connPool {
	return &connPool{size: max(size, 1), db: db}
}

// get returns a connection the caller must put back, or an error: errDropped once the
// instance is removed, the database's error when opening failed, or ctx.Err().
func (p *connPool) get(ctx context.Context) (dbConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return dbConn{}, errDropped
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if p.db.alive(c) {
			p.mu.Unlock()
			return c, nil
		}
		p.open-- // dropped by the database: discard it
	}
	if p.open < p.size {
		p.open++
		p.mu.Unlock()
		return p.openConn()
	}
	w := &poolWaiter{since: time.Now(), ready: make(chan struct{}), queued: true}
	w.elem = p.waiters.PushBack(w)
	p.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
		p.mu.Lock()
		if w.queued {
			p.waiters.Remove(w.elem)
			w.queued = false
			p.mu.Unlock()
			return dbConn{}, ctx.Err()
		}
		p.mu.Unlock()
		<-w.ready // handed something just now: give it on
		switch {
		case w.hasConn:
			p.put(w.conn)
		case w.mayOpen:
			p.mu.Lock()
			p.open--
			p.wakeOpenerLocked()
			p.mu.Unlock()
		}
		return dbConn{}, ctx.Err()
	}
	switch {
	case w.err != nil:
		return dbConn{}, w.err
	case w.mayOpen:
		return p.openConn()
	}
	return w.conn, nil
}

// openConn opens a connection for a slot already reserved in open.
func (p *connPool) openConn() (dbConn, error) {
	c, err := p.db.connect()
	p.mu.Lock()
	p.opens++
	if err != nil {
		p.failed++
		p.open--
		p.wakeOpenerLocked()
		p.mu.Unlock()
		return dbConn{}, err
	}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		// Opened for an instance that is gone: the connection lingers at the database.
		p.db.linger(c)
		return dbConn{}, errDropped
	}
	return c, nil
}

// wakeOpenerLocked lets the first waiter open a connection itself when the pool has room.
func (p *connPool) wakeOpenerLocked() {
	if p.closed || p.open >= p.size {
		return
	}
	front := p.waiters.Front()
	if front == nil {
		return
	}
	w := p.waiters.Remove(front).(*poolWaiter)
	w.queued, w.mayOpen = false, true
	p.open++
	close(w.ready)
}

// put gives a connection back: to the first waiter, or to the idle list. A dead connection is
// discarded (and a waiter may open a new one); one given back to a removed instance lingers.
func (p *connPool) put(c dbConn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.db.linger(c)
		return
	}
	if !p.db.alive(c) {
		p.open--
		p.wakeOpenerLocked()
		p.mu.Unlock()
		return
	}
	if front := p.waiters.Front(); front != nil {
		w := p.waiters.Remove(front).(*poolWaiter)
		w.queued, w.conn, w.hasConn = false, c, true
		close(w.ready)
		p.mu.Unlock()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// poolRetryDelay is how often a pool's maintainer tops the pool up, as connection pools that
// keep a minimum of idle connections do in the background.
const poolRetryDelay = 100 * time.Millisecond

// maintain keeps the pool full for as long as its instance lives, as a pool with a minimum of
// idle connections (HikariCP's minimumIdle) does: from the moment the process starts, and
// every poolRetryDelay after, it opens every missing connection at once and waits for the
// attempts. A failed attempt gives its place back (a waiting request may try one) and is
// retried on the next round. On a database at its connection limit that is a steady stream of
// set-up work from every instance short of connections.
func (p *connPool) maintain(stop context.Context, bg *sync.WaitGroup) {
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				return
			}
			// Idle connections the database dropped are found and discarded, as a
			// pool's keep-alive check does.
			live := p.idle[:0]
			for _, c := range p.idle {
				if p.db.alive(c) {
					live = append(live, c)
				} else {
					p.open--
				}
			}
			p.idle = live
			n := p.size - p.open
			p.open += n
			p.mu.Unlock()
			var round sync.WaitGroup
			for range n {
				round.Add(1)
				go func() {
					defer round.Done()
					if c, err := p.openConn(); err == nil {
						p.put(c)
					}
				}()
			}
			round.Wait()
			if !sleepCtx(stop, poolRetryDelay) {
				return
			}
		}
	}()
}

// fill puts n connections opened at no cost into the pool: the fleet as it was before the
// run, warmed up long ago.
func (p *connPool) fill(cs []dbConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, cs...)
	p.open += len(cs)
}

// close removes the pool with its instance: waiters get errDropped, idle connections linger at
// the database for the release delay, and those in use linger once given back.
func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	for e := p.waiters.Front(); e != nil; {
		next := e.Next()
		w := p.waiters.Remove(e).(*poolWaiter)
		w.queued, w.err = false, errDropped
		close(w.ready)
		e = next
	}
	p.mu.Unlock()
	for _, c := range idle {
		p.db.linger(c)
	}
}

// poolStats is a snapshot of one pool.
type poolStatsSnap struct {
	open, idle, waiting int
	oldestWait          time.Duration
	opens, failed       uint64
}

func (p *connPool) stats() poolStatsSnap {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := poolStatsSnap{open: p.open, idle: len(p.idle), waiting: p.waiters.Len(), opens: p.opens, failed: p.failed}
	if front := p.waiters.Front(); front != nil {
		s.oldestWait = time.Since(front.Value.(*poolWaiter).since)
	}
	return s
}
