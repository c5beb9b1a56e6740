package simservice

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The control endpoints change the target while it runs, as chaos tooling changes a real
// service: the capacity in effect, whether the database takes new connections, added query
// latency, and restore. They are what a profile's triggers (and `stormtest capacity
// --trigger capacity-drop`) call. Every change is logged with its time and shown in /stats.
//
//	POST /control/capacity  {"fraction": 0.2}
//	POST /control/db        {"refuse_connections": true, "drop_connections": true}   (fleet only)
//	POST /control/latency   {"add": "200ms"}
//	POST /control/restore   {}
//	GET  /control           the state and the log
//
// Each POST answers 200 with {"change": …, "state": …}; bad input answers 400 (405 for a
// wrong method, 404 for an unknown path, 409 for /control/db on a single instance) with
// {"error": "one line"}.

// MaxAddedLatency bounds /control/latency: far beyond any client timeout.
const MaxAddedLatency = time.Hour

// maxControlLog is how many changes /stats keeps; older ones are counted, not shown.
const maxControlLog = 100

// maxControlBody bounds a control request's body.
const maxControlBody = 64 << 10

// ControlChange is one change made through /control, as /stats and /control show it.
type ControlChange struct {
	At time.Time `json:"at"`
	// Seconds is the time since the target started.
	Seconds float64 `json:"t_s"`
	Change  string  `json:"change"`
}

// ControlState is what the control endpoints have set.
type ControlState struct {
	CapacityFraction float64 `json:"capacity_fraction"`
	DBRefusing       bool    `json:"db_refusing"`
	AddedLatencyMS   float64 `json:"added_latency_ms"`
}

// controls holds the control state and its log. The endpoints call it from the HTTP server's
// goroutines; Stats reads it from any goroutine.
type controls struct {
	started time.Time

	mu      sync.Mutex
	state   ControlState
	log     []ControlChange
	changes uint64
}

func (c *controls) record(now time.Time, change string, st ControlState) ControlChange {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = st
	c.changes++
	ch := ControlChange{At: now.UTC(), Seconds: now.Sub(c.started).Seconds(), Change: change}
	c.log = append(c.log, ch)
	if len(c.log) > maxControlLog {
		c.log = c.log[len(c.log)-maxControlLog:]
	}
	return ch
}

func (c *controls) snapshot() (ControlState, []ControlChange, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, append([]ControlChange{}, c.log...), c.changes
}

// serveControl routes /control and /control/….
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "/control" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			controlError(w, http.StatusMethodNotAllowed, "GET /control shows the state; changes are POSTed to /control/capacity, /control/db, /control/latency or /control/restore")
			return
		}
		st, log, n := s.ctl.snapshot()
		writeJSON(w, http.StatusOK, map[string]any{"state": st, "changes": n, "log": log})
		return
	}
	var apply func(body []byte) (string, int, error)
	switch path {
	case "/control/capacity":
		apply = s.controlCapacity
	case "/control/db":
		apply = s.controlDB
	case "/control/latency":
		apply = s.controlLatency
	case "/control/restore":
		apply = func([]byte) (string, int, error) { return s.restore(), 0, nil }
	default:
		controlError(w, http.StatusNotFound, fmt.Sprintf("no control endpoint %s (expected /control/capacity, /control/db, /control/latency or /control/restore)", r.URL.Path))
		return
	}
	if r.Method != http.MethodPost {
		controlError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: control changes are POSTed with a JSON body", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody+1))
	if err != nil {
		controlError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	if len(body) > maxControlBody {
		controlError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body above %d bytes", maxControlBody))
		return
	}
	change, code, err := apply(body)
	if err != nil {
		if code == 0 {
			code = http.StatusBadRequest
		}
		controlError(w, code, err.Error())
		return
	}
	st, _, _ := s.ctl.snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"change": change, "state": st})
}

func controlError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeControl reads a JSON object into v, strictly: an unknown field is a typo.
func decodeControl(body []byte, v any, expected string) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return fmt.Errorf("empty body (expected %s)", expected)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %v (expected %s)", err, expected)
	}
	return nil
}

