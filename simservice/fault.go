package simservice

// Fault injection: the built-in service misbehaving on purpose, the way broken services and
// middleboxes do, so that a load generator can be checked against every one of them. Unlike
// the mechanisms of the rest of the package, a fault is not emergent: a share of requests is
// picked at random and answered by the chosen fault instead of the workload.
//
// Faults are set by Server.SetFaults (serve --fault, --fault-share) and at run time through
// the /control/fault endpoint (GET shows the setting and how many of each were injected, PUT
// or POST a JSON FaultSpec replaces it). The HTTP/1 faults take the connection over
// (http.Hijacker) and write raw bytes; on an HTTP/2 stream, where nothing can be hijacked,
// those end the stream with RST_STREAM instead. The goaway fault acts on HTTP/2 connections
// as they open, h2c (prior knowledge) or h2 over TLS (StartTLS): the service answers their first request with a
// GOAWAY frame and closes them, so that a client which retries on a new connection meets
// another GOAWAY with the same chance.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// Fault is one way of misbehaving.
type Fault string

// Faults.
const (
	FaultReset         Fault = "reset"         // headers and part of the body, then a TCP reset
	FaultHang          Fault = "hang"          // accept the request and never answer
	FaultSlowloris     Fault = "slowloris"     // the response one byte per second
	FaultHugeBody      Fault = "huge-body"     // a 1 GiB body, as fast as the client reads
	FaultEndlessBody   Fault = "endless-body"  // a chunked body that never ends
	FaultGarbage       Fault = "garbage"       // random bytes instead of an HTTP response
	FaultCloseEarly    Fault = "close"         // close the connection before any header
	FaultLyingLength   Fault = "lying-length"  // Content-Length 1 MiB, 1 KiB sent, then close
	FaultRedirectLoop  Fault = "redirect-loop" // 302 to the same URL, forever
	FaultNoContinue    Fault = "no-continue"   // 100 Continue, then never a final response
	FaultGoAway        Fault = "goaway"        // h2c or h2: GOAWAY on the connection's first request
	hugeBodyBytes            = 1 << 30
	lyingLengthClaimed       = 1 << 20
	lyingLengthSent          = 1 << 10
	slowlorisInterval        = time.Second
)

// AllFaults lists every fault, in the order help and documentation name them.
func AllFaults() []Fault {
	return []Fault{FaultReset, FaultHang, FaultSlowloris, FaultHugeBody, FaultEndlessBody, FaultGarbage,
		FaultCloseEarly, FaultLyingLength, FaultRedirectLoop, FaultNoContinue, FaultGoAway}
}

// FaultSpec is which faults a Server injects, and into what share of requests.
type FaultSpec struct {
	Kinds []Fault `json:"kinds"`
	// Share is the fraction of requests, in [0,1], answered by a fault (one of Kinds, drawn
	// uniformly); for goaway, the fraction of HTTP/2 connections (h2c, or h2 over TLS).
	Share float64 `json:"share"`
}

