// Package profiles describes the load a stormtest run offers: the traffic shape (phases of
// first-attempt rates over time) and the behaviour of the simulated clients (timeouts and
// retries). It knows nothing about HTTP or about how the load is generated.
//
// The rate curves themselves, their integrals and inverses and the run's timeline, are
// package curve. This package owns the configuration: it parses and validates phases and
// maps each one to its curve through one table of phase kinds (phaseKinds in kinds.go),
// which is also where a new kind of phase is added.
//
// Likewise the clients' retry settings are configuration only: package retry turns them
// into behaviour (backoff and jitter, retry.on, Retry-After, deadlines, budgets, the named
// presets), and imports this package for the types; this package never imports it.
package profiles

import "time"

// Duration is a time.Duration that reads and writes as "1.5s" in YAML and JSON, so that
// profiles and results headers stay readable by people.
type Duration time.Duration

// Profile is one traffic shape plus one client behaviour.
type Profile struct {
	Name        string  `yaml:"name" json:"name"`
	Description string  `yaml:"description,omitempty" json:"description,omitempty"`
	Seed        uint64  `yaml:"seed,omitempty" json:"seed,omitempty"`
	Phases      []Phase `yaml:"phases" json:"phases"`
	// Client is the behaviour of every client, unless Clients gives a mix.
	Client Client `yaml:"client" json:"client"`
	// Clients is a mix of client groups, each with its own Share of the first attempts and
	// its own behaviour (e.g. 60 % mobile apps retrying at once, 40 % web with backoff).
	// When set, Client is not used. Groups() gives the groups in force either way.
	Clients []Client `yaml:"clients,omitempty" json:"clients,omitempty"`
	SLO     SLO      `yaml:"slo" json:"slo"`
	Request Request  `yaml:"request,omitempty" json:"request,omitempty"`
	// Transport is how requests reach the target (TLS, HTTP version, connect_to, proxy, Unix
	// socket); nil: plain defaults, see transport.go.
	Transport *Transport `yaml:"transport,omitempty" json:"transport,omitempty"`
	// Gate lists the thresholds `stormtest gate` checks a run of this profile against, in
	// the spirit of k6 thresholds ("p99<300ms", "verdict!=metastable"); see package gate.
	Gate []string `yaml:"gate,omitempty" json:"gate,omitempty"`
	// Observe names the target's Prometheus metrics endpoints scraped during the run
	// (observe.go); nil when none are.
	Observe *Observe `yaml:"observe,omitempty" json:"observe,omitempty"`
	// Triggers are changes to the target that are not load (a capacity cut, a database
	// refusing connections), made by HTTP calls on the run's clock; see Trigger.
	Triggers []Trigger `yaml:"triggers,omitempty" json:"triggers,omitempty"`
}

// Phase is a stretch of time with one rate curve of *first attempts* per second (retries come
// on top, decided by the clients). The fields set choose the kind of curve (see phaseKinds
// in kinds.go, the one table of kinds):
//   - Rate alone: constant;
//   - From+To: linear ramp, or Steps equal stairs, or Growth "exponential";
//   - Rate+Amplitude+Period: sine wave around Rate;
//   - Rate+Spike+SpikeAt+SpikeFor: Rate with a rectangular burst to Spike;
//   - Points: piecewise linear through (offset, rate) points.
//
// Repeat plays the curve that many times in a row; Duration is the length of one play, so
// the phase lasts Length() = Duration·Repeat.
//
// The fields are read by reflection (phase.go), so that the parser, the validator, the
// bounds and Scaled cannot drift from this struct: a field's yaml tag is its key in a
// profile, its hint tag is what a parse error says is expected, and its Go type says how it
// is read and scaled. A *float64 is a rate (scaled by --rate-scale, bounded by MaxRate), a
// Duration or *Duration a time within the curve (scaled by --time-scale; a *Duration may be
// 0s), an int a count of at least 1, a string a name.
type Phase struct {
	Name     string   `yaml:"name" json:"name" hint:"a phase name"`
	Duration Duration `yaml:"duration" json:"duration"`
	Rate     *float64 `yaml:"rate,omitempty" json:"rate,omitempty" hint:"a rate in first attempts per second, such as 200, or max"`
	From     *float64 `yaml:"from,omitempty" json:"from,omitempty" hint:"a rate in first attempts per second, such as 200"`
	To       *float64 `yaml:"to,omitempty" json:"to,omitempty" hint:"a rate in first attempts per second, such as 200"`
	// Steps turns the from/to ramp into that many equal-length constant steps, the first at
	// From and the last at To.
	Steps int `yaml:"steps,omitempty" json:"steps,omitempty" hint:"the number of equal steps from from to to, at least 1"`
	// Growth is how a from/to ramp climbs: GrowthLinear (the default) or GrowthExponential.
	Growth string `yaml:"growth,omitempty" json:"growth,omitempty" hint:"a growth: linear or exponential"`
	// Amplitude and Period make Rate the midline of a sine wave (a compressed day).
	Amplitude *float64 `yaml:"amplitude,omitempty" json:"amplitude,omitempty" hint:"how far the wave swings above and below rate, per second"`
	Period    Duration `yaml:"period,omitempty" json:"period,omitempty"`
	// Spike is the rate from SpikeAt (an offset into the phase, which may be 0, hence the
	// pointer) for SpikeFor; Rate holds elsewhere.
	Spike    *float64  `yaml:"spike,omitempty" json:"spike,omitempty" hint:"a rate in first attempts per second, such as 200"`
	SpikeAt  *Duration `yaml:"spike_at,omitempty" json:"spike_at,omitempty"`
	SpikeFor Duration  `yaml:"spike_for,omitempty" json:"spike_for,omitempty"`
	// Points is a curve pasted from metrics: straight lines between (offset, rate) points.
	Points []Point `yaml:"points,omitempty" json:"points,omitempty"`
	// Repeat is how many times the curve is played; 0 means once.
	Repeat int `yaml:"repeat,omitempty" json:"repeat,omitempty" hint:"how many times to play the phase, at least 1"`
	// Users makes the phase closed-loop: that many users, each sending a request, waiting for
	// it to finish (retries included), pausing Client.Think, and sending the next. A closed
	// phase has no rate fields; a profile is either all open-loop or all closed-loop.
	Users *int `yaml:"users,omitempty" json:"users,omitempty" hint:"the number of closed-loop users, at least 1"`
	// Max is `rate: max` in YAML: first attempts as fast as the generator's workers take them
	// (--max-workers bounds them), vegeta's -rate=0. It measures the generator and the
	// target's ceiling, not a traffic shape, so the phase has no other rate field. In YAML it
	// is written as rate: max (Phase.MarshalYAML); in JSON as "max": true, because rate is
	// a number there.
	Max bool `yaml:"-" json:"max,omitempty"`
}

