package analyze

import "time"

// Verdicts. Stable, Overloaded and Metastable are judgements of how the target coped with
// the load; Down and Inconclusive say the run cannot support such a judgement, and every
// verdict threshold of a gate fails on them unless the user allows them (issue 11: a dead
// service or a handful of requests used to read as stable).
const (
	Stable     = "stable"
	Overloaded = "overloaded"
	Metastable = "metastable"
	// Down: next to nothing was served (goodput at most downShare of the requests), whatever
	// the load; the evidence names the dominant error.
	Down = "down"
	// Inconclusive: too few judged windows or requests to tell stable from a collapse, or
	// judged windows that failed too often to be stable without ever failing long enough
	// to place a collapse; the evidence says what was missing and how to get enough.
	Inconclusive = "inconclusive"
)

// Failure counts the run's failed attempts of one kind and, for HTTP failures, one status.
type Failure struct {
	// Kind is the failure kind as in Report.Errors: timeout, refused, reset, 5xx, 429, 4xx
	// or other.
	Kind string `json:"kind"`
	// Code is the HTTP status of an HTTP failure kind; 0 when there was none, or for the
	// attempts of that kind whose status was not recorded.
	Code int `json:"code,omitempty"`
	// Label names the failure for people: "HTTP 503", "connection reset", "timeout".
	Label    string `json:"label"`
	Attempts uint64 `json:"attempts"`
}

// ErrorMix names the run's dominant failures with their shares of all attempts, such as
// "100 % HTTP 503" or "80 % HTTP 503, 20 % timeout"; "" when no attempt failed.
func (r *Report) ErrorMix() string { return failureMix(r.Failures, float64(r.Attempts)) }

// Report is the analysis of one run. It is stormtest's JSON report format: the field list is
// documented in docs/analyze-json.md, keep the two in step.
type Report struct {
	Verdict  string   `json:"verdict"`
	Evidence []string `json:"evidence"`
	Warnings []string `json:"warnings"`

	Target          string    `json:"target"`
	Profile         string    `json:"profile"`
	Start           time.Time `json:"start"`
	DurationSeconds float64   `json:"duration_seconds"`
	// SLO is the profile's latency bound (0: none) and Gate its gate: list, both from the
	// run's header, so that gate and compare judge a run from its analysis alone. They are
	// left out of the JSON report, whose fields docs/analyze-json.md fixes.
	SLO  time.Duration `json:"-"`
	Gate []string      `json:"-"`

	Requests  uint64 `json:"requests"`
	Attempts  uint64 `json:"attempts"`
	Successes uint64 `json:"successes"`
	Goodput   uint64 `json:"goodput"`
	// Wasted counts successes that ended after their request's deadline (client groups
	// with a deadline only): work the target did for users who had given up.
	Wasted uint64 `json:"wasted"`
	// UnsentRetries are retries that came due after the run ended (a long backoff or
	// Retry-After) and were never sent: the trailer's count, 0 without one.
	UnsentRetries uint64 `json:"unsent_retries"`
	// RedirectHops are redirects followed (client follow_redirects): requests the target saw
	// beyond the attempts, which count each redirect chain once.
	RedirectHops uint64 `json:"redirect_hops"`
	// Protocols counts responses by the protocol they came in, as negotiated ("HTTP/2.0":
	// n), and Connections the connections the generator opened (over TLS, one handshake
	// each): from the trailer, empty and 0 for files written before stormtest recorded them.
	Protocols   map[string]uint64 `json:"protocols"`
	Connections uint64            `json:"connections"`
	// TLSInsecure: the run did not verify the target's certificate (--insecure), as its
	// header records.
	TLSInsecure bool `json:"tls_insecure"`
	// Engine is the HTTP engine that sent the attempts ("std" or "fast") and EngineReason
	// why it was chosen, from the header; empty for files written before engines existed
	// (they were all std).
	Engine       string `json:"engine,omitempty"`
	EngineReason string `json:"engine_reason,omitempty"`

	Amplification             float64  `json:"amplification"`
	AmplificationAfterTrigger *float64 `json:"amplification_after_trigger"`

	OnsetSeconds      *float64 `json:"onset_seconds"`
	TriggerEndSeconds *float64 `json:"trigger_end_seconds"`
	RecoverySeconds   *float64 `json:"recovery_seconds"`
	TriggerPhase      string   `json:"trigger_phase"`
	// Hysteresis compares goodput at the post-trigger load before and after the surge; null
	// when there was no trigger end or too few requests at a comparable rate.
	Hysteresis *Hysteresis `json:"hysteresis"`
	// Vulnerable is set on a stable run whose margin was thin: the typical load times the
	// attempts clients allow would exceed the target's capacity (given, or seen near its knee).
	Vulnerable bool `json:"vulnerable"`

	Latency LatencySummary    `json:"latency"`
	Errors  map[string]uint64 `json:"errors"`
	// Failures splits the failed attempts by kind and HTTP status, most frequent first.
	Failures []Failure `json:"failures"`

	// Triggers are the profile's triggers on the run's clock with their calls (empty when the
	// profile has none); the verdict takes a trigger's window as the trigger.
	Triggers []TriggerReport `json:"triggers"`

	Phases  []PhaseStats `json:"phases"`
	Groups  []GroupStats `json:"groups"`
	Windows []Window     `json:"windows"`

	// TargetMetrics are the target's own Prometheus series scraped during the run (attack
	// --scrape), per phase and point by point; TargetScrapes count each endpoint's scrapes and
	// gaps. Both empty when nothing was scraped.
	TargetMetrics []TargetSeries  `json:"target_metrics"`
	TargetScrapes []TargetScrapes `json:"target_scrapes"`
	// Shards says which shards of a run were merged (several generators, or several files);
	// null for one file of an unsplit run.
	Shards *ShardSummary `json:"shards"`
}

