package target

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
	// errClosed: the instance is shutting down (or, later, restarting).
	errClosed = errors.New("database closed")
)

// backend is the work behind the HTTP layer. The database is the only one today; a look-aside
// cache would wrap it, and a restarting instance would swap it out.
type backend interface {
	// Do performs one unit of work. It returns nil when the work completed, errShed or
	// errClosed when none was done, or ctx.Err() when ctx ended it early.
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
}

// waiter is one request queued for a connection. Its fields other than ready are guarded by
// database.mu.
type waiter struct {
	enqueued time.Time
	ready    chan struct{} // closed when a connection is handed over
	elem     *list.Element
	queued   bool // still in the queue
	granted  bool // holds a connection it must release
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

// acquire waits for a connection until one is handed over, ctx is done or the database closes.
// On success the caller must call release.
func (d *database) acquire(ctx context.Context) error {
	d.mu.Lock()
	if d.isClosed {
		d.mu.Unlock()
		return errClosed
	}
	if d.inUse < d.size && d.queue.Len() == 0 {
		d.inUse++
		d.recordWaitLocked(0)
		d.mu.Unlock()
		return nil
	}
	if d.queueLimit > 0 && d.queue.Len() >= d.queueLimit {
		d.mu.Unlock()
		return errShed
	}
	w := &waiter{enqueued: time.Now(), ready: make(chan struct{}), queued: true}
	w.elem = d.queue.PushBack(w)
	d.mu.Unlock()

	select {
	case <-w.ready:
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
	if front := d.queue.Front(); front != nil && !d.isClosed {
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
}

// query holds the connection for one service time. The sleep ends early only if ctx is done
// (the caller decides whether a departed client cancels it) or the database closes.
func (d *database) query(ctx context.Context) error {
	d.mu.Lock()
	active := d.inUse
	d.mu.Unlock()
	dur := d.service.ServiceTime(active)
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

// poolStats is a snapshot of the pool and its queue.
type poolStats struct {
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
	}
	if front := d.queue.Front(); front != nil {
		ps.oldestWait = time.Since(front.Value.(*waiter).enqueued)
	}
	q := d.waits.quantiles(0.50, 0.99)
	ps.waitP50, ps.waitP99 = q[0], q[1]
	return ps
}
