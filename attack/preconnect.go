package attack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stormtest/stormtest/profiles"
)

// Connections dialed ahead of need (transport.preconnect, --preconnect N).
//
// At a fixed rate a generator needs few connections, until it falls behind: the backlog of a
// few milliseconds' pause goes out at once, one concurrent attempt per late one, and each
// attempt that finds no idle connection dials one. On a 2-core machine those dials, and the
// goroutines and buffers that come with them, are what stretch a 2 ms pause into a 100 ms
// stall (docs/performance.md). wrk never dials during a run: it opens all its connections
// before it starts. preconnect gives a run that choice without making it the default, since
// connections that carry no request hold slots in a target with a connection limit, and the
// connect time of a connection dialed ahead is in no attempt's service time.
//
// A spares keeps at least want connections open to each address it was given: the ones it
// holds (dialed ahead, not yet used) plus the ones it handed out that are still open. It
// hands out its newest connection first, closes one it has held for longer than idle (a
// server closes a connection that never sent a request on its own schedule, which would be
// recorded as a reset the target did not cause), and skips one the server has already closed.

// spareIdle is how long a connection dialed ahead is kept unused: as long as the fast engine
// keeps an idle connection, and for the same reason.
const spareIdle = fastIdleConn

// spareTick is how often the spares are topped up and the stale ones closed.
const spareTick = 100 * time.Millisecond

// spareDialers bounds the dials in flight while the spares are filled: a thousand
// connections to a staging service 20 ms away take a second, not twenty.
const spareDialers = 32

// spareBackoff is how long an address whose dial failed is left alone before the next try,
// so that a target that refuses connections is not dialed want times every tick.
const spareBackoff = time.Second

// preconnectTimeout bounds the dials before the first attempt: the longest client timeout
// of the profile's groups, as one dial of an attempt would be bounded, or 10 s.
func preconnectTimeout(p *profiles.Profile) time.Duration {
	d := time.Duration(0)
	for _, cl := range p.Groups() {
		d = max(d, time.Duration(cl.Timeout))
	}
	if d <= 0 {
		d = 10 * time.Second
	}
	return d
}

// spares holds the connections dialed ahead for one run. The engines' workers call get
// (through transport.dial) from their own goroutines, concurrently; the refill goroutine
// started by start tops the sets up; Run calls fill before the first attempt and close after
// the last.
type spares struct {
	want int
	idle time.Duration
	tick time.Duration
	dial func(ctx context.Context, network, addr string) (net.Conn, error) // a fresh connection

	mu   sync.Mutex
	sets map[string]*spareSet // by address, as the engines dial it

	stop context.CancelFunc // ends the refill goroutine
	done chan struct{}      // closed when it has ended
}

// spareSet is one address's connections.
type spareSet struct {
	addr    string
	ready   []spare   // dialed ahead and not handed out, oldest first
	open    int       // handed out and not yet closed
	retryAt time.Time // after a failed dial: no new one before this
}

type spare struct {
	c  net.Conn
	at time.Time // dialed
}

