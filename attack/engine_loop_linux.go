//go:build linux

package attack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// loopEngine sends a group's attempts from one event loop, as wrk does, on plain HTTP/1.1: it
// claims what is due, writes each request on a connection of its own, waits in epoll for the
// answers, frames them (respFramer) and hands each outcome over, all on the goroutine that
// calls next (the consumer's). The worker pool of the other engines puts a goroutine between
// the claim and the send and a channel between the send and the consumer; at 10 k/s the wakes
// between them (the pace mutex's hand-offs, the consumer's yields) were most of the fast
// engine's 50 µs of CPU per attempt (docs/performance.md), and at max rate each attempt cost
// two of Go's poller round trips. Here an attempt costs a claim, a write, a read and the
// framing, and waits cost one epoll_pwait2 each, precise to the kernel's timer slack.
//
// What it does not do, chooseEngine sends elsewhere: TLS (fast), HTTP/2, proxies and redirects
// (std), and any OS but Linux. A connection to an IP address is connected by the loop itself
// (connect); the rest are dialed by the transport (names, the Unix socket, spares, on a
// goroutine per dial, since a dial may resolve a name). The loop reads and writes them all
// through their file descriptors. Timeouts cover the whole attempt, connect or dial to body,
// as the client timeout does on the other engines.
type loopEngine struct {
	g         *group
	tr        *transport
	reqs      [][]byte        // by endpoint: the request's bytes as sent
	heads     []bool          // by endpoint: the request is a HEAD
	origin    []int32         // by endpoint: its origin, an index into addrs
	addrs     []string        // by origin: the address the transport dials
	direct    []unix.Sockaddr // by origin: where the loop connects itself; nil: the transport dials
	timeout   time.Duration
	maxBody   int64
	maxConns  int  // attempts in flight at most (max-workers)
	reuse     bool // keep connections alive between attempts
	dateUntil time.Time

	ep, efd int // the epoll set; the eventfd that stop, dials and the scheduler's wake signal
	dials   chan loopDial
	done    chan struct{} // closed when the loop has ended: the wake forwarder returns

	mu     sync.Mutex // efd's end against a late stop or dial
	closed bool

	// The rest belongs to the goroutine calling next.
	conns     []*loopConn
	free      []int32   // indexes of conns no connection uses
	idle      [][]int32 // by origin: idle connections, the newest last
	inflight  int       // attempts taken and not yet delivered
	stopping  bool      // the scheduler said stop: nothing new is claimed
	finished  bool
	queue     []outcome // ready for next
	qhead     int
	nextSweep time.Time // no deadline or idle expiry falls before it
	buf       []byte
	events    [256]unix.EpollEvent
	pwait2    bool      // the kernel has epoll_pwait2 (Linux 5.11)
	date      string    // the last Date handed over (see fastWorker.date)
	yielded   time.Time // the last yield before a wait
}

// Connection states of a loopConn.
const (
	lcFree       = iota
	lcDialing    // the transport is dialing it for an attempt
	lcConnecting // the loop's own non-blocking connect is under way (direct)
	lcIdle       // open, no request outstanding
	lcWriting    // the request is partly written (the socket's buffer was full)
	lcReading    // the request is written; reading the response
)

// loopConn is one connection of the loop, and the attempt on it.
type loopConn struct {
	nc       net.Conn // a spare connection, closed through it so that the spares count it gone
	fd       int      // the loop's own descriptor of the connection (detach)
	idx      int32    // in the loop's conns, and its epoll data
	origin   int32
	state    uint8
	listed   bool // c's index is in its origin's idle list
	headReq  bool
	slot     uint32
	sent     time.Time
	deadline time.Time // zero: no timeout
	idleAt   time.Time
	req      []byte
	wrote    int
	f        respFramer
}

// loopDial is a dial's result, sent by its goroutine to the loop.
type loopDial struct {
	idx int32
	nc  net.Conn
	fd  int
	err error
}

// loopSupported: this build has the loop engine.
const loopSupported = true

// loopEfd is the epoll data of the eventfd; connections use their index.
const loopEfd = -1

// loopMaxWait bounds one wait in epoll, so that a signal lost to a bug costs a pause, not a hang.
const loopMaxWait = 100 * time.Millisecond

// loopReadBuf is the loop's read buffer, shared by its connections: a body is counted as it
// is read and dropped, and only a head split across reads is kept, by its connection.
const loopReadBuf = 64 << 10

