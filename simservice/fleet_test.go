package simservice

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

func fleetConfig() Config {
	cfg := testConfig(4, 5*time.Millisecond)
	cfg.Instances, cfg.InstancePool = 2, 2
	return cfg
}

// TestConnectionLimitRejectsAfterSetupWork: an attempt beyond the limit is rejected only
// after its set-up work, which holds an execution slot like a query.
func TestConnectionLimitRejectsAfterSetupWork(t *testing.T) {
	cfg := testConfig(1, 5*time.Millisecond)
	cfg.Instances, cfg.DBMaxConns, cfg.ConnectTime = 2, 1, 40*time.Millisecond
	exec := newDatabase(cfg.PoolSize(), 0, newService(cfg))
	t.Cleanup(exec.close)
	db := newDBServer(cfg, exec, context.Background())

	start := time.Now()
	if _, err := db.connect(); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	if took := time.Since(start); took < cfg.ConnectTime {
		t.Errorf("a connection took %v, less than its set-up work %v", took, cfg.ConnectTime)
	}
	start = time.Now()
	_, err := db.connect()
	if !errors.Is(err, errTooManyConns) {
		t.Fatalf("second connection: %v, want too many connections", err)
	}
	if took := time.Since(start); took < cfg.ConnectTime {
		t.Errorf("a rejected attempt took %v: the database rejected it before its set-up work (%v)", took, cfg.ConnectTime)
	}
	if st := db.stats(); st.conns != 1 || st.connects != 1 || st.rejected != 1 {
		t.Errorf("stats %+v, want 1 connection, 1 connect, 1 rejected", st)
	}
	db.setRefusing(true, false)
	start = time.Now()
	if _, err := db.connect(); !errors.Is(err, errDBRefusing) || time.Since(start) > cfg.ConnectTime/2 {
		t.Errorf("while refusing: %v after %v, want an immediate refusal", err, time.Since(start))
	}
}

// TestRemovedInstanceConnectionsLinger: the connections of a removed instance stay counted at
// the database for the release delay, then go.
func TestRemovedInstanceConnectionsLinger(t *testing.T) {
	cfg := fleetConfig()
	cfg.ConnReleaseDelay = 300 * time.Millisecond
	s := newServer(t, cfg)
	if fs := s.Stats().Fleet; fs.DBConns != 4 || fs.InService != 2 {
		t.Fatalf("fleet at start: %+v, want 2 instances holding 4 connections", fs)
	}
	s.fleet.mu.Lock()
	first := s.fleet.slots[0]
	s.fleet.mu.Unlock()
	s.fleet.remove(first)
	fs := s.Stats().Fleet
	if fs.DBConns != 4 || fs.DBConnsLingering != 2 || fs.InService != 1 || fs.Replacements != 1 {
		t.Fatalf("after removing one: %+v, want 4 connections of which 2 lingering, 1 in service", fs)
	}
	// Traffic goes to the instance left.
	for range 4 {
		if code := do(s, "/"); code != http.StatusOK {
			t.Fatalf("GET / = %d with one instance in service", code)
		}
	}
	time.Sleep(cfg.ConnReleaseDelay / 2)
	if fs := s.Stats().Fleet; fs.DBConnsLingering != 2 {
		t.Fatalf("lingering connections gone after half the release delay: %+v", fs)
	}
	waitStats(t, s, "the lingering connections to be released", func(st Stats) bool {
		return st.Fleet.DBConns == 2 && st.Fleet.DBConnsLingering == 0
	})
}

// TestFleetHealthChecks: a database that refuses connections (and dropped them) fails
// database health checks and the orchestrator replaces instances; process checks keep them.
// Either way requests fail while it refuses and succeed once it accepts again.
func TestFleetHealthChecks(t *testing.T) {
	for _, check := range []string{HealthCheckDB, HealthCheckProcess} {
		t.Run(check, func(t *testing.T) {
			cfg := fleetConfig()
			cfg.HealthInterval, cfg.HealthThreshold, cfg.HealthFailures = 20*time.Millisecond, 50*time.Millisecond, 2
			cfg.RestartDelay, cfg.HealthCheck = 30*time.Millisecond, check
			s := newServer(t, cfg)
			post(t, s, "/control/db", `{"refuse_connections": true, "drop_connections": true}`)
			if code := do(s, "/"); code != http.StatusInternalServerError {
				t.Errorf("GET / while the database refuses = %d, want 500", code)
			}
			time.Sleep(300 * time.Millisecond) // ~15 checks
			st := s.Stats()
			if check == HealthCheckDB && (st.Restarts == 0 || st.HealthFailed == 0) {
				t.Errorf("database checks: %d failed, %d replacements; want instances replaced", st.HealthFailed, st.Restarts)
			}
			if check == HealthCheckProcess && (st.Restarts != 0 || st.HealthFailed != 0 || st.HealthChecks == 0) {
				t.Errorf("process checks: %d checks, %d failed, %d replacements; want checks passing, no replacement", st.HealthChecks, st.HealthFailed, st.Restarts)
			}
			post(t, s, "/control/restore", `{}`)
			waitStats(t, s, "every instance healthy with its pool open", func(st Stats) bool {
				return st.Healthy && st.Fleet.DBConns == 4
			})
			if code := do(s, "/"); code != http.StatusOK {
				t.Errorf("GET / after the database is back = %d", code)
			}
		})
	}
}

// TestPoolShortOfConnectionsKeepsTrying: requests to an instance whose pool could not open
// connections each try to open one, so the database sees a stream of attempts.
func TestPoolShortOfConnectionsKeepsTrying(t *testing.T) {
	cfg := fleetConfig()
	cfg.DBMaxConns, cfg.ConnectTime = 4, 5*time.Millisecond
	s := newServer(t, cfg)
	s.fleet.mu.Lock()
	first := s.fleet.slots[0]
	s.fleet.mu.Unlock()
	s.fleet.remove(first) // its 2 connections linger forever (no release delay: released at once)
	// Fill the limit again so the replacement finds no room.
	s.fleet.db.preopen(2)
	repl := s.fleet.launch(0, 1)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); do(s, "/") }()
	}
	wg.Wait()
	waitStats(t, s, "the replacement's attempts to be rejected", func(st Stats) bool {
		return st.Fleet.DBConnectsRejected >= 4
	})
	if ps := repl.pool.stats(); ps.open > repl.pool.size || ps.failed == 0 {
		t.Errorf("replacement pool %+v: want failed opens and never more than its size", ps)
	}
}
