package simservice

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The target's Prometheus metrics, served on /metrics. Each Server has a registry of its own
// (never the global one), so several targets in one process, as in the demo and the tests,
// each export their own figures. Every gauge and counter is read from one Stats snapshot per
// scrape, so /metrics and /stats say the same thing at the same instant; only the queue-wait
// histogram is observed as connections are granted, since a snapshot cannot rebuild it.
//
// Every name starts with simservice_ (stormtest's own metrics, from attack, are stormtest_).

// waitBuckets cover a 1 ms wait to a queue far past any client timeout, in seconds.
var waitBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// metrics is the server's registry and the histogram the database observes.
type metrics struct {
	registry *prometheus.Registry
	wait     prometheus.Histogram
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "simservice_wait_seconds",
			Help:    "Time a request (or probe, or reconnect query) waited in the queue for a database connection.",
			Buckets: waitBuckets,
		}),
	}
	m.registry.MustRegister(m.wait, statsCollector{s})
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		EnableOpenMetrics: true, // served only to a scraper that asks for it
	})
	return m
}

// observeWait is the database's hook, called with its mutex held: a histogram observation
// is a few atomic adds.
func (m *metrics) observeWait(d time.Duration) { m.wait.Observe(d.Seconds()) }

// statsCollector exports a Stats snapshot.
type statsCollector struct{ s *Server }

type statDesc struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(Stats) float64
}