func newLoopEngine(g *group, tr *transport, plan *requestPlan, cl profiles.Client, workers uint64) (*loopEngine, error) {
	e := &loopEngine{
		g:        g,
		tr:       tr,
		timeout:  time.Duration(cl.Timeout),
		maxBody:  tr.maxBody,
		maxConns: int(max(workers, 1)),
		reuse:    cl.Reuses(),
		ep:       -1,
		efd:      -1,
		done:     make(chan struct{}),
		buf:      make([]byte, loopReadBuf),
		pwait2:   true,
	}
	byAddr := map[string]int32{}
	for i := range plan.endpoints {
		ep := &plan.endpoints[i]
		u, err := url.Parse(ep.url)
		if err != nil {
			return nil, err
		}
		if u.Scheme != "http" {
			return nil, fmt.Errorf("the loop engine speaks plain HTTP/1.1, not %s:// (%s)", u.Scheme, origin(u))
		}
		a := hostPort(u)
		o, ok := byAddr[a]
		if !ok {
			o = int32(len(e.addrs))
			byAddr[a] = o
			e.addrs = append(e.addrs, a)
		}
		var req fasthttp.Request
		fastRequest(&req, ep, e.reuse)
		// Paths go as written, as the fast engine sends them (DisablePathNormalizing).
		req.URI().DisablePathNormalizing = true
		var b bytes.Buffer
		if _, err := req.WriteTo(&b); err != nil {
			return nil, fmt.Errorf("request %s %s: %w", ep.method, ep.url, err)
		}
		e.reqs = append(e.reqs, b.Bytes())
		e.heads = append(e.heads, ep.method == http.MethodHead)
		e.origin = append(e.origin, o)
	}
	e.idle = make([][]int32, len(e.addrs))
	e.direct = make([]unix.Sockaddr, len(e.addrs))
	if tr.spares == nil && tr.t.UnixSocket == "" {
		// Run sets the spares before it builds the groups: with them, connections come
		// from the spares, through the transport.
		for o, a := range e.addrs {
			e.direct[o] = directAddr(tr.route(a))
		}
	}
	e.dials = make(chan loopDial, min(e.maxConns, 1024))
	var err error
	if e.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("loop engine: epoll: %w", err)
	}
	if e.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		unix.Close(e.ep)
		return nil, fmt.Errorf("loop engine: eventfd: %w", err)
	}
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_ADD, e.efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: loopEfd}); err != nil {
		e.end()
		return nil, fmt.Errorf("loop engine: epoll: %w", err)
	}
	return e, nil
}

// stop wakes the loop from any goroutine; the scheduler, already stopped, claims nothing more.
func (e *loopEngine) stop() { e.poke() }

// poke makes the loop's next wait return at once.
func (e *loopEngine) poke() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		one := uint64(1)
		_, _ = unix.Write(e.efd, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
}

// attack starts the scheduler's wake forwarder and returns next. The scheduler signals wake
// when a retry is queued or a closed-loop user becomes idle; the consumer does both, on the
// loop's own goroutine when it is the only group and there are no scrapes, and on another
// otherwise, so the signal goes through the eventfd either way.
func (e *loopEngine) attack() func() (outcome, bool) {
	go func() {
		for {
			select {
			case <-e.g.sched.wake:
				e.poke()
			case <-e.done:
				return
			}
		}
	}()
	return e.next
}

// next runs the loop until an outcome is ready, and delivers it; false once the scheduler
// said stop and every attempt taken has been delivered.
//
// Before each outcome it hands over, it sends what has come due: one turn of the loop can
// queue a response per connection, and without the look the attempts due while the consumer
// records them would wait for the whole queue (256 outcomes at ~2 µs each is half a
// millisecond of lag), with their connections idle.
func (e *loopEngine) next() (outcome, bool) {
	for {
		if e.qhead < len(e.queue) {
			if !e.stopping {
				e.send()
			}
			o := e.queue[e.qhead]
			e.queue[e.qhead] = outcome{}
			e.qhead++
			if e.qhead == len(e.queue) {
				e.queue, e.qhead = e.queue[:0], 0
			}
			return o, true
		}
		if e.finished {
			return outcome{}, false
		}
		e.step()
	}
}