func (s *Server) controlCapacity(body []byte) (string, int, error) {
	const expected = `{"fraction": F} with F in (0, 1]`
	var req struct {
		Fraction *float64 `json:"fraction"`
	}
	if err := decodeControl(body, &req, expected); err != nil {
		return "", 0, err
	}
	if req.Fraction == nil {
		return "", 0, errors.New("no fraction (expected " + expected + ")")
	}
	f := *req.Fraction
	if !(f > 0 && f <= 1) {
		return "", 0, fmt.Errorf("fraction %g is not in (0, 1] (expected %s)", f, expected)
	}
	return s.setCapacity(f), 0, nil
}

// setCapacity puts a fraction of the configured database capacity in effect: the pool of a
// single instance, the execution slots of a fleet's database. Running queries finish; the
// slots beyond the new size are retired as they are released.
func (s *Server) setCapacity(f float64) string {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	st, _, _ := s.ctl.snapshot()
	before := st.CapacityFraction
	size := max(1, int(math.Round(float64(s.cfg.DBConns)*f)))
	s.db.resize(size)
	st.CapacityFraction = f
	return s.ctl.record(time.Now(), fmt.Sprintf("capacity fraction %g -> %g (%d of %d connections)", before, f, size, s.cfg.DBConns), st).Change
}

func (s *Server) controlDB(body []byte) (string, int, error) {
	const expected = `{"refuse_connections": true|false, "drop_connections": true|false}`
	var req struct {
		Refuse *bool `json:"refuse_connections"`
		Drop   bool  `json:"drop_connections"`
	}
	if err := decodeControl(body, &req, expected); err != nil {
		return "", 0, err
	}
	if req.Refuse == nil {
		return "", 0, errors.New("no refuse_connections (expected " + expected + ")")
	}
	if s.fleet == nil {
		return "", http.StatusConflict, errors.New("a single-instance target opens no database connections; start it with --instances 2 or more to refuse them")
	}
	return s.setRefusing(*req.Refuse, req.Drop), 0, nil
}

func (s *Server) setRefusing(refuse, drop bool) string {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	st, _, _ := s.ctl.snapshot()
	s.fleet.db.setRefusing(refuse, drop)
	st.DBRefusing = refuse
	change := "database accepts new connections"
	if refuse {
		change = "database refuses new connections"
	}
	if drop {
		change += ", every connection dropped"
	}
	return s.ctl.record(time.Now(), change, st).Change
}

func (s *Server) controlLatency(body []byte) (string, int, error) {
	const expected = `{"add": "200ms"}, a duration from 0s to 1h`
	var req struct {
		Add *string `json:"add"`
	}
	if err := decodeControl(body, &req, expected); err != nil {
		return "", 0, err
	}
	if req.Add == nil {
		return "", 0, errors.New("no add (expected " + expected + ")")
	}
	d, err := time.ParseDuration(*req.Add)
	if err != nil || d < 0 || d > MaxAddedLatency {
		return "", 0, fmt.Errorf("add %q is not a duration from 0s to 1h (expected %s)", *req.Add, expected)
	}
	return s.setLatency(d), 0, nil
}

// setLatency adds d to every query from now on; it holds the connection (or execution slot)
// like the query itself.
func (s *Server) setLatency(d time.Duration) string {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	st, _, _ := s.ctl.snapshot()
	before := time.Duration(st.AddedLatencyMS * float64(time.Millisecond))
	s.db.setExtra(d)
	st.AddedLatencyMS = ms(d)
	return s.ctl.record(time.Now(), fmt.Sprintf("added query latency %s -> %s", before, d), st).Change
}

// restore undoes every control change: the configured capacity, a database accepting
// connections, no added latency.
func (s *Server) restore() string {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	s.db.resize(s.cfg.PoolSize())
	s.db.setExtra(0)
	if s.fleet != nil {
		s.fleet.db.setRefusing(false, false)
	}
	st := ControlState{CapacityFraction: s.cfg.CapacityFraction}
	return s.ctl.record(time.Now(), "restored: configured capacity, database accepting connections, no added latency", st).Change
}