var statDescs = []statDesc{
	gauge("simservice_queue_depth", "Requests waiting for a database connection.", func(s Stats) float64 { return float64(s.QueueDepth) }),
	gauge("simservice_pool_in_use", "Database connections in use.", func(s Stats) float64 { return float64(s.InUse) }),
	gauge("simservice_pool_size", "Database connections applied (db-conns × capacity-fraction).", func(s Stats) float64 { return float64(s.PoolSize) }),
	gauge("simservice_oldest_wait_seconds", "How long the request at the head of the queue has waited so far.", func(s Stats) float64 { return s.OldestWaitMS / 1000 }),
	counter("simservice_served_total", "Queries completed for a client that was still there.", func(s Stats) float64 { return float64(s.Served) }),
	counter("simservice_abandoned_total", "Queries completed after their client had gone: wasted work.", func(s Stats) float64 { return float64(s.Abandoned) }),
	counter("simservice_canceled_total", "Requests dropped because their client had gone (--cancel-abandoned).", func(s Stats) float64 { return float64(s.Canceled) }),
	counter("simservice_shed_total", "Requests refused with 503 because the queue was at --queue-limit.", func(s Stats) float64 { return float64(s.Shed) }),
	counter("simservice_db_queries_total", "Queries the database ran to completion: traffic, health probes and reconnect work.", func(s Stats) float64 { return float64(s.DBQueries) }),
	gauge("simservice_healthy", "1 while the instance is up and its last health check passed, else 0.", func(s Stats) float64 { return bool01(s.Healthy) }),
	counter("simservice_health_checks_total", "Health checks run.", func(s Stats) float64 { return float64(s.HealthChecks) }),
	counter("simservice_health_checks_failed_total", "Health checks that failed.", func(s Stats) float64 { return float64(s.HealthFailed) }),
	counter("simservice_restarts_total", "Restarts triggered by failed health checks.", func(s Stats) float64 { return float64(s.Restarts) }),
	counter("simservice_restart_dropped_total", "Requests answered 503 because of a restart.", func(s Stats) float64 { return float64(s.RestartDropped) }),
	counter("simservice_reconnect_queries_total", "Reconnect-work queries completed by restarted instances.", func(s Stats) float64 { return float64(s.ReconnectQueries) }),
	counter("simservice_cache_hits_total", "Look-aside cache hits.", func(s Stats) float64 { return float64(s.CacheHits) }),
	counter("simservice_cache_misses_total", "Look-aside cache misses.", func(s Stats) float64 { return float64(s.CacheMisses) }),
	counter("simservice_cache_fills_total", "Misses stored in the cache (read within --cache-fill-deadline).", func(s Stats) float64 { return float64(s.CacheFills) }),
	gauge("simservice_cache_entries", "Cache entries still valid.", func(s Stats) float64 { return float64(s.CacheSize) }),
	gauge("simservice_client_connections", "Client connections open.", func(s Stats) float64 { return float64(s.ClientConns) }),
	counter("simservice_refused_connections_total", "Client connections closed on accept at --max-client-conns.", func(s Stats) float64 { return float64(s.Refused) }),
	// What the control endpoints changed (/control/...), so a dashboard shows the trigger
	// beside its effect.
	gauge("simservice_capacity_fraction", "Share of the database's connections applied (--capacity-fraction, or /control/capacity).", func(s Stats) float64 { return s.CapacityFraction }),
	gauge("simservice_db_refusing_connections", "1 while the database refuses new connections (/control/db).", func(s Stats) float64 { return bool01(s.DBRefusing) }),
	gauge("simservice_added_latency_seconds", "Latency added to every query by /control/latency.", func(s Stats) float64 { return s.AddedLatencyMS / 1000 }),
	counter("simservice_control_changes_total", "Changes made through the control endpoints.", func(s Stats) float64 { return float64(s.ControlChanges) }),
	// The fleet (--instances N ≥ 2); 0 for a single instance.
	gauge("simservice_fleet_instances_in_service", "Fleet instances in the balancer.", fleetStat(func(f *FleetStats) float64 { return float64(f.InService) })),
	gauge("simservice_fleet_instances_healthy", "Fleet instances whose last health check passed.", fleetStat(func(f *FleetStats) float64 { return float64(f.Healthy) })),
	counter("simservice_fleet_replacements_total", "Fleet instances the orchestrator replaced.", fleetStat(func(f *FleetStats) float64 { return float64(f.Replacements) })),
	gauge("simservice_db_connections", "Connections the shared database holds, lingering ones of removed instances included.", fleetStat(func(f *FleetStats) float64 { return float64(f.DBConns) })),
	gauge("simservice_db_connections_lingering", "Connections of removed instances not yet released.", fleetStat(func(f *FleetStats) float64 { return float64(f.DBConnsLingering) })),
	counter("simservice_db_connects_total", "Connections the database established.", fleetStat(func(f *FleetStats) float64 { return float64(f.DBConnects) })),
	counter("simservice_db_connects_refused_total", "Connection attempts refused while the database took no new connections.", fleetStat(func(f *FleetStats) float64 { return float64(f.DBConnectsRefused) })),
	counter("simservice_db_connects_rejected_total", "Connection attempts rejected at the connection limit, after their set-up work.", fleetStat(func(f *FleetStats) float64 { return float64(f.DBConnectsRejected) })),
}

// healthStateDesc is the health state as a one-hot gauge per state, the usual way to export
// an enum.
var healthStateDesc = prometheus.NewDesc("simservice_health_state", "1 for the instance's health state (ok, failing, restarting), 0 for the others.", []string{"state"}, nil)

func gauge(name, help string, v func(Stats) float64) statDesc {
	return statDesc{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v}
}

func counter(name, help string, v func(Stats) float64) statDesc {
	return statDesc{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, v}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Describe implements prometheus.Collector.
func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range statDescs {
		ch <- d.desc
	}
	ch <- healthStateDesc
}

// Collect implements prometheus.Collector: one snapshot, every value from it. The registry
// calls it on the goroutine serving /metrics.
func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for _, d := range statDescs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.typ, d.value(st))
	}
	state := c.s.healthState()
	for _, name := range []string{stateOK, stateFailing, stateRestarting} {
		ch <- prometheus.MustNewConstMetric(healthStateDesc, prometheus.GaugeValue, bool01(state == name), name)
	}
}

// fleetStat reads a fleet figure from a Stats snapshot, 0 for a single instance.
func fleetStat(v func(*FleetStats) float64) func(Stats) float64 {
	return func(s Stats) float64 {
		if s.Fleet == nil {
			return 0
		}
		return v(s.Fleet)
	}
}