// ParseFaults reads a comma-separated list of fault names ("reset,hang"); "all" is every one.
func ParseFaults(list string) ([]Fault, error) {
	var out []Fault
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case name == "all":
			out = append(out, AllFaults()...)
		case slices.Contains(AllFaults(), Fault(name)):
			out = append(out, Fault(name))
		default:
			return nil, fmt.Errorf("unknown fault %q (expected a comma-separated list of %s, or all)", name, faultNames())
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func faultNames() string {
	names := make([]string, 0, len(AllFaults()))
	for _, f := range AllFaults() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// Validate checks the names and the share.
func (f FaultSpec) Validate() error {
	for _, k := range f.Kinds {
		if !slices.Contains(AllFaults(), k) {
			return fmt.Errorf("unknown fault %q (expected one of %s)", k, faultNames())
		}
	}
	if !(f.Share >= 0 && f.Share <= 1) {
		return fmt.Errorf("fault share %v is outside [0,1] (expected a fraction of requests, e.g. 0.1)", f.Share)
	}
	if f.Share > 0 && len(f.Kinds) == 0 {
		return errors.New("fault share without faults (name them with --fault KIND[,KIND])")
	}
	return nil
}

// faults is a Server's fault injector. ServeHTTP consults it from net/http's handler
// goroutines, SetFaults and /control/fault change it at any time: the spec is swapped whole
// under a mutex, the counts are atomic.
type faults struct {
	mu   sync.Mutex
	spec FaultSpec
	rng  *rand.Rand

	injected map[Fault]*atomic.Uint64 // fixed keys: every fault
}

func newFaults(seed uint64) *faults {
	f := &faults{rng: rand.New(rand.NewPCG(seed, 0xfa17)), injected: map[Fault]*atomic.Uint64{}}
	for _, k := range AllFaults() {
		f.injected[k] = new(atomic.Uint64)
	}
	return f
}

// SetFaults replaces the faults the server injects. Safe to call while serving.
func (s *Server) SetFaults(spec FaultSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.spec = FaultSpec{Kinds: slices.Clone(spec.Kinds), Share: spec.Share}
	return nil
}

// FaultsInjected returns how many times each fault was injected.
func (s *Server) FaultsInjected() map[Fault]uint64 {
	out := map[Fault]uint64{}
	for k, n := range s.faults.injected {
		out[k] = n.Load()
	}
	return out
}

// redirectLoopParam marks the URL a redirect-loop fault redirects to.
const redirectLoopParam = "stormtest_redirect_loop"

// pick draws the fault for one request: "" (serve it normally) with probability 1-share.
// goaway is never picked per request: it acts on connections (pickGoAway). A request that
// followed a redirect-loop redirect is redirected again.
func (f *faults) pick(r *http.Request) Fault {
	if r.URL.RawQuery != "" && r.URL.Query().Has(redirectLoopParam) {
		return FaultRedirectLoop
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := f.spec.Kinds
	if i := slices.Index(kinds, FaultGoAway); i >= 0 {
		kinds = slices.Delete(slices.Clone(kinds), i, i+1)
	}
	if len(kinds) == 0 || f.spec.Share == 0 || f.rng.Float64() >= f.spec.Share {
		return ""
	}
	return kinds[f.rng.IntN(len(kinds))]
}

func (f *faults) pickGoAway() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.spec.Kinds, FaultGoAway) && f.rng.Float64() < f.spec.Share
}

// handler is what Start serves: the Server behind h2c (so that HTTP/2 with prior knowledge
// works without TLS, as attack's transport.h2c speaks it), with the goaway fault in front of
// h2c's takeover of a connection.
func (s *Server) handler() http.Handler {
	h2 := h2c.NewHandler(s, &http2.Server{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PRI" && r.URL.Path == "*" && r.ProtoMajor == 2 && s.faults.pickGoAway() {
			s.faults.injected[FaultGoAway].Add(1)
			s.goAway(w)
			return
		}
		h2.ServeHTTP(w, r)
	})
}

// controlFault serves /control/fault.
func (s *Server) controlFault(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut, http.MethodPost:
		var spec FaultSpec
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad fault spec: " + strings.ReplaceAll(err.Error(), "\n", " ") +
				` (expected {"kinds": ["reset", …], "share": 0.1})`})
			return
		}
		if err := s.SetFaults(spec); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	default:
		w.Header().Set("Allow", "GET, PUT, POST")
		http.Error(w, "method not allowed (GET shows the faults, PUT or POST sets them)", http.StatusMethodNotAllowed)
		return
	}
	s.faults.mu.Lock()
	spec := FaultSpec{Kinds: slices.Clone(s.faults.spec.Kinds), Share: s.faults.spec.Share}
	s.faults.mu.Unlock()
	if spec.Kinds == nil {
		spec.Kinds = []Fault{}
	}
	writeJSON(w, http.StatusOK, struct {
		FaultSpec
		Injected map[Fault]uint64 `json:"injected"`
	}{spec, s.FaultsInjected()})
}

