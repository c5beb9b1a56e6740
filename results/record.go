// Package results is stormtest's results file: a header, then one record per attempt,
// streamed to disk as attempts complete, in blocks that carry a checksum so that a crash,
// a kill -9 or a truncated copy loses at most the block being written.
//
// It also owns the seam every consumer of a run's attempts goes through (sink.go): a Sink
// takes the stream (Begin with the Header, Write per Record, End with the Trailer), a
// Source yields a recorded one (Header, Next until io.EOF or damage, Trailer), and Copy is
// the one loop between them, with the damage handling. The attack writes into a Sink; the
// results file (FileSink), the analysis, the exports and Tee of several are Sinks; a Reader
// and a merge of shards are Sources.
//
// Since format version 2 a run also carries the target's own metrics, scraped during the run
// (scrape.go): scrape blocks between the record blocks, on the records' clock. A ScrapeSink
// takes them from the stream, a ScrapeSource yields them, Copy connects the two, and a Sink or
// a Source that knows nothing of them is unaffected.
package results

import (
	"time"

	"github.com/stormtest/stormtest/internal/cpustat"
	"github.com/stormtest/stormtest/profiles"
)

// Kind is what became of one attempt, as the client saw it.
type Kind uint8

// Kinds. The numbers are part of the file format: append only.
const (
	KindOK      Kind = iota // a response with a 1xx/2xx status, or 304 Not Modified
	KindTimeout             // the client gave up: no complete response within its timeout
	KindRefused             // connection refused
	KindReset               // connection reset or closed by the peer mid-exchange
	Kind5xx                 // a 5xx response other than the ones below
	Kind429                 // 429 Too Many Requests
	Kind4xx                 // a 4xx response other than 429
	KindOther               // any other error (DNS, TLS, protocol…)
	// Kind3xx is a redirect (a 3xx other than 304) that was not followed: the client's
	// follow_redirects is 0, or the attempt used up its hops. Nothing was served, so it is
	// not a success; files written before it existed recorded such responses as ok.
	Kind3xx
	// KindTooLarge is a response whose body ran past the generator's cap (attack
	// --max-body-mib): the body was counted up to the cap, never kept, and the connection
	// closed. A 1 GiB or endless body would otherwise hold the client until its timeout.
	KindTooLarge
	// KindMalformed is a response that was not HTTP: garbage where a status line belongs,
	// a broken header, an HTTP/2 protocol error. Files written before it existed recorded
	// these as other.
	KindMalformed
	kindCount
)

var kindNames = [...]string{"ok", "timeout", "refused", "reset", "5xx", "429", "4xx", "other", "3xx", "too-large", "malformed"}

// String is the kind's name as used in reports and JSON.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every kind in file-format order.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindCount)
	for k := KindOK; k < kindCount; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Record is one attempt. Times are absolute (Unix nanoseconds) so that files written by
// several generator machines can be merged into one timeline.
type Record struct {
	RequestID uint64 // the logical request; unique within one generator's file
	Attempt   uint8  // 1 for the first attempt, 2 for the first retry…
	Group     uint8  // client group, an index into Header.Groups
	Phase     uint8  // the profile phase in force at Intended
	Kind      Kind
	Code      uint16 // HTTP status; 0 when no response arrived

	// Intended is when this attempt was meant to start: the schedule's time for a first
	// attempt, failure time plus backoff for a retry. Latency counts from here, so a
	// generator that falls behind cannot hide the queueing (no coordinated omission).
	Intended int64
	// SendLag is how late the attempt actually started: actual start - Intended.
	SendLag time.Duration
	// ServiceTime runs from the actual start to the end of the response (or the error).
	ServiceTime time.Duration
	// RequestAge is Intended minus the Intended of the request's first attempt: how long the
	// user behind this request had already been waiting when this attempt was due.
	RequestAge time.Duration
	// Error is the client's error, normalised (no URL), empty on success. Files keep a
	// table of distinct messages, so repeating an error costs nothing.
	Error string
}

// Latency is the attempt's latency as a user would feel it: from its intended start to its end.
func (r *Record) Latency() time.Duration { return r.SendLag + r.ServiceTime }

// End is when the attempt completed, Unix nanoseconds.
func (r *Record) End() int64 { return r.Intended + int64(r.SendLag+r.ServiceTime) }

// RequestLatency is how long the request had been going on when this attempt ended, counted
// from the intended start of its first attempt.
func (r *Record) RequestLatency() time.Duration { return r.RequestAge + r.Latency() }

// OK reports whether the attempt succeeded.
func (r *Record) OK() bool { return r.Kind == KindOK }

// FormatVersion is the version of the file format this package writes. Version 2 added the
// scrape blocks and Header.Scrape; version 1 files read unchanged.
const FormatVersion = 2

