package ownmetrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server serves a run's registry on /metrics (Prometheus text or OpenMetrics, as the scraper
// asks) from goroutines of its own. It remembers when it was last scraped, so that the CLI can
// keep it up after a run until Prometheus has taken the final figures.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}

	mu       sync.Mutex
	scraped  time.Time     // when the last /metrics response began
	scrapeCh chan struct{} // closed and replaced at every scrape
}

// Serve listens on addr (host:port; port 0 picks a free one) and serves reg. The listen
// error comes back at once, so a taken or malformed address is bad input before any load.
func Serve(addr string, reg *prometheus.Registry) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s: %w", addr, err)
	}
	s := &Server{ln: ln, done: make(chan struct{}), scrapeCh: make(chan struct{})}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector that fails leaves the others served rather than the whole scrape.
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	mux := http.NewServeMux()
	mux.Handle("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The figures are gathered after this instant: a scrape that began before the run
		// ended does not count as having taken the final ones.
		began := time.Now()
		metrics.ServeHTTP(w, r)
		s.mu.Lock()
		s.scraped = began
		close(s.scrapeCh)
		s.scrapeCh = make(chan struct{})
		s.mu.Unlock()
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "stormtest: the run's metrics are at /metrics")
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ends with ErrServerClosed at Close
	}()
	return s, nil
}

// Addr is the address the server listens on (with the port chosen, for port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// WaitScrape waits until /metrics has been served after since (the run's end), for at most
// d or until ctx ends; it says whether that scrape happened.
func (s *Server) WaitScrape(ctx context.Context, since time.Time, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		last, next := s.scraped, s.scrapeCh
		s.mu.Unlock()
		if last.After(since) {
			return true
		}
		select {
		case <-next:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Close stops serving, letting a scrape under way finish for up to a second.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	return err
}
