package simservice

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// Errors a backend returns when it does no work for a request.
var (
	// errShed: the wait queue is at its limit; the request was refused at once.
	errShed = errors.New("wait queue full")
	// errClosed: the instance is shutting down.
	errClosed = errors.New("database closed")
	// errDropped: the instance restarted while the request waited, and its queue went
	// with it.
	errDropped = errors.New("queue dropped by a restart")
)

// backend is the work behind the HTTP layer: the database. The look-aside cache is not a
// backend but sits in the Server, which consults it before and fills it after a read, as
// application code does with a real look-aside cache.
type backend interface {
	// Do performs one unit of work. It returns nil when the work completed, errShed,
	// errClosed or errDropped when none was done, or ctx.Err() when ctx ended it early.
	Do(ctx context.Context) error
}

// database is a pool of connections with a FIFO wait queue in front of it. When a connection is
// released it is handed straight to the oldest waiter, so order is strictly first come, first
// served and a newcomer can never overtake the queue.
type database struct {
	size       int
	queueLimit int // 0 = unlimited
	service    serviceModel
	closed     chan struct{} // closed by close; wakes every waiter and running query

	mu       sync.Mutex
	isClosed bool
	inUse    int
	queue    list.List // of *waiter, oldest at the front
	lastWait time.Duration
	waits    waitRing
	queries  uint64 // queries run to completion

	// onWait, when set, is told every queue wait as a connection is granted, with mu held
	// (the /metrics histogram). Set before the database is used.
	onWait func(time.Duration)
	// extra is latency added to every query by the control endpoint (/control/latency): it
	// holds the connection like the query itself, as a slow network or disk would.
	extra time.Duration
}

// waiter is one request queued for a connection. Its fields other than ready are guarded by
// database.mu.
type waiter struct {
	enqueued time.Time
	ready    chan struct{} // closed when a connection is handed over or the queue is dropped
	elem     *list.Element
	queued   bool // still in the queue
	granted  bool // holds a connection it must release
	dropped  bool // taken out by dropQueue; set before ready is closed
}

func newDatabase(size, queueLimit int, service serviceModel) *database {
	return &database{
		size:       size,
		queueLimit: queueLimit,
		service:    service,
		closed:     make(chan struct{}),
	}
}

// Do acquires a connection, runs one query and releases the connection.
func (d *database) Do(ctx context.Context) error {
	if err := d.acquire(ctx); err != nil {
		return err
	}
	defer d.release()
	return d.query(ctx)
}

// acquire waits for a connection until one is handed over, ctx is done, the queue is dropped
// or the database closes. On success the caller must call release.
func (d *database) acquire(ctx context.Context) error {
	w, err := d.enter()
	if err != nil {
		return err
	}
	return d.await(ctx, w)
}

// enter takes a free connection or a place at the back of the queue, without blocking. It is
// split from await so that a restarting instance can queue its reconnect work ahead of any
// traffic. A nil waiter means a connection was granted at once.
func (d *database) enter() (*waiter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isClosed {
		return nil, errClosed
	}
	if d.inUse < d.size && d.queue.Len() == 0 {
		d.inUse++
		d.recordWaitLocked(0)
		return nil, nil
	}
	if d.queueLimit > 0 && d.queue.Len() >= d.queueLimit {
		return nil, errShed
	}
	w := &waiter{enqueued: time.Now(), ready: make(chan struct{}), queued: true}
	w.elem = d.queue.PushBack(w)
	return w, nil
}

// await waits for the connection w queued for; a nil w already holds one.
func (d *database) await(ctx context.Context, w *waiter) error {
	if w == nil {
		return nil
	}
	select {
	case <-w.ready:
		if w.dropped { // written before ready was closed, so no lock is needed
			return errDropped
		}
		return nil
	case <-d.closed:
		d.leave(w)
		return errClosed
	case <-ctx.Done():
		// The connection may have been handed over while ctx ended; leave deals with both.
		d.leave(w)
		return ctx.Err()
	}
}