// step sends what is due, waits once for something to happen (an answer, a dial, the next
// attempt's time, a deadline) and handles it.
func (e *loopEngine) step() {
	wait := e.send()
	if e.stopping && e.inflight == 0 {
		e.end()
		e.finished = true
		return
	}
	now := time.Now()
	timeout := loopMaxWait
	if wait >= 0 {
		timeout = min(timeout, wait)
	}
	if !e.nextSweep.IsZero() {
		timeout = max(min(timeout, e.nextSweep.Sub(now)), 0)
	}
	if len(e.queue) > e.qhead {
		timeout = 0 // outcomes are waiting: only look
	}
	n := e.wait(timeout)
	for _, ev := range e.events[:n] {
		if ev.Fd == loopEfd {
			e.wakeUp()
			continue
		}
		c := e.conns[ev.Fd]
		if c.state == lcConnecting {
			e.connected(c)
			continue
		}
		if ev.Events&unix.EPOLLOUT != 0 && c.state == lcWriting {
			e.write(c)
		}
		if ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) != 0 && c.state != lcFree && c.state != lcDialing {
			e.read(c)
		}
	}
	if now := time.Now(); !e.nextSweep.IsZero() && !now.Before(e.nextSweep) {
		e.sweep(now)
	}
}

// send claims and starts every attempt due, while fewer than maxConns are in flight. It returns
// how long until the next is due, or -1 when it cannot tell (at capacity, or stopping).
func (e *loopEngine) send() time.Duration {
	sc := e.g.sched
	for !e.stopping && e.inflight < e.maxConns {
		wait, claimed, done := sc.claim(sc.clock.Now())
		if done {
			e.stopping = true
			break
		}
		if !claimed {
			return wait
		}
		slot, ep, ok := e.g.take()
		if !ok {
			// Cannot happen: the loop takes once per claim of its own, right after it.
			e.queue = append(e.queue, outcome{err: errTickWithoutClaim.Error()})
			sc.stop()
			e.stopping = true
			break
		}
		e.start(slot, ep.index)
	}
	return -1
}

// start sends an attempt on an idle connection to its origin, or on one dialed for it.
func (e *loopEngine) start(slot uint32, ep int) {
	now := time.Now()
	o := e.origin[ep]
	e.inflight++
	c := e.idleConn(o, now)
	if c == nil {
		c = e.newConn(o)
		c.state = lcDialing
	}
	c.slot, c.sent, c.headReq = slot, now, e.heads[ep]
	c.req, c.wrote = e.reqs[ep], 0
	c.f.reset(c.headReq, now.Before(e.dateUntil), e.maxBody)
	c.deadline = time.Time{}
	if e.timeout > 0 {
		c.deadline = now.Add(e.timeout)
		e.sweepBy(c.deadline)
	}
	if c.state == lcDialing {
		if sa := e.direct[o]; sa != nil {
			e.connect(c, sa)
			return
		}
		go e.dial(c.idx, e.addrs[o], c.deadline)
		return
	}
	c.state = lcReading
	e.write(c)
}

// idleConn takes the newest idle connection to origin o that has not been idle too long.
func (e *loopEngine) idleConn(o int32, now time.Time) *loopConn {
	for l := e.idle[o]; len(l) > 0; l = e.idle[o] {
		c := e.conns[l[len(l)-1]]
		e.idle[o] = l[:len(l)-1]
		c.listed = false
		if c.state == lcIdle && now.Sub(c.idleAt) < fastIdleConn {
			return c
		}
		if c.state == lcIdle {
			e.closeConn(c)
		}
	}
	return nil
}

// newConn gives a loopConn no connection uses.
func (e *loopEngine) newConn(o int32) *loopConn {
	var c *loopConn
	if n := len(e.free); n > 0 {
		c = e.conns[e.free[n-1]]
		e.free = e.free[:n-1]
	} else {
		c = &loopConn{idx: int32(len(e.conns))}
		e.conns = append(e.conns, c)
	}
	c.origin, c.fd, c.nc = o, -1, nil
	return c
}

// dial opens a connection through the transport, on its own goroutine, within the attempt's
// deadline, and hands it to the loop.
func (e *loopEngine) dial(idx int32, addr string, deadline time.Time) {
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
	nc, err := e.tr.dial(ctx, "tcp", addr)
	cancel()
	d := loopDial{idx: idx, err: err}
	if err == nil {
		if d.fd, d.nc, d.err = detach(nc); d.err != nil {
			nc.Close()
		}
	}
	e.dials <- d
	e.poke()
}