// Growth names for a from/to phase.
const (
	GrowthLinear      = "linear"
	GrowthExponential = "exponential"
)

// Point is one (offset, rate) corner of a points phase. It reads and writes as a two-element
// list, [30s, 400], the way such curves are pasted.
type Point struct {
	At   Duration
	Rate float64
}

// Client is how a group of simulated clients behaves.
type Client struct {
	// Name and Share identify a group of a mix (Profile.Clients): Share is its fraction of
	// the first attempts; the shares of a mix add up to 1.
	Name  string  `yaml:"name,omitempty" json:"name,omitempty"`
	Share float64 `yaml:"share,omitempty" json:"share,omitempty"`
	// Timeout bounds one attempt, from the moment it is sent until its response is read.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Deadline bounds a whole request across its attempts, counted from the intended start
	// of the first: no retry is sent after it, and a success that arrives after it is wasted
	// work (the user behind the request had given up). 0: no deadline.
	Deadline Duration `yaml:"deadline,omitempty" json:"deadline,omitempty"`
	// Think is how long a closed-loop user pauses between one request's end and its next.
	Think Duration `yaml:"think,omitempty" json:"think,omitempty"`
	Retry Retry    `yaml:"retry" json:"retry"`
	// FollowRedirects is how many redirect hops one attempt follows. 0 (the default) follows
	// none: the 3xx is the attempt's outcome, so the target never sees more requests than
	// are recorded and no load goes to another host. Each hop followed is a request the
	// target saw; the attack counts them (the trailer's redirect_hops).
	FollowRedirects int `yaml:"follow_redirects,omitempty" json:"follow_redirects,omitempty"`
	// KeepAlive false makes every attempt open a new connection (and, over TLS, a new
	// handshake), as clients that reconnect do: after a restart that handshake load is a
	// sustaining effect of its own. Left out (or true), connections are reused.
	KeepAlive *bool `yaml:"keepalive,omitempty" json:"keepalive,omitempty"`
}

// Reuses reports whether the group keeps connections alive between attempts (the default).
func (c Client) Reuses() bool { return c.KeepAlive == nil || *c.KeepAlive }

// MaxFollowRedirects bounds Client.FollowRedirects: more hops than browsers allow (20) is a
// loop, not a deployment.
const MaxFollowRedirects = 20

// Failure classes a retry policy can name in Retry.On, beside plain status codes ("503").
const (
	RetryOnTimeout    = "timeout"    // no complete response within the timeout
	RetryOnConnection = "connection" // refused or reset connections
	RetryOn5xx        = "5xx"
	RetryOn429        = "429"
	RetryOn4xx        = "4xx" // every 4xx other than 429
)

// Budget types.
const (
	BudgetTokenBucket = "token-bucket" // gRPC retry throttling (gRFC A6)
	BudgetRatio       = "ratio"        // Finagle's RetryBudget
)

