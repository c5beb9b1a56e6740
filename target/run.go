package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
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
	srv, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("target: listen on %q: %w", addr, err)
	}
	r := &Running{
		URL:    "http://" + hostPort(ln.Addr()),
		Server: srv,
		http: &http.Server{
			Handler:           srv,
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