func newSpares(want int, addrs []string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *spares {
	s := &spares{want: want, idle: spareIdle, tick: spareTick, dial: dial, sets: map[string]*spareSet{}}
	for _, a := range addrs {
		s.sets[a] = &spareSet{addr: a}
	}
	return s
}

// get hands out a connection for addr: the newest one dialed ahead that is still fresh and
// open, or a new one. Either way it counts as open until it is closed. An address that was
// not preconnected (a redirect's) is dialed as usual.
func (s *spares) get(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	set := s.sets[addr]
	if set != nil {
		set.open++ // counted before the dial, so that the refill does not race it
	}
	s.mu.Unlock()
	if set == nil {
		return s.dial(ctx, network, addr)
	}
	c := s.take(set)
	if c == nil {
		var err error
		if c, err = s.dial(ctx, network, addr); err != nil {
			s.mu.Lock()
			set.open--
			s.mu.Unlock()
			return nil, err
		}
	}
	return &spareConn{Conn: c, s: s, set: set}, nil
}

// take pops set's newest held connection that is fresh and still open, or returns nil. One
// held past idle is closed (and so, in turn, are the older ones), and so is one the server
// closed, or wrote to unasked, while it waited: it would fail its attempt as a reset.
func (s *spares) take(set *spareSet) net.Conn {
	for {
		s.mu.Lock()
		n := len(set.ready)
		if n == 0 {
			s.mu.Unlock()
			return nil
		}
		sp := set.ready[n-1]
		set.ready = set.ready[:n-1]
		s.mu.Unlock()
		if time.Since(sp.at) <= s.idle && connAlive(sp.c) {
			return sp.c
		}
		sp.c.Close()
	}
}

// spareConn is a connection handed out by spares: its Close tells them it is gone.
type spareConn struct {
	net.Conn
	s    *spares
	set  *spareSet
	once sync.Once
}

func (c *spareConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.set.open--
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// fill dials every address's connections, spareDialers at a time, and returns when all are
// dialed, have failed, or ctx is done. A dial that fails is left to the run: its attempts
// dial as they would have, and record what the target does.
func (s *spares) fill(ctx context.Context) {
	var g errgroup.Group
	g.SetLimit(spareDialers)
	for set, n := range s.short() {
		for range n {
			g.Go(func() error {
				s.dialOne(ctx, set)
				return nil
			})
		}
	}
	g.Wait()
}

// short is how many connections each set is short of want.
func (s *spares) short() map[*spareSet]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[*spareSet]int{}
	for _, set := range s.sets {
		if n := s.want - set.open - len(set.ready); n > 0 {
			out[set] = n
		}
	}
	return out
}

// dialOne adds one connection to set, unless the address is backing off after a failure or
// ctx is done.
func (s *spares) dialOne(ctx context.Context, set *spareSet) bool {
	s.mu.Lock()
	wait := time.Now().Before(set.retryAt)
	s.mu.Unlock()
	if wait || ctx.Err() != nil {
		return false
	}
	c, err := s.dial(ctx, "tcp", set.addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		set.retryAt = time.Now().Add(spareBackoff)
		return false
	}
	set.ready = append(set.ready, spare{c: c, at: time.Now()})
	return true
}

// start tops the sets up every tick until close: connections the engines closed, and ready
// ones gone stale, are replaced.
func (s *spares) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.refill(ctx)
		}
	}()
}

// refill closes the ready connections held longer than idle and dials what each set is short.
func (s *spares) refill(ctx context.Context) {
	var stale []net.Conn
	s.mu.Lock()
	for _, set := range s.sets {
		keep := set.ready[:0]
		for _, sp := range set.ready {
			if time.Since(sp.at) > s.idle {
				stale = append(stale, sp.c)
			} else {
				keep = append(keep, sp)
			}
		}
		clear(set.ready[len(keep):])
		set.ready = keep
	}
	s.mu.Unlock()
	for _, c := range stale {
		c.Close()
	}
	for set, n := range s.short() {
		for range n {
			if !s.dialOne(ctx, set) {
				break
			}
		}
	}
}

// close stops the refill and closes every connection still held.
func (s *spares) close() {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.sets {
		for _, sp := range set.ready {
			sp.c.Close()
		}
		set.ready = nil
	}
}

// preconnectAddrs is where the run's connections go, as its engine dials them: one address
// per origin of the plan's endpoints. It refuses a run whose connections preconnect cannot
// usefully hold, naming why and what to do.
func preconnectAddrs(p *profiles.Profile, tr *transport, eng string, urls []string) ([]string, error) {
	n := tr.t.Preconnect
	for _, cl := range p.Groups() {
		if !cl.Reuses() {
			name := "the client"
			if cl.Name != "" {
				name = fmt.Sprintf("client group %q", cl.Name)
			}
			return nil, fmt.Errorf("--preconnect %d (transport.preconnect): %s does not reuse connections (keepalive: false), so a connection dialed ahead would carry one request; drop --preconnect or the keepalive setting", n, name)
		}
	}
	if tr.t.H2C {
		return nil, fmt.Errorf("--preconnect %d (transport.preconnect) keeps HTTP/1.1 connections ready, but h2c sends every request over one HTTP/2 connection; drop --preconnect", n)
	}
	seen := map[string]bool{}
	var addrs []string
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return nil, err
		}
		if u.Scheme == "https" && eng == engineStd && tr.http2() {
			return nil, fmt.Errorf("--preconnect %d (transport.preconnect) keeps HTTP/1.1 connections ready, but %s may negotiate HTTP/2, which sends every request over one connection; add --http1 (transport.http2: false), or drop --preconnect", n, origin(u))
		}
		if tr.proxy != nil {
			if pu, err := tr.proxy(&http.Request{URL: u}); err == nil && pu != nil {
				return nil, fmt.Errorf("--preconnect %d (transport.preconnect) dials the target itself, but requests to %s go through a proxy (--proxy, transport.proxy or the environment's HTTP_PROXY/HTTPS_PROXY); use --proxy none to go direct, or drop --preconnect", n, origin(u))
			}
		}
		if a := hostPort(u); !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("--preconnect: the run has no target to connect to")
	}
	return addrs, nil
}
