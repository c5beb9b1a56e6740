package simservice

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// post sends a control request to s in-process and returns the status and decoded answer.
func post(t *testing.T, s *Server, path, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("POST %s %s: answer %q is not JSON: %v", path, body, rec.Body.String(), err)
	}
	return rec.Code, out
}

func TestControlEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		fleet     bool
		path      string
		body      string
		wantCode  int
		wantError string // a substring of the one-line error
		check     func(t *testing.T, st Stats)
	}{
		{name: "capacity cut", path: "/control/capacity", body: `{"fraction": 0.25}`, wantCode: 200,
			check: func(t *testing.T, st Stats) {
				if st.PoolSize != 1 || st.CapacityFraction != 0.25 {
					t.Errorf("pool %d, fraction %g; want 1 of 4 connections, 0.25", st.PoolSize, st.CapacityFraction)
				}
			}},
		{name: "latency", path: "/control/latency", body: `{"add": "150ms"}`, wantCode: 200,
			check: func(t *testing.T, st Stats) {
				if st.AddedLatencyMS != 150 {
					t.Errorf("added latency %g ms, want 150", st.AddedLatencyMS)
				}
			}},
		{name: "refuse on a fleet", fleet: true, path: "/control/db", body: `{"refuse_connections": true, "drop_connections": true}`, wantCode: 200,
			check: func(t *testing.T, st Stats) {
				if !st.DBRefusing || st.Fleet.DBConns != 0 || st.Fleet.DBConnsDropped != 4 {
					t.Errorf("refusing %v, db conns %d, dropped %d; want true, 0, 4", st.DBRefusing, st.Fleet.DBConns, st.Fleet.DBConnsDropped)
				}
			}},
		{name: "restore", path: "/control/restore", body: `{}`, wantCode: 200,
			check: func(t *testing.T, st Stats) {
				if st.PoolSize != 4 || st.CapacityFraction != 1 || st.AddedLatencyMS != 0 {
					t.Errorf("after restore: pool %d, fraction %g, latency %g", st.PoolSize, st.CapacityFraction, st.AddedLatencyMS)
				}
			}},
		{name: "refuse on a single instance", path: "/control/db", body: `{"refuse_connections": true}`, wantCode: 409, wantError: "--instances 2"},
		{name: "fraction out of range", path: "/control/capacity", body: `{"fraction": 1.5}`, wantCode: 400, wantError: "not in (0, 1]"},
		{name: "fraction missing", path: "/control/capacity", body: `{}`, wantCode: 400, wantError: "no fraction"},
		{name: "misspelt field", path: "/control/capacity", body: `{"fracton": 0.5}`, wantCode: 400, wantError: "unknown field"},
		{name: "not JSON", path: "/control/latency", body: `add=1s`, wantCode: 400, wantError: "bad JSON"},
		{name: "latency without a unit", path: "/control/latency", body: `{"add": "150"}`, wantCode: 400, wantError: "not a duration"},
		{name: "unknown endpoint", path: "/control/cpu", body: `{}`, wantCode: 404, wantError: "no control endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(4, time.Millisecond)
			if tt.fleet {
				cfg.Instances, cfg.InstancePool = 2, 2
			}
			s := newServer(t, cfg)
			code, out := post(t, s, tt.path, tt.body)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %v", code, tt.wantCode, out)
			}
			if tt.wantError != "" {
				msg, _ := out["error"].(string)
				if !strings.Contains(msg, tt.wantError) || strings.Contains(msg, "\n") {
					t.Fatalf("error %q, want one line containing %q", msg, tt.wantError)
				}
				if s.Stats().ControlChanges != 0 {
					t.Errorf("a refused change was logged")
				}
				return
			}
			st := s.Stats()
			tt.check(t, st)
			if st.ControlChanges != 1 || st.LastControl == nil || st.LastControl.Change != out["change"] {
				t.Errorf("log: %d changes, last %+v; want the one change %q", st.ControlChanges, st.LastControl, out["change"])
			}
			if st.LastControl != nil && (st.LastControl.Seconds < 0 || time.Since(st.LastControl.At) > time.Minute) {
				t.Errorf("change logged at %+v, not now", st.LastControl)
			}
		})
	}
}

// TestControlLogInStats checks /stats and GET /control show every change with its time.
func TestControlLogInStats(t *testing.T) {
	s := newServer(t, testConfig(4, time.Millisecond))
	post(t, s, "/control/capacity", `{"fraction": 0.5}`)
	post(t, s, "/control/restore", `{}`)
	for _, path := range []string{"/stats", "/control"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var out struct {
			Controls []ControlChange `json:"controls"`
			Log      []ControlChange `json:"log"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		log := append(out.Controls, out.Log...)
		if len(log) != 2 || !strings.Contains(log[0].Change, "0.5") || !strings.HasPrefix(log[1].Change, "restored") ||
			log[1].At.Before(log[0].At) {
			t.Errorf("GET %s log = %+v, want the cut then the restore, in order", path, log)
		}
	}
}

// TestCapacityCutSlowsTheService checks the cut is real: 8 concurrent 20 ms queries take two
// rounds on 4 connections and eight on the 1 left by a 25 % capacity.
func TestCapacityCutSlowsTheService(t *testing.T) {
	s := newServer(t, testConfig(4, 20*time.Millisecond))
	burst := func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); do(s, "/") }()
		}
		wg.Wait()
		return time.Since(start)
	}
	full := burst()
	post(t, s, "/control/capacity", `{"fraction": 0.25}`)
	cut := burst()
	post(t, s, "/control/latency", `{"add": "20ms"}`)
	slow := burst()
	if full > 120*time.Millisecond || cut < 160*time.Millisecond || slow < 320*time.Millisecond {
		t.Errorf("8 queries took %v on 4 connections (want < 120ms), %v on 1 (want ≥ 160ms), %v with 20 ms added (want ≥ 320ms)", full, cut, slow)
	}
}
