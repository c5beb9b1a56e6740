package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mix is a valid profile with a client mix; its line numbers are used by the error rows.
const mix = `name: m
phases:
  - {name: a, duration: 2s, rate: 10}
clients:
  - name: mobile
    share: 0.6
    timeout: 1s
    retry: {policy: immediate, max_attempts: 3}
  - name: web
    share: 0.4
    retry:
      policy: exponential
      on: [timeout, 503]
      budget: {type: ratio, percent: 20}
`

// closed is a valid closed-loop profile.
const closed = `name: c
phases:
  - {name: warm, duration: 2s, users: 5}
  - {name: hot, duration: 3s, users: 20}
client:
  timeout: 1s
  think: 100ms
`

func manyGroups(n int) string {
	var b strings.Builder
	b.WriteString("phases:\n  - {duration: 1s, rate: 1}\nclients:\n")
	for range n {
		fmt.Fprintf(&b, "  - {share: %v}\n", 1/float64(n))
	}
	return b.String()
}

func TestParseErrorsClientsAndRequests(t *testing.T) {
	r := strings.Replace
	tests := []struct {
		name  string
		input string
		line  int
		want  []string
	}{
		// client mix
		{"client beside clients", mix + "client:\n  timeout: 2s\n", 15, []string{"client: set together with clients", "not both"}},
		{"shares do not add up", r(mix, "share: 0.4", "share: 0.3", 1), 4, []string{"clients: the shares add up to 0.9", "add up to 1"}},
		{"share above 1", r(mix, "share: 0.6", "share: 1.5", 1), 6, []string{"clients[0].share", "1.5 is not in (0, 1]"}},
		{"share missing", r(mix, "    share: 0.4\n", "", 1), 9, []string{"clients[1].share", "0 is not in (0, 1]"}},
		{"share not a number", r(mix, "share: 0.4", "share: half", 1), 10, []string{"clients[1].share", `"half"`}},
		{"duplicate group", r(mix, "name: web", "name: mobile", 1), 9, []string{"clients[1].name", `"mobile" is also the name of clients[0]`}},
		{"default name collides", r(r(mix, "  - name: mobile\n    share", "  - share", 1), "name: web", "name: group-1", 1), 8, []string{"clients[1].name", `"group-1" is also the name of clients[0]`}},
		{"too many groups", manyGroups(256), 3, []string{"clients: 256 groups", "at most 255"}},
		{"empty clients", "phases:\n  - {duration: 1s, rate: 1}\nclients: []\n", 3, []string{"clients: an empty list"}},
		{"unknown group key", r(mix, "share: 0.6", "sharee: 0.6", 1), 6, []string{`unknown key "sharee"`}},
		{"name on the single client", r(valid, "  timeout: 1s", "  name: x\n  timeout: 1s", 1), 7, []string{`unknown key "name"`, "timeout, deadline, think, retry"}},
		// deadline and think
		{"deadline below timeout", r(mix, "    timeout: 1s", "    timeout: 1s\n    deadline: 500ms", 1), 8, []string{"clients[0].deadline", "500ms is below timeout 1s", "deadline >= timeout"}},
		{"deadline zero", r(valid, "  timeout: 1s", "  timeout: 1s\n  deadline: 0s", 1), 8, []string{"client.deadline", "not positive"}},
		{"think open-loop", r(valid, "  timeout: 1s", "  timeout: 1s\n  think: 1s", 1), 8, []string{"client.think", "open-loop", "closed-loop"}},
		{"think negative", r(closed, "think: 100ms", "think: -1s", 1), 7, []string{"client.think", "negative"}},
		// retry.on, retry_after, budget
		{"on bad code", r(mix, "[timeout, 503]", "[timeout, 99]", 1), 13, []string{"clients[1].retry.on[1]", `"99" is not a failure class`, "100 to 599"}},
		{"on bad class", r(mix, "[timeout, 503]", "[timeout, 5XX]", 1), 13, []string{"clients[1].retry.on[1]", `"5XX"`}},
		{"on padded code", r(mix, "[timeout, 503]", `[timeout, "0503"]`, 1), 13, []string{`"0503"`}},
		{"on twice", r(mix, "[timeout, 503]", "[503, timeout, 503]", 1), 13, []string{"on[2]", `"503" is also on[0]`}},
		{"on empty", r(mix, "[timeout, 503]", "[]", 1), 13, []string{"clients[1].retry.on: an empty list", "leave on out"}},
		{"on with none", r(valid, "policy: exponential\n    jitter: full", "policy: none\n    on: [timeout]", 1), 10, []string{"client.retry.on: set with policy none"}},
		{"retry_after with none", r(valid, "policy: exponential\n    jitter: full", "policy: none\n    retry_after: true", 1), 10, []string{"client.retry.retry_after: set with policy none"}},
		{"retry_after not a bool", r(valid, "jitter: full", "jitter: full\n    retry_after: yes", 1), 11, []string{"client.retry.retry_after", "true or false"}},
		{"budget with none", r(valid, "policy: exponential\n    jitter: full", "policy: none\n    budget: {type: ratio}", 1), 10, []string{"client.retry.budget: set with policy none"}},
		{"budget unknown type", r(mix, "type: ratio", "type: leaky", 1), 14, []string{"clients[1].retry.budget.type", `unknown budget type "leaky"`, "token-bucket, ratio"}},
		{"budget without type", r(mix, "type: ratio, ", "", 1), 14, []string{"budget.type", `unknown budget type ""`}},
		{"budget field of the other type", r(mix, "percent: 20", "max_tokens: 5", 1), 14, []string{"budget.max_tokens: set in a ratio budget", "percent, min_per_second, ttl"}},
		{"max_tokens too many", r(mix, "type: ratio, percent: 20", "type: token-bucket, max_tokens: 2000", 1), 14, []string{"budget.max_tokens", "2000 is not in (0, 1000]"}},
		{"max_tokens 0", r(mix, "type: ratio, percent: 20", "type: token-bucket, max_tokens: 0", 1), 14, []string{"budget.max_tokens", "0 reads as left out"}},
		{"token_ratio too fine", r(mix, "type: ratio, percent: 20", "type: token-bucket, token_ratio: 0.0001", 1), 14, []string{"budget.token_ratio", "below 0.001"}},
		{"token_ratio negative", r(mix, "type: ratio, percent: 20", "type: token-bucket, token_ratio: -1", 1), 14, []string{"budget.token_ratio"}},
		{"percent too high", r(mix, "percent: 20", "percent: 1500", 1), 14, []string{"budget.percent", "1500 is not in [0, 1000]"}},
		{"percent negative", r(mix, "percent: 20", "percent: -1", 1), 14, []string{"budget.percent", "-1 is not in [0, 1000]"}},
		{"min_per_second negative", r(mix, "percent: 20", "min_per_second: -1", 1), 14, []string{"budget.min_per_second", ">= 0"}},
		{"ttl too long", r(mix, "percent: 20", "ttl: 2m", 1), 14, []string{"budget.ttl", "2m is not from 1s to 60s"}},
		{"ttl too short", r(mix, "percent: 20", "ttl: 500ms", 1), 14, []string{"budget.ttl", "500ms"}},
		{"unknown budget key", r(mix, "percent: 20", "percentage: 20", 1), 14, []string{`unknown key "percentage"`}},
		// closed loop
		{"users 0", r(closed, "users: 5", "users: 0", 1), 3, []string{"phases[0].users", "0 is less than 1"}},
		{"users and rate", r(closed, "users: 5", "users: 5, rate: 3", 1), 3, []string{"phases[0].rate: set in a closed-loop phase", "users alone"}},
		{"users and points", r(closed, "{name: warm, duration: 2s, users: 5}", "{name: warm, users: 5, points: [[0, 1], [2s, 1]]}", 1), 3, []string{"phases[0].points: set in a closed-loop phase"}},
		{"closed after open", r(closed, "users: 5", "rate: 5", 1), 4, []string{"phases[1]: closed-loop (users) while phases[0] is open-loop (a rate)", "not a mix"}},
		{"open after closed", r(closed, "users: 20", "rate: 20", 1), 4, []string{"phases[1]: open-loop (a rate) while phases[0] is closed-loop (users)"}},
		{"closed without duration", r(closed, "{name: warm, duration: 2s, users: 5}", "{name: warm, users: 5}", 1), 3, []string{"phases[0].duration", "missing or 0"}},
		// request
		{"path and paths", valid + "request:\n  path: /a\n  paths: [{path: /b, weight: 1}]\n", 13, []string{"request.paths: set together with path"}},
		{"weight 0", valid + "request:\n  paths:\n    - {path: /a, weight: 1}\n    - {path: /b, weight: 0}\n", 14, []string{"request.paths[1].weight", "0 is not a finite weight > 0"}},
		{"weight missing", valid + "request:\n  paths:\n    - {path: /a}\n", 13, []string{"request.paths[0].weight"}},
		{"paths path relative", valid + "request:\n  paths:\n    - {path: a, weight: 1}\n", 13, []string{"request.paths[0].path", `"a" is not a path`}},
		{"paths empty", valid + "request:\n  paths: []\n", 12, []string{"request.paths: an empty list"}},
		{"bad header name", valid + "request:\n  headers:\n    Accept: text/plain\n    Bad Header: x\n", 14, []string{`request.headers["Bad Header"]`, "not a header name"}},
		{"header line break", valid + "request:\n  headers:\n    X-A: \"a\\r\\nX-B: b\"\n", 13, []string{`request.headers["X-A"]`, "line break"}},
		{"header twice", valid + "request:\n  headers:\n    Accept: a\n    accept: b\n", 14, []string{`request.headers["accept"]`, "set twice, first on line 13"}},
		{"header without value", valid + "request:\n  headers:\n    Accept:\n", 13, []string{`request.headers["Accept"]`, "is empty"}},
		{"headers a list", valid + "request:\n  headers: [a]\n", 12, []string{"request.headers", "expected a mapping of header names"}},
		{"targets_file with method", valid + "request:\n  targets_file: t.txt\n  method: POST\n", 13, []string{"request.method: set with targets_file"}},
		{"targets_file with headers", valid + "request:\n  targets_file: t.txt\n  headers: {A: b}\n", 13, []string{"request.headers: set with targets_file"}},
		{"targets_file with body", valid + "request:\n  targets_file: t.txt\n  body_file: b.json\n", 13, []string{"request.body_file: set with targets_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.input), "x.yaml")
			if tt.want == nil { // a row that must parse
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkParseError(t, p, err, tt.line, tt.want)
		})
	}
}

// Validate sees profiles built in Go, which can hold what no file can (a named single
// client, a header map with both "Cookie" and "cookie").
func TestValidateProfilesBuiltInGo(t *testing.T) {
	base := func() *Profile {
		p := &Profile{Name: "v", Phases: []Phase{{Duration: Duration(time.Second), Rate: ptr(1)}}}
		p.ApplyDefaults()
		return p
	}
	tests := []struct {
		name   string
		modify func(*Profile)
		want   string
	}{
		{"name on the single client", func(p *Profile) { p.Client.Name = "x" }, "client.name: set on the single client"},
		{"share on the single client", func(p *Profile) { p.Client.Share = 1 }, "client.share: set on the single client"},
		{"default client beside a mix", func(p *Profile) {
			p.Clients = []Client{{Name: "a", Share: 1, Timeout: Duration(time.Second), Retry: Retry{Policy: PolicyNone}}}
		}, ""},
		{"changed client beside a mix", func(p *Profile) {
			p.Client.Timeout = Duration(time.Second)
			p.Clients = []Client{{Name: "a", Share: 1, Timeout: Duration(time.Second), Retry: Retry{Policy: PolicyNone}}}
		}, "client: set together with clients"},
		{"unnamed group", func(p *Profile) {
			p.Clients = []Client{{Share: 1, Timeout: Duration(time.Second), Retry: Retry{Policy: PolicyNone}}}
		}, "clients[0].name: empty"},
		{"shares within 1e-6", func(p *Profile) {
			p.Clients = make([]Client, 3)
			for i := range p.Clients {
				p.Clients[i] = Client{Name: strconv.Itoa(i), Share: 0.333333, Timeout: 1, Retry: Retry{Policy: PolicyNone}}
			}
			p.Clients[2].Share = 0.333334
		}, ""},
		{"shares off by 1e-5", func(p *Profile) {
			p.Clients = []Client{{Name: "a", Share: 0.5, Timeout: 1, Retry: Retry{Policy: PolicyNone}}, {Name: "b", Share: 0.49999, Timeout: 1, Retry: Retry{Policy: PolicyNone}}}
		}, "clients: the shares add up to"},
		{"deadline equal to timeout", func(p *Profile) { p.Client.Deadline = p.Client.Timeout }, ""},
		{"negative deadline", func(p *Profile) { p.Client.Deadline = -1 }, "client.deadline"},
		{"users 0", func(p *Profile) { p.Phases[0] = Phase{Name: "p", Duration: Duration(time.Second), Users: new(int)} }, "phases[0].users: 0 is less than 1"},
		{"same header in two cases", func(p *Profile) { p.Request.Headers = map[string]string{"Cookie": "a", "cookie": "b"} }, `the same header as "Cookie"`},
		{"NaN weight", func(p *Profile) {
			p.Request.Path = ""
			p.Request.Paths = []WeightedPath{{Path: "/", Weight: math.NaN()}}
		}, "request.paths[0].weight"},
		{"targets_file after defaults", func(p *Profile) { p.Request.TargetsFile = "t" }, "request.method: set with targets_file"},
		{"status code on", func(p *Profile) {
			p.Client.Retry = Retry{Policy: PolicyImmediate, MaxAttempts: 2, On: []string{"503", RetryOn4xx}}
		}, ""},
	}
	for _, tt := range tests {
		p := base()
		tt.modify(p)
		err := p.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestDefaultsForMixesAndBudgets(t *testing.T) {
	p, err := Parse([]byte(`phases:
  - {duration: 1s, rate: 5}
clients:
  - share: 0.5
    retry: {policy: fixed, budget: {type: token-bucket}}
  - name: web
    share: 0.5
    timeout: 20s
    retry: {policy: exponential, budget: {type: ratio}}
request:
  paths: [{path: /a, weight: 1}]
`), "mix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Client{
		{Name: "group-1", Share: 0.5, Timeout: DefaultTimeout, Retry: Retry{Policy: PolicyFixed, MaxAttempts: 3, Base: DefaultBase,
			Budget: &Budget{Type: BudgetTokenBucket, MaxTokens: 10, TokenRatio: 0.1}}},
		{Name: "web", Share: 0.5, Timeout: Duration(20 * time.Second), Retry: Retry{Policy: PolicyExponential, MaxAttempts: 3, Base: DefaultBase, Cap: DefaultCap, Jitter: JitterFull,
			Budget: &Budget{Type: BudgetRatio, Percent: 20, MinPerSecond: 10, TTL: Duration(10 * time.Second)}}},
	}
	if !reflect.DeepEqual(p.Clients, want) {
		t.Errorf("groups\n got %+v\nwant %+v", p.Clients, want)
	}
	if p.Clients[0].Retry.On != nil {
		t.Errorf("retry.on filled in: %v", p.Clients[0].Retry.On)
	}
	if p.SLO.Latency != Duration(20*time.Second) {
		t.Errorf("slo.latency %v, want the longest group timeout 20s", p.SLO.Latency)
	}
	if !reflect.DeepEqual(p.Request, Request{Method: "GET", Paths: []WeightedPath{{"/a", 1}}}) {
		t.Errorf("request %+v: want GET and no default path beside paths", p.Request)
	}
	q := p.clone()
	q.ApplyDefaults()
	if !reflect.DeepEqual(&q, p) {
		t.Errorf("ApplyDefaults is not idempotent:\n%+v\n%+v", q, p)
	}
	tf := Profile{Request: Request{TargetsFile: "t.txt"}}
	tf.ApplyDefaults()
	if !reflect.DeepEqual(tf.Request, Request{TargetsFile: "t.txt"}) {
		t.Errorf("targets_file got defaults %+v", tf.Request)
	}
}

func TestRedacted(t *testing.T) {
	p, err := Parse([]byte(valid+`request:
  headers:
    authorization: Bearer s3cret
    Proxy-Authorization: Basic eA==
    COOKIE: id=1
    Accept: application/json
`), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	orig := p.clone()
	q := p.Redacted()
	want := map[string]string{"authorization": RedactedValue, "Proxy-Authorization": RedactedValue, "COOKIE": RedactedValue, "Accept": "application/json"}
	if !reflect.DeepEqual(q.Request.Headers, want) {
		t.Errorf("redacted headers %v, want %v", q.Request.Headers, want)
	}
	if !reflect.DeepEqual(p, &orig) || p.Request.Headers["authorization"] != "Bearer s3cret" {
		t.Errorf("Redacted changed the original: %v", p.Request.Headers)
	}
	// A deep copy: changing the copy's slices and pointers leaves p alone.
	*q.Phases[0].Rate = 99
	q.Client.Retry.Jitter = "x"
	if *p.Phases[0].Rate != 10 {
		t.Error("Redacted shares phases with the original")
	}
	js, _ := json.Marshal(q)
	if strings.Contains(string(js), "s3cret") || strings.Contains(string(js), "id=1") {
		t.Errorf("secret in redacted JSON: %s", js)
	}
	var empty Profile
	if r := empty.Redacted(); r.Request.Headers != nil {
		t.Errorf("redacting no headers made %v", r.Request.Headers)
	}
}

func TestGroups(t *testing.T) {
	single := mustParse(t, valid)
	g := single.Groups()
	if len(g) != 1 || g[0].Name != DefaultGroup || g[0].Share != 1 || g[0].Timeout != single.Client.Timeout || g[0].Retry.Policy != PolicyExponential {
		t.Errorf("single client groups %+v", g)
	}
	g[0].Timeout = 1
	if single.Client.Name != "" || single.Client.Timeout == 1 {
		t.Error("Groups gave the single client itself, not a copy")
	}
	m := mustParse(t, mix)
	g = m.Groups()
	if len(g) != 2 || g[0].Name != "mobile" || g[0].Share != 0.6 || g[1].Name != "web" || g[1].Share != 0.4 {
		t.Errorf("mix groups %+v", g)
	}
}

func mustParse(t *testing.T, s string) *Profile {
	t.Helper()
	p, err := Parse([]byte(s), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClosedLoopSchedule(t *testing.T) {
	p := mustParse(t, closed)
	if !p.ClosedLoop() || mustParse(t, valid).ClosedLoop() {
		t.Error("ClosedLoop wrong")
	}
	if p.PeakUsers() != 20 {
		t.Errorf("PeakUsers %d", p.PeakUsers())
	}
	s := p.Schedule()
	tests := []struct {
		at    time.Duration
		users int
		phase int
	}{
		{-time.Second, 0, 0}, {0, 5, 0}, {1999 * time.Millisecond, 5, 0}, {2 * time.Second, 20, 1},
		{4999 * time.Millisecond, 20, 1}, {5 * time.Second, 0, 1}, {time.Hour, 0, 1},
	}
	for _, tt := range tests {
		if got := s.UsersAt(tt.at); got != tt.users {
			t.Errorf("UsersAt(%v) = %d, want %d", tt.at, got, tt.users)
		}
		if got := s.PhaseAt(tt.at); got != tt.phase {
			t.Errorf("PhaseAt(%v) = %d, want %d", tt.at, got, tt.phase)
		}
	}
	// No open-loop first attempts: nothing to pace, not even one at 0.
	if s.Total() != 0 || s.RateAt(time.Second) != 0 || p.PeakRate() != 0 {
		t.Errorf("closed-loop schedule has first attempts: total %v", s.Total())
	}
	for _, n := range []float64{0, 1, 100} {
		if at, ok := s.TimeOf(n); ok {
			t.Errorf("TimeOf(%v) = %v, true; want no first attempt", n, at)
		}
	}
	if got := mustParse(t, valid).Schedule().UsersAt(time.Second); got != 0 {
		t.Errorf("open-loop UsersAt = %d", got)
	}
}

func TestScaledUsersAndThink(t *testing.T) {
	p := mustParse(t, closed)
	tests := []struct {
		rate, length float64
		users        [2]int
		think        time.Duration
	}{
		{2, 0.5, [2]int{10, 40}, 50 * time.Millisecond},
		{0.1, 2, [2]int{1, 2}, 200 * time.Millisecond}, // 0.5 rounds to 1 (at least 1), 2 stays
		{0.01, 1, [2]int{1, 1}, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		q := p.Scaled(tt.rate, tt.length)
		if *q.Phases[0].Users != tt.users[0] || *q.Phases[1].Users != tt.users[1] || time.Duration(q.Client.Think) != tt.think {
			t.Errorf("Scaled(%v, %v): users %d %d think %v; want %v %v", tt.rate, tt.length, *q.Phases[0].Users, *q.Phases[1].Users, q.Client.Think, tt.users, tt.think)
		}
		if err := q.Validate(); err != nil {
			t.Error(err)
		}
	}
	if *p.Phases[0].Users != 5 || p.Client.Think != Duration(100*time.Millisecond) {
		t.Error("Scaled changed the original")
	}
	m := mustParse(t, strings.Replace(closed, "client:\n  timeout: 1s\n  think: 100ms\n", "clients:\n  - {share: 1, think: 1s}\n", 1))
	if q := m.Scaled(1, 3); q.Clients[0].Think != Duration(3*time.Second) || m.Clients[0].Think != Duration(time.Second) {
		t.Errorf("group think scaled to %v (original now %v)", q.Clients[0].Think, m.Clients[0].Think)
	}
}

// roundTrip covers every new field: a client mix with a deadline, status codes, Retry-After
// and both budget types, weighted paths, headers and a body; and a closed-loop profile with a
// targets file.
const roundTrip = `name: every-field
phases:
  - {name: a, duration: 2s, rate: 10}
clients:
  - name: mobile
    share: 0.25
    timeout: 1s
    deadline: 3s
    retry:
      policy: immediate
      max_attempts: 4
      on: [timeout, connection, "503", 429]
      retry_after: true
      budget: {type: token-bucket, max_tokens: 20, token_ratio: 0.5}
  - name: web
    share: 0.75
    retry:
      policy: exponential
      budget: {type: ratio, percent: 10, min_per_second: 2.5, ttl: 5s}
request:
  method: POST
  paths:
    - {path: /api/orders, weight: 3}
    - {path: "/api/orders?page=2", weight: 1.5}
  headers:
    Content-Type: application/json
    Authorization: Bearer x
  body_file: body.json
`

const roundTripClosed = `name: closed-every-field
phases:
  - {name: warm, duration: 2s, users: 5, repeat: 2}
  - {name: hot, duration: 3s, users: 50}
client:
  timeout: 1s
  deadline: 2s
  think: 250ms
  retry: {policy: fixed, base: 10ms, on: [5xx, 4xx]}
request:
  targets_file: targets.txt
`

func TestRoundTripMixAndClosedLoopThroughSchema(t *testing.T) {
	c := loadSchema(t)
	for _, src := range []string{roundTrip, roundTripClosed} {
		p := mustParse(t, src)
		data, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Clients) > 0 && strings.Contains(string(data), "\nclient:") {
			t.Errorf("the unused single client was written beside the mix:\n%s", data)
		}
		q, err := Parse(data, "again.yaml")
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("YAML round trip changed %s:\n%+v\n%+v\n%s", p.Name, p, q, data)
		}
		js := checkJSONRoundTrip(t, p)
		// JSON is YAML: a results header's profile parses back too.
		if s, err := Parse(js, "again.json"); err != nil || !reflect.DeepEqual(p, s) {
			t.Errorf("Parse of the JSON form: %v\n%s", err, js)
		}
		if errs := c.check(c.root, decodeJSON(t, js), p.Name); len(errs) > 0 {
			t.Errorf("%s does not match the schema:\n%s\n%s", p.Name, strings.Join(errs, "\n"), js)
		}
	}
}

func TestSchemaRefusesBadClientsAndRequests(t *testing.T) {
	c := loadSchema(t)
	for _, doc := range []string{
		`{"phases":[{"duration":"1s","users":0}]}`,
		`{"phases":[{"duration":"1s","rate":1}],"clients":[{"name":"a"}]}`,
		`{"phases":[{"duration":"1s","rate":1}],"clients":[{"share":2}]}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"fixed","on":["5XX"]}}}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"fixed","on":[600]}}}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"fixed","budget":{"type":"leaky"}}}}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"fixed","budget":{"max_tokens":5}}}}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"fixed","retry_after":"yes"}}}`,
		`{"phases":[{"duration":"1s","rate":1}],"request":{"paths":[{"path":"/a"}]}}`,
		`{"phases":[{"duration":"1s","rate":1}],"request":{"paths":[{"path":"a","weight":1}]}}`,
		`{"phases":[{"duration":"1s","rate":1}],"request":{"headers":[]}}`,
	} {
		if errs := c.check(c.root, decodeJSON(t, []byte(doc)), "p"); len(errs) == 0 {
			t.Errorf("%s: accepted", doc)
		}
	}
}

func TestLoadResolvesFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		f := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	body := write("data/body.json", "{}")
	targets := write("targets.txt", "GET http://x/\n")
	abs := write("abs.yaml", valid+"request:\n  body_file: "+body+"\n")
	rel := write("sub/../rel.yaml", valid+"request:\n  body_file: data/body.json\n")
	tgt := write("tgt.yaml", valid+"request:\n  targets_file: targets.txt\n")
	missing := write("missing.yaml", valid+"request:\n  method: POST\n  body_file: nope.json\n")
	isDir := write("dir.yaml", valid+"request:\n  targets_file: data\n")

	for _, tt := range []struct {
		file      string
		body, tgt string
	}{{abs, body, ""}, {rel, body, ""}, {tgt, "", targets}} {
		p, err := Load(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if p.Request.BodyFile != tt.body || p.Request.TargetsFile != tt.tgt {
			t.Errorf("Load(%s): body %q targets %q, want %q %q", tt.file, p.Request.BodyFile, p.Request.TargetsFile, tt.body, tt.tgt)
		}
	}
	for _, tt := range []struct {
		file string
		want []string
	}{
		{missing, []string{missing + ":13: request.body_file: " + filepath.Join(dir, "nope.json") + ": no such file", "relative to the profile's directory"}},
		{isDir, []string{isDir + ":12: request.targets_file:", "is a directory"}},
	} {
		_, err := Load(tt.file)
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Load(%s) = %v, want a one-line *ParseError", tt.file, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%s) error %q does not contain %q", tt.file, err, w)
			}
		}
	}
	// Parse alone leaves names as written: it has no directory to resolve them against.
	if p := mustParse(t, valid+"request:\n  body_file: data/body.json\n"); p.Request.BodyFile != "data/body.json" {
		t.Errorf("Parse changed body_file to %q", p.Request.BodyFile)
	}
}

func TestLongestTimeout(t *testing.T) {
	p := &Profile{Client: Client{Timeout: Duration(2 * time.Second)}}
	if got := p.LongestTimeout(); got != 2*time.Second {
		t.Errorf("single client: %s, want 2s", got)
	}
	p.Clients = []Client{{Timeout: Duration(time.Second)}, {Timeout: Duration(3 * time.Second)}, {Timeout: Duration(500 * time.Millisecond)}}
	if got := p.LongestTimeout(); got != 3*time.Second {
		t.Errorf("mix: %s, want 3s (Client is not used when Clients is set)", got)
	}
}