// Header opens every results file.
type Header struct {
	Format    int    `json:"format"`
	Generator string `json:"generator"` // "stormtest <version>"
	Host      string `json:"host"`
	Shard     int    `json:"shard"`  // this generator's index, 0-based
	Shards    int    `json:"shards"` // how many generators ran the same profile
	// RunID names the run every shard belongs to (package shard): shards of one run share it,
	// so a merge can tell a missing, a repeated and a foreign file apart. Empty in files
	// written before shards had run ids.
	RunID string `json:"run_id,omitempty"`
	// LateStart is how much later than Start this generator was ready to send (a pod
	// scheduled late, a slow machine): its first attempts due before then left late, and
	// their latency counts from when they were due.
	LateStart time.Duration `json:"late_start_ns,omitempty"`
	Target    string        `json:"target"`
	Start     time.Time     `json:"start"` // the run's time zero: the profile's t=0
	// Profile is the profile as run, after any scaling, so that analysis needs nothing else.
	Profile profiles.Profile `json:"profile"`
	Groups  []string         `json:"groups"`
	// Scrape lists the metrics endpoints of the target scraped during the run (attack
	// --scrape, the profile's observe.scrape), resolved against the target and redacted like
	// it; Series.Endpoint indexes it. Empty when nothing was scraped (and in version 1 files).
	Scrape []string `json:"scrape,omitempty"`
	// Engine is the HTTP engine that sent the attempts, "std" (net/http through vegeta) or
	// "fast" (fasthttp, HTTP/1.1), and EngineReason why it was chosen (asked for, the
	// default, or what auto found). Empty in files written before engines existed: std.
	Engine       string `json:"engine,omitempty"`
	EngineReason string `json:"engine_reason,omitempty"`
}

// Trailer closes a results file that was finished cleanly. A file without one was cut short
// (crash, kill -9) and is still readable up to its last complete block.
type Trailer struct {
	End         time.Time `json:"end"`
	Interrupted bool      `json:"interrupted"` // stopped early (Ctrl-C, context cancelled)
	Reason      string    `json:"reason,omitempty"`
	Requests    uint64    `json:"requests"` // logical requests started
	Attempts    uint64    `json:"attempts"` // attempts recorded
	// UnsentRetries are retries that were due after the run stopped and so never sent.
	UnsentRetries uint64 `json:"unsent_retries"`
	// RetriesDenied are retries a retry budget refused; DeadlineExpired are requests given
	// up because their next retry would have come after the request's deadline.
	RetriesDenied   uint64 `json:"retries_denied,omitempty"`
	DeadlineExpired uint64 `json:"deadline_expired,omitempty"`
	// RedirectHops are redirects followed (client follow_redirects): requests the target saw
	// beyond the attempts recorded, one per hop.
	RedirectHops uint64 `json:"redirect_hops,omitempty"`
	// Connections counts the connections the generator opened (over TLS each is a
	// handshake: with client keepalive false, one per attempt). Protocols counts responses
	// by the protocol they came in ("HTTP/1.1", "HTTP/2.0"), as negotiated. Both are absent
	// from files written before they existed, and from runs without responses.
	Connections uint64            `json:"connections,omitempty"`
	Protocols   map[string]uint64 `json:"protocols,omitempty"`
	// Clock is this generator's clock offset against the target's, estimated from the Date
	// header of its first minute of responses (shard.Clock); nil when none had one.
	Clock *ClockOffset `json:"clock,omitempty"`
	// CPU samples the generator machine once a second: a generator that saturated its own
	// machine measured itself, and the analysis says so.
	CPU []cpustat.Sample `json:"cpu,omitempty"`
	// ScrapeWarnings say what the scraper of the target's metrics left out (series past its
	// cap, series too long to store), one line each.
	ScrapeWarnings []string `json:"scrape_warnings,omitempty"`

	// Triggers are the profile's trigger calls as they were made (or skipped), in the order
	// they were made: their times on the run's clock and the answers. Absent when the
	// profile has no triggers (and in files written before triggers existed).
	Triggers []TriggerCall `json:"triggers,omitempty"`
}

// ClockOffset is how far the target's clock was ahead of the generator's (negative: behind),
// to within Uncertainty either way, from Samples responses. Shards of one run measured
// against the same target, so the spread of their offsets is the skew between generators.
type ClockOffset struct {
	Offset      time.Duration `json:"offset_ns"`
	Uncertainty time.Duration `json:"uncertainty_ns"`
	Samples     uint64        `json:"samples"`
}

// Trigger call actions.
const (
	TriggerStart = "start"
	TriggerStop  = "stop"
)

// TriggerCall is one HTTP call of a profile trigger, as made during the run.
type TriggerCall struct {
	// Trigger is the trigger's index in the profile's triggers; Name its label.
	Trigger int    `json:"trigger"`
	Name    string `json:"name"`
	// Action is TriggerStart or TriggerStop.
	Action string `json:"action"`
	Method string `json:"method"`
	// URL is the URL called, redacted as the target is.
	URL string `json:"url"`
	// AtSeconds is when the profile scheduled the call, FiredSeconds when it was sent, both
	// from the run's start; DurationMS how long the answer took.
	AtSeconds    float64 `json:"at_s"`
	FiredSeconds float64 `json:"fired_s"`
	DurationMS   float64 `json:"duration_ms"`
	// Status is the HTTP status (0: no answer); OK is a 2xx answer.
	Status int  `json:"status"`
	OK     bool `json:"ok"`
	// Error says why the call failed: no answer, or a status other than 2xx.
	Error string `json:"error,omitempty"`
	// Response is the start of the answer's body (at most MaxTriggerResponse bytes).
	Response string `json:"response,omitempty"`
	// Early: the run stopped before the call was due, and a stop call was made at once so
	// that the target is not left changed.
	Early bool `json:"early,omitempty"`
}

// MaxTriggerResponse bounds the answer kept per trigger call.
const MaxTriggerResponse = 512