// serveFault answers one request with fault k. It returns once the fault is over: the
// client went away, the server is stopping, or the fault ran its course.
func (s *Server) serveFault(k Fault, w http.ResponseWriter, r *http.Request) {
	s.faults.injected[k].Add(1)
	switch k {
	case FaultRedirectLoop:
		// The Location carries a marker, so that following it lands here again whatever
		// the share: a loop, not a detour.
		u := *r.URL
		q := u.Query()
		q.Set(redirectLoopParam, "1")
		u.RawQuery = q.Encode()
		w.Header().Set("Location", u.RequestURI())
		w.WriteHeader(http.StatusFound)
		return
	case FaultHugeBody, FaultEndlessBody:
		if k == FaultHugeBody {
			w.Header().Set("Content-Length", fmt.Sprint(hugeBodyBytes))
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		s.writeZeros(r.Context(), w, k == FaultHugeBody)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok || r.ProtoMajor != 1 {
		// HTTP/2: the stream is all there is to break.
		switch k {
		case FaultHang, FaultNoContinue:
			if k == FaultNoContinue {
				w.WriteHeader(http.StatusContinue)
			}
			s.holdUntilGone(r.Context())
			return
		case FaultSlowloris:
			w.WriteHeader(http.StatusOK)
			s.trickle(r.Context(), w)
			return
		}
		panic(http.ErrAbortHandler) // RST_STREAM; net/http does not log this one
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	// A hijacked connection is no longer the http.Server's to close on shutdown.
	ctx, cancel := context.WithCancel(s.stop)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	s.rawFault(ctx, k, conn, buf.Writer)
}

// rawFault writes fault k on a hijacked HTTP/1 connection.
func (s *Server) rawFault(ctx context.Context, k Fault, conn net.Conn, w *bufio.Writer) {
	switch k {
	case FaultReset:
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4096\r\n\r\n%s", strings.Repeat("x", 512))
		_ = w.Flush()
		if tc, ok := unwrapTCP(conn); ok {
			_ = tc.SetLinger(0) // close with RST instead of FIN
		}
	case FaultHang:
		waitClosed(conn)
	case FaultNoContinue:
		_, _ = w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		_ = w.Flush()
		waitClosed(conn)
	case FaultSlowloris:
		resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\nok, eventually.\n"
		t := time.NewTicker(slowlorisInterval)
		defer t.Stop()
		for i := 0; i < len(resp); i++ {
			if _, err := conn.Write([]byte{resp[i]}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	case FaultGarbage:
		junk := make([]byte, 512)
		s.faults.mu.Lock()
		for i := range junk {
			junk[i] = byte(s.faults.rng.IntN(256))
		}
		s.faults.mu.Unlock()
		junk[0] = 0xff // never "HTTP/"
		_, _ = w.Write(junk)
		_ = w.Flush()
	case FaultCloseEarly:
		// The deferred Close does it.
	case FaultLyingLength:
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", lyingLengthClaimed, strings.Repeat("y", lyingLengthSent))
		_ = w.Flush()
	}
}

// unwrapTCP finds the *net.TCPConn under the listener's counting wrapper.
func unwrapTCP(c net.Conn) (*net.TCPConn, bool) {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case *countedConn:
			c = v.Conn
		default:
			return nil, false
		}
	}
}

// waitClosed reads and drops whatever the client sends until it closes the connection (or
// the deferred shutdown closes it).
func waitClosed(conn net.Conn) { _, _ = io.Copy(io.Discard, conn) }

func (s *Server) holdUntilGone(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.stop.Done():
	}
}

// writeZeros writes a body of zeros: 1 GiB (Content-Length set by the caller) or forever.
// It stops at the first write error, which is how a client that stops reading ends it.
func (s *Server) writeZeros(ctx context.Context, w http.ResponseWriter, huge bool) {
	chunk := make([]byte, 64<<10)
	left := int64(hugeBodyBytes)
	for !huge || left > 0 {
		if ctx.Err() != nil || s.stop.Err() != nil {
			return
		}
		n := int64(len(chunk))
		if huge {
			n = min(n, left)
			left -= n
		}
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
	}
}

// trickle writes a short body one byte per second (slowloris on an HTTP/2 stream).
func (s *Server) trickle(ctx context.Context, w http.ResponseWriter) {
	fl, _ := w.(http.Flusher)
	t := time.NewTicker(slowlorisInterval)
	defer t.Stop()
	for _, b := range []byte("ok, eventually.\n") {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.stop.Done():
			return
		case <-t.C:
		}
	}
}

// goAway takes over an h2c connection whose preface net/http has just read as a "PRI *"
// request and hands it to goAwayConn.
func (s *Server) goAway(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	// The rest of the client preface, after the "PRI * HTTP/2.0\r\n\r\n" request line.
	rest := make([]byte, len("SM\r\n\r\n"))
	if _, err := io.ReadFull(buf, rest); err != nil || string(rest) != "SM\r\n\r\n" {
		return
	}
	goAwayConn(conn, buf)
}

// serveH2 serves a TLS connection that negotiated h2: with the goaway fault's share it gets
// GOAWAY (goAwayConn), otherwise the http2 server serves it as net/http would have.
func (s *Server) serveH2(hs *http.Server, c *tls.Conn, h http.Handler) {
	if !s.faults.pickGoAway() {
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Context: context.Background(), BaseConfig: hs, Handler: h})
		return
	}
	s.faults.injected[FaultGoAway].Add(1)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	goAwayConn(c, c)
}

// goAwayConn answers an HTTP/2 client, whose preface has been read from r, with the server's
// settings, acknowledges the client's, answers its first request with GOAWAY naming that
// request as the last stream, and returns without answering it; the caller closes conn.
func goAwayConn(conn io.Writer, r io.Reader) {
	fr := http2.NewFramer(conn, r)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if fr.WriteSettingsAck() != nil {
					return
				}
			}
		case *http2.HeadersFrame:
			// Last stream = this request's: the client must take it as possibly processed
			// and fail it, rather than retry it on a new connection without a word (which
			// it does for a stream above the last, until its timeout).
			_ = fr.WriteGoAway(f.StreamID, http2.ErrCodeNo, []byte("stormtest fault goaway"))
			return
		}
	}
}
