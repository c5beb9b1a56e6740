package simservice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP server limits. Load tests open and abandon connections by the thousand, so idle and
// header-reading connections must not pile up forever.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	// shutdownGrace bounds how long Stop waits for responses already being written before it
	// closes the remaining connections outright.
	shutdownGrace = 2 * time.Second
)

// Running is a target serving HTTP in the background.
type Running struct {
	// URL is the base address, e.g. http://127.0.0.1:41234.
	URL string
	// Server is the target behind it, for Stats.
	Server *Server

	http     *http.Server
	served   chan struct{} // closed when Serve has returned
	serveErr error         // written before served is closed
	stopped  chan struct{} // closed when Stop has finished

	stopOnce sync.Once
	stopErr  error
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves a new target until ctx is done or
// Stop is called.
func Start(ctx context.Context, addr string, cfg Config) (*Running, error) {
	return start(ctx, addr, cfg, nil)
}

// StartTLS is Start over TLS with the certificates of tlsConfig: HTTP/2 is negotiated by ALPN
// (HTTP/1.1 for clients that do not offer h2), and the goaway fault acts on the connections
// that speak h2, as it does on h2c ones without TLS.
func StartTLS(ctx context.Context, addr string, cfg Config, tlsConfig *tls.Config) (*Running, error) {
	if tlsConfig == nil || (len(tlsConfig.Certificates) == 0 && tlsConfig.GetCertificate == nil) {
		return nil, errors.New("target: TLS without a certificate")
	}
	return start(ctx, addr, cfg, tlsConfig)
}

func start(ctx context.Context, addr string, cfg Config, tlsConfig *tls.Config) (*Running, error) {
	srv, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("target: listen on %q: %w", addr, err)
	}
	ln = srv.limitListener(ln)
	scheme := "http://"
	if tlsConfig != nil {
		conf := tlsConfig.Clone()
		conf.NextProtos = []string{"h2", "http/1.1"}
		ln = tls.NewListener(ln, conf)
		scheme = "https://"
	}
	r := &Running{
		URL:    scheme + hostPort(ln.Addr()),
		Server: srv,
		http: &http.Server{
			Handler:           srv.handler(), // h2c and the goaway fault in front (fault.go)
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			// net/http logs per connection (accept errors, broken pipes, bad requests);
			// in a retry storm that is per-request logging, so it is dropped.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		served:  make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if tlsConfig != nil {
		// net/http hands a connection that negotiated h2 to this (serveH2, fault.go), which
		// puts the goaway fault in front of the http2 server.
		r.http.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){"h2": srv.serveH2}
	}
	go func() {
		defer close(r.served)
		if err := r.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			r.serveErr = fmt.Errorf("target: serve on %s: %w", ln.Addr(), err)
			srv.Close()
		}
	}()
	go func() {
		// Stop on cancellation, and also when Serve fails on its own so that the queue
		// is released and Done fires either way.
		select {
		case <-ctx.Done():
		case <-r.served:
		}
		_ = r.Stop() // the result stays available from Stop
	}()
	return r, nil
}

// limitListener counts the client connections ln hands out and, with Config.MaxClientConns,
// turns away those beyond the cap. A refused connection is accepted and closed straight away,
// before its request is read, as a database at max_connections accepts and then rejects a new
// connection: the client sees its connection closed (EOF or reset), not an HTTP status, and
// the connections already open keep working. Refusing at the door rather than with a 503 from
// the queue (QueueLimit does that) is what makes clients that reconnect after a timeout or a
// "Connection: close" find the door shut.
func (s *Server) limitListener(ln net.Listener) net.Listener {
	return &countingListener{Listener: ln, max: int64(s.cfg.MaxClientConns), open: &s.clientConns, refused: &s.refused}
}

type countingListener struct {
	net.Listener
	max     int64 // 0 = no cap
	open    *atomic.Int64
	refused *atomic.Uint64
}

// Accept returns the next connection within the cap. net/http calls it from one goroutine, but
// connections close concurrently, so the count is atomic.
func (l *countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.open.Add(1); l.max > 0 && n > l.max {
			l.open.Add(-1)
			l.refused.Add(1)
			_ = c.Close() // the refusal itself; there is nobody to report a close error to
			continue
		}
		return &countedConn{Conn: c, open: l.open}, nil
	}
}

// countedConn gives its slot back when it is closed, however many times that is.
type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// hostPort formats a listener address for a URL. A wildcard listen is reported as loopback,
// because "0.0.0.0" and "[::]" are not dialable everywhere.
func hostPort(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	return a.String() // TCPAddr.String already brackets IPv6 hosts
}

// Done is closed once the server has stopped: by Stop, by the context given to Start, or
// because serving failed. Stop then returns the error, if any.
func (r *Running) Done() <-chan struct{} { return r.stopped }

// Stop stops serving and returns once every handler has returned. It takes a bounded time
// however many requests are queued: the queue is released first, then connections get
// shutdownGrace to finish their responses before they are closed. Safe to call more than
// once; later calls return the first result.
func (r *Running) Stop() error {
	r.stopOnce.Do(func() {
		r.Server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		var errs []error
		if err := r.http.Shutdown(ctx); err != nil {
			// Some connections did not finish in time; cut them off.
			if cerr := r.http.Close(); cerr != nil {
				errs = append(errs, fmt.Errorf("target: close: %w", cerr))
			}
		}
		<-r.served
		if r.serveErr != nil {
			errs = append(errs, r.serveErr)
		}
		r.stopErr = errors.Join(errs...)
		close(r.stopped)
	})
	return r.stopErr
}