// Budget caps retries across a client group, so that a failing target gets fewer of them
// exactly when it can least afford them.
type Budget struct {
	Type string `yaml:"type" json:"type"`
	// Token bucket (gRPC): the count starts at MaxTokens, each failed attempt takes 1, each
	// success gives back TokenRatio; retries are allowed only while the count exceeds
	// MaxTokens/2.
	MaxTokens  float64 `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	TokenRatio float64 `yaml:"token_ratio,omitempty" json:"token_ratio,omitempty"`
	// Ratio (Finagle): over the last TTL, retries may be at most Percent % of requests plus
	// MinPerSecond × TTL.
	Percent      float64  `yaml:"percent,omitempty" json:"percent,omitempty"`
	MinPerSecond float64  `yaml:"min_per_second,omitempty" json:"min_per_second,omitempty"`
	TTL          Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
}

// Retry policy names.
const (
	PolicyNone        = "none"
	PolicyImmediate   = "immediate"
	PolicyFixed       = "fixed"
	PolicyExponential = "exponential"
)

// Jitter names for the exponential policy (AWS Architecture Blog, "Exponential Backoff and
// Jitter").
const (
	JitterNone         = "none"
	JitterFull         = "full"
	JitterEqual        = "equal"
	JitterDecorrelated = "decorrelated"
)

// Retry says whether and when a failed attempt is tried again.
type Retry struct {
	Policy string `yaml:"policy" json:"policy"`
	// MaxAttempts counts the first attempt too: 3 means one try and up to two retries.
	MaxAttempts int      `yaml:"max_attempts,omitempty" json:"max_attempts,omitempty"`
	Base        Duration `yaml:"base,omitempty" json:"base,omitempty"`
	Cap         Duration `yaml:"cap,omitempty" json:"cap,omitempty"`
	Jitter      string   `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	// On lists the failures that are retried: RetryOn* classes and status codes. Empty
	// means timeout, connection, 5xx and 429.
	On []string `yaml:"on,omitempty" json:"on,omitempty"`
	// RetryAfter honours a Retry-After header on a retried response: the next attempt waits
	// at least that long.
	RetryAfter bool `yaml:"retry_after,omitempty" json:"retry_after,omitempty"`
	// Budget, when set, caps retries across the group.
	Budget *Budget `yaml:"budget,omitempty" json:"budget,omitempty"`
}

// SLO decides what counts as goodput.
type SLO struct {
	// Latency: a success slower than this, counted from the intended start of the request's
	// first attempt, is not goodput.
	Latency Duration `yaml:"latency" json:"latency"`
}

// Request is what every attempt sends: one method and path, weighted Paths, a list of
// weighted Requests (a read/write mix), or a vegeta targets file.
//
// Header values, paths, BodyFile and TargetsFile may reference environment variables as
// ${NAME} (package internal/envvar). The profile keeps them as written, so that a results
// file records ${TOKEN} and never the token; the attack expands them as it builds its
// requests, and LoadEnv refuses a profile that references an unset variable.
type Request struct {
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	Path   string `yaml:"path,omitempty" json:"path,omitempty"`
	// Paths, instead of Path, spreads requests over several paths by weight; a request's
	// retries go to its own path.
	Paths []WeightedPath `yaml:"paths,omitempty" json:"paths,omitempty"`
	// Requests, instead of Method, Path, Paths and BodyFile, spreads requests over several
	// complete requests by weight, each with its own method, path, headers and body: a
	// read/write mix in one profile. A request's retries send its own entry again.
	Requests []WeightedRequest `yaml:"requests,omitempty" json:"requests,omitempty"`
	// Headers are sent with every attempt (with Requests, with every entry, whose own
	// headers win). Secret values (see package internal/secret: Authorization,
	// Proxy-Authorization, Cookie, --redact names, any value referencing ${VAR}) are never
	// written to a results file (see Profile.Redacted).
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// BodyFile is sent as every attempt's body; relative to the profile file.
	BodyFile string `yaml:"body_file,omitempty" json:"body_file,omitempty"`
	// TargetsFile is a vegeta targets file (its "http" format), used instead of Method, Path,
	// Headers and Body: requests cycle through its targets; relative to the profile file.
	TargetsFile string `yaml:"targets_file,omitempty" json:"targets_file,omitempty"`
}

// WeightedPath is one path of a Request.Paths mix.
type WeightedPath struct {
	Path   string  `yaml:"path" json:"path"`
	Weight float64 `yaml:"weight" json:"weight"`
}

// WeightedRequest is one entry of a Request.Requests mix: a complete request and its share
// of the traffic (Weight over the sum of the weights). At most one of Body, JSON and
// BodyFile is set.
type WeightedRequest struct {
	// Weight defaults to 1.
	Weight float64 `yaml:"weight" json:"weight"`
	// Method defaults to GET.
	Method string `yaml:"method" json:"method"`
	Path   string `yaml:"path" json:"path"`
	// Headers are added to Request.Headers for this entry; an entry's header wins over a
	// shared one of the same name.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Body is sent as written.
	Body string `yaml:"body,omitempty" json:"body,omitempty"`
	// JSON is a body written in the profile as YAML or JSON and sent as compact JSON, keys in
	// the order written, with Content-Type: application/json unless a header sets one.
	JSON JSONBody `yaml:"json,omitempty" json:"json,omitempty"`
	// BodyFile is sent as the body; relative to the profile file.
	BodyFile string `yaml:"body_file,omitempty" json:"body_file,omitempty"`
}

// JSONBody is a request body held as compact JSON text. It reads from any YAML value and
// writes back as that value, so a profile round-trips through Marshal.
type JSONBody []byte
