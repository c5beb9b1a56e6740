package profiles

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// valid is a minimal profile that Parse accepts; the error cases below each break one thing
// in a copy of it, so that a row fails only for its own reason.
const valid = `name: t
phases:
  - name: a
    duration: 2s
    rate: 10
client:
  timeout: 1s
  retry:
    policy: exponential
    jitter: full
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int
		want  []string // words the message must contain
	}{
		{"unknown key", strings.Replace(valid, "    rate: 10", "    rate: 10\n    rat: 5", 1), 6, []string{`unknown key "rat"`, "expected one of", "rate"}},
		{"unknown top-level key", valid + "slos: {}\n", 11, []string{`unknown key "slos"`}},
		{"bad duration", strings.Replace(valid, "2s", "1 sec", 1), 4, []string{"phases[0].duration", `"1 sec" is not a duration`, "expected", "1.5s"}},
		{"duration without unit", strings.Replace(valid, "2s", "5", 1), 4, []string{"phases[0].duration", "no unit"}},
		{"negative rate", strings.Replace(valid, "rate: 10", "rate: -5", 1), 5, []string{"phases[0].rate", "-5 is negative", "expected", "rate >= 0"}},
		{"phase without rate", strings.Replace(valid, "    rate: 10\n", "", 1), 3, []string{"phases[0]", "no rate", "from and to"}},
		{"rate and from", strings.Replace(valid, "rate: 10", "rate: 10\n    from: 1\n    to: 2", 1), 5, []string{"phases[0].rate", "both rate and from/to"}},
		{"from without to", strings.Replace(valid, "rate: 10", "from: 10", 1), 5, []string{"phases[0].from", "from without to"}},
		{"zero duration", strings.Replace(valid, "2s", "0s", 1), 4, []string{"phases[0].duration", "not positive"}},
		{"negative timeout", strings.Replace(valid, "timeout: 1s", "timeout: -1s", 1), 7, []string{"client.timeout", "not positive"}},
		{"bad policy", strings.Replace(valid, "exponential", "exponentail", 1), 9, []string{"client.retry.policy", `unknown policy "exponentail"`, "exponential"}},
		{"bad jitter", strings.Replace(valid, "jitter: full", "jitter: partial", 1), 10, []string{"client.retry.jitter", `unknown jitter "partial"`, "decorrelated"}},
		{"jitter without exponential", strings.Replace(valid, "exponential", "fixed", 1), 10, []string{"client.retry.jitter", "policy fixed"}},
		{"max_attempts 0", strings.Replace(valid, "jitter: full", "max_attempts: 0", 1), 10, []string{"client.retry.max_attempts", "0 is less than 1"}},
		{"max_attempts not a number", strings.Replace(valid, "jitter: full", "max_attempts: three", 1), 10, []string{"client.retry.max_attempts", `"three"`}},
		{"cap below base", strings.Replace(valid, "jitter: full", "base: 2s\n    cap: 1s", 1), 11, []string{"client.retry.cap", "below base"}},
		{"rate is text", strings.Replace(valid, "rate: 10", "rate: lots", 1), 5, []string{"phases[0].rate", `"lots"`, "expected a rate"}},
		{"duplicate key", strings.Replace(valid, "rate: 10", "rate: 10\n    rate: 20", 1), 6, []string{"phases[0].rate", "set twice", "line 5"}},
		{"duplicate phase name", strings.Replace(valid, "client:", "  - name: a\n    duration: 1s\n    rate: 1\nclient:", 1), 6, []string{"phases[1].name", `"a" is also`}},
		{"phases not a list", "phases: 5\n", 1, []string{"phases", "expected a list"}},
		{"no phases", "name: x\nclient:\n  timeout: 1s\n", 1, []string{"phases", "no phases"}},
		{"all zero", strings.Replace(valid, "rate: 10", "rate: 0", 1), 2, []string{"phases", "rate 0"}},
		{"bad method", valid + "request:\n  method: G T\n", 12, []string{"request.method", "not an HTTP method"}},
		{"bad path", valid + "request:\n  path: api\n", 12, []string{"request.path", "not a path"}},
		{"not YAML at all", "phases: [1, 2\nname: {\n", 1, []string{"not valid YAML"}},
		{"a string, not a profile", "just some words\n", 1, []string{"the document is", `"just some words"`, "expected a mapping"}},
		{"tab indentation", "phases:\n\t- rate: 1\n", 2, []string{"not valid YAML"}},
		{"empty file", "", 1, []string{"empty profile", "expected"}},
		{"only comments", "# nothing here\n", 1, []string{"empty profile"}},
		{"two documents", valid + "---\nname: u\n", 11, []string{"second YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.input), "x.yaml")
			checkParseError(t, p, err, tt.line, tt.want)
		})
	}
}

// The valid base must itself parse, or every error row above would pass for the wrong reason.
func TestParseValidBase(t *testing.T) {
	if _, err := Parse([]byte(valid), "x.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse([]byte("phases:\n  - duration: 1s\n    rate: 5\n  - duration: 2s\n    from: 5\n    to: 0\n"), "dir/quiet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Profile{
		Name: "quiet",
		Phases: []Phase{
			{Name: "phase-1", Duration: Duration(time.Second), Rate: ptr(5)},
			{Name: "phase-2", Duration: Duration(2 * time.Second), From: ptr(5), To: ptr(0)},
		},
		Client:  Client{Timeout: DefaultTimeout, Retry: Retry{Policy: PolicyNone}},
		SLO:     SLO{Latency: DefaultTimeout},
		Request: Request{Method: "GET", Path: "/"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

func TestApplyDefaultsPerPolicy(t *testing.T) {
	tests := []struct {
		in, want Retry
	}{
		{Retry{}, Retry{Policy: PolicyNone}},
		{Retry{Policy: PolicyImmediate}, Retry{Policy: PolicyImmediate, MaxAttempts: 3}},
		{Retry{Policy: PolicyFixed}, Retry{Policy: PolicyFixed, MaxAttempts: 3, Base: DefaultBase}},
		{Retry{Policy: PolicyExponential}, Retry{Policy: PolicyExponential, MaxAttempts: 3, Base: DefaultBase, Cap: DefaultCap, Jitter: JitterFull}},
		{Retry{Policy: PolicyExponential, MaxAttempts: 5, Jitter: JitterEqual}, Retry{Policy: PolicyExponential, MaxAttempts: 5, Base: DefaultBase, Cap: DefaultCap, Jitter: JitterEqual}},
	}
	for _, tt := range tests {
		p := Profile{Client: Client{Timeout: Duration(time.Second), Retry: tt.in}}
		p.ApplyDefaults()
		if !reflect.DeepEqual(p.Client.Retry, tt.want) {
			t.Errorf("defaults of %+v: got %+v, want %+v", tt.in, p.Client.Retry, tt.want)
		}
		if p.SLO.Latency != Duration(time.Second) {
			t.Errorf("slo latency %v, want the client timeout 1s", p.SLO.Latency)
		}
	}
}

func ptr(v float64) *float64 { return &v }

func TestBuiltinRoundTrip(t *testing.T) {
	names := BuiltinNames()
	if len(names) == 0 {
		t.Fatal("no built-in profiles")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, ok := Builtin(name)
			if !ok {
				t.Fatalf("Builtin(%q) not found although listed", name)
			}
			if p.Name != name {
				t.Errorf("file %s.yaml holds profile %q", name, p.Name)
			}
			if strings.TrimSpace(p.Description) == "" {
				t.Error("no description")
			}
			data, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			q, err := Parse(data, name)
			if err != nil {
				t.Fatalf("reparse: %v\n%s", err, data)
			}
			if !reflect.DeepEqual(p, q) {
				t.Errorf("round trip changed the profile:\n%+v\n%+v", p, q)
			}
			// JSON is how results files carry the profile.
			checkJSONRoundTrip(t, p)
		})
	}
}

// The built-ins' numbers are tuned to the built-in target; this pins them.
func TestBuiltinNumbers(t *testing.T) {
	type phase struct {
		name     string
		d        time.Duration
		from, to float64
	}
	storm := []phase{{"night", 5 * time.Second, 200, 200}, {"commute", 3 * time.Second, 200, 600}, {"peak", 6 * time.Second, 600, 600}, {"after", 16 * time.Second, 200, 200}}
	exp := Retry{Policy: PolicyExponential, MaxAttempts: 3, Base: Duration(50 * time.Millisecond), Cap: Duration(time.Second), Jitter: JitterFull}
	tests := []struct {
		name   string
		phases []phase
		retry  Retry
	}{
		{"monday-morning", storm, exp},
		{"retry-storm", storm, Retry{Policy: PolicyImmediate, MaxAttempts: 4}},
		{"steady", []phase{{"steady", 20 * time.Second, 100, 100}}, exp},
	}
	if got, want := BuiltinNames(), []string{"capacity-ramp", "db-outage", "diurnal", "flash-crowd", "monday-morning", "retry-storm", "steady"}; !reflect.DeepEqual(got, want) {
		t.Errorf("BuiltinNames() = %v, want %v", got, want)
	}
	for _, tt := range tests {
		p, ok := Builtin(tt.name)
		if !ok {
			t.Fatalf("no built-in %q", tt.name)
		}
		if len(p.Phases) != len(tt.phases) {
			t.Fatalf("%s: %d phases, want %d", tt.name, len(p.Phases), len(tt.phases))
		}
		sched := p.Schedule()
		for i, w := range tt.phases {
			ph, sp := p.Phases[i], sched.Spans[i]
			length := sp.End - sp.Start
			if ph.Name != w.name || time.Duration(ph.Duration) != w.d ||
				sp.Shape.Rate(0) != w.from || sp.Shape.Rate(length-1) < w.to-0.001 || sp.Shape.Rate(length-1) > w.to+0.001 {
				t.Errorf("%s phase %d = %+v, want %+v", tt.name, i, ph, w)
			}
		}
		if !reflect.DeepEqual(p.Client.Retry, tt.retry) {
			t.Errorf("%s retry = %+v, want %+v", tt.name, p.Client.Retry, tt.retry)
		}
		if p.Client.Timeout != Duration(time.Second) || p.SLO.Latency != Duration(500*time.Millisecond) ||
			!reflect.DeepEqual(p.Request, Request{Method: "GET", Path: "/api/orders"}) {
			t.Errorf("%s client/slo/request = %+v %+v %+v", tt.name, p.Client, p.SLO, p.Request)
		}
	}
}

func TestBuiltinReturnsCopies(t *testing.T) {
	a, _ := Builtin("steady")
	*a.Phases[0].Rate = 1
	b, _ := Builtin("steady")
	if *b.Phases[0].Rate != 100 {
		t.Errorf("modifying one Builtin result changed the next: rate %v", *b.Phases[0].Rate)
	}
	if _, ok := Builtin("nope"); ok {
		t.Error(`Builtin("nope") found something`)
	}
	if _, ok := Builtin("../builtin/steady"); ok {
		t.Error("Builtin accepted a path")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(file, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("phases: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg      string
		wantName string
		wantErr  []string
	}{
		{"monday-morning", "monday-morning", nil},
		{file, "t", nil},
		{bad, "", []string{bad + ":1:", "no phases"}},
		{"stedy", "", []string{`unknown profile "stedy"`, "not a built-in (capacity-ramp, db-outage, diurnal, flash-crowd, monday-morning, retry-storm, steady)", "no such file"}},
	}
	for _, tt := range tests {
		p, err := Load(tt.arg)
		if tt.wantErr == nil {
			if err != nil || p.Name != tt.wantName {
				t.Errorf("Load(%q) = %v, %v; want profile %q", tt.arg, p, err, tt.wantName)
			}
			continue
		}
		if err == nil {
			t.Errorf("Load(%q) succeeded", tt.arg)
			continue
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%q) error %q does not contain %q", tt.arg, err, w)
			}
		}
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{1500 * time.Millisecond, "1.5s"},
		{500 * time.Millisecond, "500ms"},
		{time.Minute, "1m"},
		{90 * time.Minute, "1h30m"},
		{2 * time.Hour, "2h"},
		{0, "0s"},
		{-time.Second, "-1s"},
	}
	for _, tt := range tests {
		d := Duration(tt.d)
		if got := d.String(); got != tt.want {
			t.Errorf("String(%v) = %q, want %q", tt.d, got, tt.want)
		}
		js, err := json.Marshal(d)
		if err != nil || string(js) != `"`+tt.want+`"` {
			t.Errorf("MarshalJSON(%v) = %s, %v", tt.d, js, err)
		}
		var back Duration
		if err := json.Unmarshal(js, &back); err != nil || back != d {
			t.Errorf("UnmarshalJSON(%s) = %v, %v", js, back, err)
		}
	}
	for _, in := range []string{`5`, `"5"`, `"1 sec"`, `null`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("UnmarshalJSON(%s) accepted it as %v", in, d)
		}
	}
}

func TestValidate(t *testing.T) {
	base := func() *Profile {
		p := &Profile{Name: "v", Phases: []Phase{{Duration: Duration(time.Second), Rate: ptr(1)}}}
		p.ApplyDefaults()
		return p
	}
	tests := []struct {
		name   string
		modify func(*Profile)
		want   string // "" for valid
	}{
		{"defaults are valid", func(*Profile) {}, ""},
		{"no phases", func(p *Profile) { p.Phases = nil }, "phases: no phases"},
		{"NaN rate", func(p *Profile) { p.Phases[0].Rate = ptr(math.NaN()) }, "phases[0].rate: NaN is not finite"},
		{"no timeout", func(p *Profile) { p.Client.Timeout = 0 }, "client.timeout: missing or 0"},
		{"none with attempts", func(p *Profile) { p.Client.Retry.MaxAttempts = 2 }, "max_attempts: 2 with policy none"},
		{"immediate with base", func(p *Profile) { p.Client.Retry = Retry{Policy: PolicyImmediate, MaxAttempts: 2, Base: 1} }, "base: set with policy immediate"},
		{"exponential without jitter", func(p *Profile) {
			p.Client.Retry = Retry{Policy: PolicyExponential, MaxAttempts: 2, Base: 1, Cap: 2}
		}, `unknown jitter ""`},
		{"empty method", func(p *Profile) { p.Request.Method = "" }, "request.method"},
		{"absolute URL", func(p *Profile) { p.Request.Path = "http://x/y" }, "request.path"},
		{"overflowing length", func(p *Profile) {
			p.Phases = append(p.Phases, Phase{Name: "long", Duration: math.MaxInt64, Rate: ptr(1)})
		}, "phases[1].duration: 2562047h47m16.854775807s is longer than the maximum 24h"},
		{"run past MaxDuration", func(p *Profile) {
			p.Phases = append(p.Phases, Phase{Name: "long", Duration: MaxDuration, Rate: ptr(1)})
		}, "phases[1].duration: the run's total length reaches 24h0m1s, longer than the maximum 24h"},
	}
	for _, tt := range tests {
		p := base()
		tt.modify(p)
		err := p.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `profile "v": `)):
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}