// detach takes a transport's connection out of Go's poller and gives the loop its own
// descriptor for it: a duplicate, after which the Go connection is closed (which removes it
// from the runtime's epoll set). Left in, every response woke the runtime's poller as well as
// the loop's (6 % of a max-rate run's CPU in runtime.netpoll). A connection from the spares is
// kept, unclosed, for its Close: that is how the spares count it as gone.
func detach(nc net.Conn) (fd int, keep net.Conn, err error) {
	inner := nc
	if s, ok := nc.(*spareConn); ok {
		inner, keep = s.Conn, s
	}
	sc, ok := inner.(syscall.Conn)
	if !ok {
		return -1, nil, fmt.Errorf("loop engine: a %T has no file descriptor", inner)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, nil, err
	}
	fd = -1
	var derr error
	if err := rc.Control(func(f uintptr) { fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, nil, err
	}
	if derr != nil {
		return -1, nil, fmt.Errorf("loop engine: dup: %w", derr)
	}
	// The duplicate shares the socket's non-blocking mode, which Go set.
	inner.Close()
	return fd, keep, nil
}

// wakeUp handles the eventfd: the dials that ended (the scheduler's wake and stop need
// nothing more than the loop's next claim).
func (e *loopEngine) wakeUp() {
	var b [8]byte
	_, _ = unix.Read(e.efd, b[:])
	for {
		select {
		case d := <-e.dials:
			e.dialed(d)
		default:
			return
		}
	}
}

// dialed starts the attempt waiting for a dial, or fails it.
func (e *loopEngine) dialed(d loopDial) {
	c := e.conns[d.idx]
	if d.err != nil {
		e.dialFailed(c, d.err)
		return
	}
	c.nc, c.fd = d.nc, d.fd
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: d.idx}); err != nil {
		e.fail(c, fmt.Errorf("loop engine: epoll: %w", err))
		return
	}
	c.state = lcReading
	e.write(c)
}

// dialFailed delivers c's attempt as failed by its dial's err, as the other engines record a
// failed dial, and frees c.
func (e *loopEngine) dialFailed(c *loopConn, err error) {
	kind, msg := failure(err.Error())
	e.deliver(c, outcome{kind: kind, err: msg})
	if c.fd >= 0 {
		unix.Close(c.fd) // closing takes it out of the epoll set too: no other descriptor has it
	}
	e.release(c)
}

// directAddr is the socket address of route when the loop can connect to it itself: an IP
// address without a zone. A name is left to the transport, which resolves it on every dial.
func directAddr(route string) unix.Sockaddr {
	ap, err := netip.ParseAddrPort(route)
	if err != nil || ap.Addr().Zone() != "" {
		return nil
	}
	if a := ap.Addr().Unmap(); a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// connect opens c's connection to sa without blocking, on the loop itself, as wrk does: no
// goroutine, no round trip through Go's poller, and no descriptor to take out of it. A burst
// of attempts beyond the connections open (the backlog of a pause) dials dozens at once, and
// on a goroutine each those dials cost the loop's core what it needed to send. The attempt
// waits for EPOLLOUT (connected); its deadline covers the connect, as the dial's does.
func (e *loopEngine) connect(c *loopConn, sa unix.Sockaddr) {
	fam := unix.AF_INET
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		e.dialFailed(c, e.dialError(c, "socket", err))
		return
	}
	c.fd = fd
	// As net.Dialer{KeepAlive: 30s} sets up the transport's connections.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 30)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 30)
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		e.dialFailed(c, e.dialError(c, "connect", err))
		return
	}
	c.state = lcConnecting
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: c.idx}); err != nil {
		e.dialFailed(c, fmt.Errorf("loop engine: epoll: %w", err))
	}
}

// connected handles an event on a connecting c: the connect's outcome is the socket's error.
func (e *loopEngine) connected(c *loopConn) {
	errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && errno != 0 {
		err = syscall.Errno(errno)
	}
	if err != nil {
		e.dialFailed(c, e.dialError(c, "connect", err))
		return
	}
	e.tr.stats.conns.Add(1)
	c.state = lcReading
	e.watch(c, unix.EPOLLIN|unix.EPOLLRDHUP)
	if c.state == lcReading {
		e.write(c)
	}
}

// dialError is err as net.Dialer words it ("dial tcp 127.0.0.1:1: connect: connection
// refused"), so that a failed connect is recorded as on every other engine.
func (e *loopEngine) dialError(c *loopConn, call string, err error) error {
	return fmt.Errorf("dial tcp %s: %s: %w", e.addrs[c.origin], call, err)
}

