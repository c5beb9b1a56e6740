package simservice

import (
	"context"
	"time"
)

// Health states, as /healthz reports them.
const (
	stateOK         = "ok"
	stateFailing    = "failing"    // the last health check failed
	stateRestarting = "restarting" // down: queue dropped, waiting out RestartDelay
)

// lifecycle is the instance's health and restart state. gen counts restarts: a request
// remembers the generation it entered in, and one that finishes in a later generation has
// outlived the process that would answer it. Guarded by Server.lifeMu.
type lifecycle struct {
	gen        uint64
	restarting bool
	failStreak int // consecutive failed checks
}

// admit lets a request in and returns the generation it belongs to, or false while the
// instance is down.
func (s *Server) admit() (uint64, bool) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.life.gen, !s.life.restarting
}

func (s *Server) generation() uint64 {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.life.gen
}

func (s *Server) healthState() string {
	if s.fleet != nil {
		fs := s.fleet.stats()
		switch {
		case fs.InService < fs.Instances:
			return stateRestarting
		case fs.Healthy < fs.Instances:
			return stateFailing
		}
		return stateOK
	}
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	switch {
	case s.life.restarting:
		return stateRestarting
	case s.life.failStreak > 0:
		return stateFailing
	}
	return stateOK
}

// checkHealth is the instance's health checker: a probe query through the same pool and queue
// as the traffic, HealthInterval after the previous check ended. HealthFailures failures in a
// row restart the instance. Nothing here knows about load: the probe is slow because the
// queue is long, and restarts follow from that.
func (s *Server) checkHealth() {
	defer s.bg.Done()
	timer := time.NewTimer(s.cfg.HealthInterval)
	defer timer.Stop()
	for {
		select {
		case <-s.stop.Done():
			return
		case <-timer.C:
		}
		ok := s.probe()
		if s.stop.Err() != nil {
			return
		}
		s.healthChecks.Add(1)
		s.lifeMu.Lock()
		if ok {
			s.life.failStreak = 0
		} else {
			s.life.failStreak++
		}
		restart := s.life.failStreak >= s.cfg.HealthFailures
		s.lifeMu.Unlock()
		if !ok {
			s.healthFailed.Add(1)
		}
		if restart {
			s.restart()
		}
		timer.Reset(s.cfg.HealthInterval)
	}
}

// probe runs one health query and reports whether it finished within HealthThreshold. A probe
// still queued or running at the threshold is abandoned, as a health check with a timeout
// cancels its query, so probes add little load of their own.
func (s *Server) probe() bool {
	if s.cfg.HealthCheck == HealthCheckProcess {
		return true // the process answers: a database problem does not fail this check
	}
	ctx, cancel := context.WithTimeout(s.stop, s.cfg.HealthThreshold)
	defer cancel()
	start := time.Now()
	err := s.db.Do(ctx)
	return err == nil && time.Since(start) <= s.cfg.HealthThreshold
}

// restart replaces the instance as an orchestrator replaces an unhealthy one: the queue is
// dropped (those requests answer 503), requests still running will answer 503 when their
// query ends, the cache is lost, and nothing is admitted for RestartDelay. The new instance
// then queues ReconnectWork queries (warming its connections, reloading state) before it
// admits any traffic, so each restart puts load on the database it restarted because of.
func (s *Server) restart() {
	s.lifeMu.Lock()
	s.life.restarting = true
	s.life.gen++
	s.life.failStreak = 0
	gen := s.life.gen
	s.lifeMu.Unlock()
	s.restarts.Add(1)

	if s.cache != nil {
		s.cache.reset(gen)
	}
	s.db.dropQueue()

	if s.cfg.RestartDelay > 0 {
		t := time.NewTimer(s.cfg.RestartDelay)
		select {
		case <-s.stop.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}

	for range s.cfg.ReconnectWork {
		w, err := s.db.enter()
		if err != nil {
			break // closed, or the queue limit is lower than the reconnect burst
		}
		s.bg.Add(1)
		go s.reconnect(w)
	}

	s.lifeMu.Lock()
	s.life.restarting = false
	s.lifeMu.Unlock()
}

// reconnect runs one query of reconnect work once its turn in the queue comes. The work is not
// cut short: startup work is not abandoned because it is slow.
func (s *Server) reconnect(w *waiter) {
	defer s.bg.Done()
	if err := s.db.await(context.Background(), w); err != nil {
		return // dropped by the next restart, or closed
	}
	defer s.db.release()
	if s.db.query(context.Background()) == nil {
		s.reconnectQueries.Add(1)
	}
}