// Percentiles summarise one histogram, in milliseconds.
type Percentiles struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// LatencySummary is the whole run's attempt latency counted from the intended start (so
// generator lag is included), plus service time (from the actual send) and generator lag.
type LatencySummary struct {
	Percentiles
	ServiceTime Percentiles `json:"service_time"`
	Lag         Percentiles `json:"lag"`
}

// PhaseStats describe one profile phase. Counts are of attempts whose intended start fell in
// the phase (Record.Phase), so a request sent during a surge counts there even if it ended
// after it.
type PhaseStats struct {
	Name          string            `json:"name"`
	StartSeconds  float64           `json:"start_s"`
	EndSeconds    float64           `json:"end_s"`
	IntendedRPS   float64           `json:"intended_rps"`
	OfferedRPS    float64           `json:"offered_rps"`
	GoodputRPS    float64           `json:"goodput_rps"`
	ErrorRPS      float64           `json:"error_rps"`
	Amplification float64           `json:"amplification"`
	P50           float64           `json:"p50_ms"`
	P99           float64           `json:"p99_ms"`
	P999          float64           `json:"p999_ms"`
	Max           float64           `json:"max_ms"`
	Errors        map[string]uint64 `json:"errors"`
	// Distribution is the phase's latency percentile spectrum, for HDR percentile plots:
	// percentiles bunch up towards 100 (five per halving of the distance to it), so the
	// tail is drawn as finely as the body. Empty when the phase saw no attempts.
	Distribution []PercentilePoint `json:"distribution"`
}

// PercentilePoint is one point of a latency percentile spectrum.
type PercentilePoint struct {
	Percentile float64 `json:"percentile"`
	ValueMS    float64 `json:"value_ms"`
}

// GroupStats describe one client group.
type GroupStats struct {
	Name          string  `json:"name"`
	Requests      uint64  `json:"requests"`
	Attempts      uint64  `json:"attempts"`
	Amplification float64 `json:"amplification"`
	// AmplificationAfterTrigger is the group's attempts per first attempt from the trigger's
	// end on (mixes only; null otherwise).
	AmplificationAfterTrigger *float64 `json:"amplification_after_trigger"`
	P99                       float64  `json:"p99_ms"`
}

// Window is one bucket of the per-window series.
type Window struct {
	T           float64 `json:"t"`
	IntendedRPS float64 `json:"intended_rps"`
	OfferedRPS  float64 `json:"offered_rps"`
	GoodputRPS  float64 `json:"goodput_rps"`
	ErrorRPS    float64 `json:"error_rps"`
	WastedRPS   float64 `json:"wasted_rps"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p999_ms"`
	Max         float64 `json:"max_ms"`
	// InFlight counts attempts sent and not yet ended at the window's end: the concurrency
	// the target was holding, as the generator saw it.
	InFlight uint64 `json:"in_flight"`
	// LagMax is the generator's worst lag among the attempts sent in the window.
	LagMax float64 `json:"lag_max_ms"`
	// MachineCPU is the busiest generator machine's CPU use in the window (0–1); null when
	// not sampled.
	MachineCPU *float64 `json:"machine_cpu"`
	// Errors counts the window's failed attempts by kind.
	Errors map[string]uint64 `json:"errors,omitempty"`
	// Healthy is nil when the window was not judged (too few requests, or a partial first
	// window).
	Healthy *bool `json:"healthy"`
}