// leave takes w out of the queue, or passes on the connection it was just handed.
func (d *database) leave(w *waiter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case w.granted:
		w.granted = false
		d.releaseLocked()
	case w.queued:
		d.queue.Remove(w.elem)
		w.queued = false
	}
}

func (d *database) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.releaseLocked()
}

func (d *database) releaseLocked() {
	// After a resize to fewer connections, a released connection is retired rather than
	// handed on until the pool is back within its size.
	if front := d.queue.Front(); front != nil && !d.isClosed && d.inUse <= d.size {
		w := d.queue.Remove(front).(*waiter)
		w.queued, w.granted = false, true
		d.recordWaitLocked(time.Since(w.enqueued))
		close(w.ready) // the connection passes to w; inUse is unchanged
		return
	}
	d.inUse--
}

func (d *database) recordWaitLocked(wait time.Duration) {
	d.lastWait = wait
	d.waits.add(wait)
	if d.onWait != nil {
		d.onWait(wait)
	}
}

// query holds the connection for one service time (plus any added latency). The sleep ends
// early only if ctx is done (the caller decides whether a departed client cancels it) or the
// database closes.
func (d *database) query(ctx context.Context) error {
	d.mu.Lock()
	active, extra := d.inUse, d.extra
	d.mu.Unlock()
	if err := d.hold(ctx, d.service.ServiceTime(active)+extra); err != nil {
		return err
	}
	d.mu.Lock()
	d.queries++
	d.mu.Unlock()
	return nil
}

// hold keeps the connection (or execution slot) the caller acquired for dur. It ends early
// only if ctx is done or the database closes.
func (d *database) hold(ctx context.Context, dur time.Duration) error {
	if dur <= 0 {
		return nil
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-d.closed:
		return errClosed
	}
}

// close fails every waiter and running query at once and refuses new work, so that shutdown
// takes no longer than the goroutines need to notice. Safe to call more than once.
func (d *database) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isClosed {
		return
	}
	d.isClosed = true
	for e := d.queue.Front(); e != nil; {
		next := e.Next()
		d.queue.Remove(e).(*waiter).queued = false
		e = next
	}
	close(d.closed)
}

// dropQueue fails every waiter with errDropped, as a restarting instance loses the requests it
// held. Running queries are left alone: the database does not know their client died, so they
// hold their connections to the end. It returns the number of waiters dropped.
func (d *database) dropQueue() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for e := d.queue.Front(); e != nil; {
		next := e.Next()
		w := d.queue.Remove(e).(*waiter)
		w.queued, w.dropped = false, true
		close(w.ready)
		n++
		e = next
	}
	return n
}

// resize changes the number of connections in effect, as a capacity cut or its repair does.
// Growing hands the new connections to waiters at once; shrinking retires connections as
// they are released, so running queries are not interrupted.
func (d *database) resize(size int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.size = max(size, 1)
	for d.inUse < d.size && !d.isClosed {
		front := d.queue.Front()
		if front == nil {
			break
		}
		w := d.queue.Remove(front).(*waiter)
		w.queued, w.granted = false, true
		d.inUse++
		d.recordWaitLocked(time.Since(w.enqueued))
		close(w.ready)
	}
}

// setExtra sets the latency added to every query from now on.
func (d *database) setExtra(extra time.Duration) {
	d.mu.Lock()
	d.extra = extra
	d.mu.Unlock()
}

// poolStats is a snapshot of the pool and its queue.
type poolStats struct {
	queries                 uint64
	size, inUse, queueDepth int
	oldestWait, lastWait    time.Duration
	waitP50, waitP99        time.Duration
}

func (d *database) stats() poolStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := poolStats{
		size:       d.size,
		inUse:      d.inUse,
		queueDepth: d.queue.Len(),
		lastWait:   d.lastWait,
		queries:    d.queries,
	}
	if front := d.queue.Front(); front != nil {
		ps.oldestWait = time.Since(front.Value.(*waiter).enqueued)
	}
	q := d.waits.quantiles(0.50, 0.99)
	ps.waitP50, ps.waitP99 = q[0], q[1]
	return ps
}