// write writes what is left of c's request; a full socket buffer leaves the rest for
// EPOLLOUT.
func (e *loopEngine) write(c *loopConn) {
	for c.wrote < len(c.req) {
		// syscall's Write and Read, not x/sys/unix's: the race detector orders what a
		// process writes to a socket before what it reads from one through syscall's own
		// annotations, which the in-process test servers' connections use (x/sys/unix keeps a
		// separate record, so every test reading its server's state after a run raced).
		// A write to a closed connection fails with EPIPE: Go ignores the SIGPIPE for any
		// descriptor but standard output and error.
		n, err := syscall.Write(c.fd, c.req[c.wrote:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if c.state != lcWriting {
				c.state = lcWriting
				e.watch(c, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLOUT)
			}
			return
		case err != nil:
			e.fail(c, err)
			return
		}
		c.wrote += n
	}
	if c.state == lcWriting {
		e.watch(c, unix.EPOLLIN|unix.EPOLLRDHUP)
	}
	c.state = lcReading
}

func (e *loopEngine) watch(c *loopConn, events uint32) {
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: events, Fd: c.idx}); err != nil {
		e.fail(c, fmt.Errorf("loop engine: epoll: %w", err))
	}
}

// read reads what c has, and frames it.
func (e *loopEngine) read(c *loopConn) {
	n, err := syscall.Read(c.fd, e.buf) // syscall's, for the race detector (see write)
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if c.state == lcIdle {
		// No request is outstanding: the server closed the connection, or sent bytes nobody
		// asked for (the surplus of a body longer than its Content-Length). Either way it
		// carries no further request.
		e.closeConn(c)
		return
	}
	switch {
	case err != nil:
		e.fail(c, err)
	case n == 0:
		if ferr := c.f.eof(); ferr != nil {
			e.fail(c, ferr)
		} else {
			e.complete(c, false)
		}
	default:
		used, ferr := c.f.feed(e.buf[:n])
		switch {
		case ferr != nil:
			e.fail(c, ferr)
		case c.f.done():
			e.complete(c, used < n)
		}
	}
}

// complete delivers the response c has read whole. surplus: bytes followed it in the same read.
func (e *loopEngine) complete(c *loopConn, surplus bool) {
	f := &c.f
	if f.http10 {
		e.tr.stats.countProto(1, 0)
	} else {
		e.tr.stats.countProto(1, 1)
	}
	if surplus && f.hasBody {
		// As framedConn has the other engines do: the body ran past its Content-Length.
		e.fail(c, errBodyOverrun)
		return
	}
	o := outcome{code: uint16(f.code)}
	if o.kind = classify(o.code, f.text); o.kind != results.KindOK {
		o.err = f.text
	}
	if f.hasRetry {
		o.header = http.Header{"Retry-After": {string(f.retryAfter)}}
	}
	if f.hasDate {
		if string(f.date) != e.date {
			e.date = string(f.date)
		}
		o.date = e.date
	}
	end := e.deliver(c, o)
	if surplus || f.closeConn || !e.reuse || c.wrote < len(c.req) {
		e.closeConn(c)
		return
	}
	c.state, c.idleAt = lcIdle, end
	if !c.listed {
		e.idle[c.origin] = append(e.idle[c.origin], c.idx)
		c.listed = true
	}
	e.sweepBy(c.idleAt.Add(fastIdleConn))
}

// fail delivers c's attempt as failed by err, and closes c.
func (e *loopEngine) fail(c *loopConn, err error) {
	var o outcome
	var errno syscall.Errno
	var ne net.Error
	if errors.As(err, &errno) || errors.As(err, &ne) {
		// The socket's own failures (reset, broken pipe…) and the deadline: as fast records them.
		o.kind, o.err = fastError(err)
	} else {
		// The framer's (and the surplus check's) errors: whole messages that name their kind.
		o.kind, o.err = classifyError(err.Error()), err.Error()
	}
	e.deliver(c, o)
	e.closeConn(c)
}

// deliver queues c's attempt's outcome: o with the attempt's slot and times. It returns when
// the attempt ended.
func (e *loopEngine) deliver(c *loopConn, o outcome) time.Time {
	end := time.Now()
	o.slot, o.known, o.sent = c.slot, true, c.sent
	o.lat = end.Sub(c.sent)
	e.queue = append(e.queue, o)
	e.inflight--
	return end
}

// closeConn closes c's connection and frees c.
func (e *loopEngine) closeConn(c *loopConn) {
	if c.listed {
		// Closed while idle (by the server, or idle too long): out of its origin's list, which
		// therefore never holds more than the idle connections. Rare, so a scan is fine.
		l := e.idle[c.origin]
		for i, x := range l {
			if x == c.idx {
				e.idle[c.origin] = append(l[:i], l[i+1:]...)
				break
			}
		}
		c.listed = false
	}
	if c.fd >= 0 {
		_ = unix.EpollCtl(e.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
		unix.Close(c.fd)
	}
	if c.nc != nil {
		c.nc.Close()
	}
	e.release(c)
}

// release frees c (its connection closed or never opened).
func (e *loopEngine) release(c *loopConn) {
	c.state, c.nc, c.fd, c.req = lcFree, nil, -1, nil
	e.free = append(e.free, c.idx)
}

// sweepBy makes the next sweep come no later than t.
func (e *loopEngine) sweepBy(t time.Time) {
	if e.nextSweep.IsZero() || t.Before(e.nextSweep) {
		e.nextSweep = t
	}
}

// sweep fails the attempts past their deadline, closes the connections idle too long, and
// sets the next sweep to the earliest deadline or expiry left.
func (e *loopEngine) sweep(now time.Time) {
	e.nextSweep = time.Time{}
	for _, c := range e.conns {
		switch c.state {
		case lcConnecting, lcWriting, lcReading:
			switch {
			case c.deadline.IsZero():
			case !now.Before(c.deadline):
				e.fail(c, errLoopTimeout)
			default:
				e.sweepBy(c.deadline)
			}
		case lcDialing:
			// The dial's context has the deadline; its result fails the attempt.
		case lcIdle:
			if at := c.idleAt.Add(fastIdleConn); !now.Before(at) {
				e.closeConn(c)
			} else {
				e.sweepBy(at)
			}
		}
	}
}

// errLoopTimeout fails an attempt past its deadline; fastError records it as msgTimeout.
var errLoopTimeout = loopTimeout{}

type loopTimeout struct{}

func (loopTimeout) Error() string   { return "loop engine: deadline exceeded" }
func (loopTimeout) Timeout() bool   { return true }
func (loopTimeout) Temporary() bool { return true }

// wait waits up to d for events, and returns how many it put in events. epoll_pwait2 takes a
// timeout in nanoseconds; on a kernel without it, epoll_wait's milliseconds are rounded down
// and a wait under one is a 20 µs nanosleep after a look, as openloop's is.
func (e *loopEngine) wait(d time.Duration) int {
	if d > 0 {
		// The wait is a system call that keeps this goroutine's processor: let whatever is
		// runnable on it go first (see realClock.Wait), at most once a millisecond. At max
		// rate the loop waits between every few responses, and a yield each time was 10 % of
		// its CPU in the scheduler.
		if now := time.Now(); now.Sub(e.yielded) >= time.Millisecond {
			e.yielded = now
			runtime.Gosched()
		}
	}
	for {
		var n int
		var err error
		if e.pwait2 {
			ts := unix.NsecToTimespec(int64(d))
			r, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(e.ep), uintptr(unsafe.Pointer(&e.events[0])),
				uintptr(len(e.events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
			n = int(r)
			if errno == unix.ENOSYS {
				e.pwait2 = false
				continue
			}
			if errno != 0 {
				err = errno
			}
		} else {
			ms := int(d / time.Millisecond)
			n, err = unix.EpollWait(e.ep, e.events[:], ms)
			if err == nil && n == 0 && ms == 0 && d > 0 {
				_ = unix.Nanosleep(&unix.Timespec{Nsec: int64(min(d, 20*time.Microsecond))}, nil)
			}
		}
		if err == unix.EINTR {
			return 0
		}
		if err != nil {
			// Cannot happen with a valid epoll set; a pause keeps a broken one from spinning.
			time.Sleep(time.Millisecond)
			return 0
		}
		return n
	}
}

// end closes every connection and the loop's descriptors, and stops the wake forwarder.
func (e *loopEngine) end() {
	for _, c := range e.conns {
		if c.state != lcFree && c.state != lcDialing {
			e.closeConn(c)
		}
	}
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		unix.Close(e.efd)
		unix.Close(e.ep)
		close(e.done)
	}
	e.mu.Unlock()
}
