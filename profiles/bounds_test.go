package profiles

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// manyPhases is a profile of n one-second phases, one per line.
func manyPhases(n int) string {
	var b strings.Builder
	b.WriteString("phases:\n")
	for range n {
		b.WriteString("  - {duration: 1s, rate: 1}\n")
	}
	return b.String()
}

// TestBounds checks every documented bound at its exact value (accepted) and one step past
// it (refused with a one-line error naming the field and the bound). Each row is a profile
// template with one %s for the value under test.
func TestBounds(t *testing.T) {
	const open = "phases:\n  - {duration: 1s, rate: 1}\n"
	tests := []struct {
		name     string
		template string
		ok, bad  string
		line     int
		want     []string
	}{
		{"rate", "phases:\n  - {duration: 1s, rate: %s}\n", "1000000", "1000000.5", 2,
			[]string{"phases[0].rate", "above the maximum rate 1000000", "MaxRate"}},
		{"rate 1e308", "phases:\n  - {duration: 1s, rate: %s}\n", "1e6", "1e308", 2,
			[]string{"phases[0].rate", "1e+308 is above the maximum rate 1000000"}},
		{"ramp to", "phases:\n  - {duration: 1s, from: 1, to: %s}\n", "1000000", "1000001", 2,
			[]string{"phases[0].to", "maximum rate 1000000"}},
		{"spike", "phases:\n  - {duration: 2s, rate: 1, spike: %s, spike_at: 0s, spike_for: 1s}\n", "1000000", "2000000", 2,
			[]string{"phases[0].spike", "maximum rate"}},
		{"sine peak", "phases:\n  - {duration: 2s, rate: 500000, amplitude: %s, period: 1s}\n", "500000", "500001", 2,
			[]string{"phases[0].amplitude", "peaks at 1.000001e+06, above the maximum rate 1000000"}},
		{"point rate", "phases:\n  - points: [[0s, 1], [1s, %s]]\n", "1000000", "1000001", 2,
			[]string{"phases[0].points[1]", "maximum rate"}},
		{"exponential from", "phases:\n  - {duration: 10s, from: %s, to: 100, growth: exponential}\n", "0.001", "0.0009", 2,
			[]string{"phases[0].from", "below the minimum 0.001", "MinExponentialRate"}},
		{"exponential from 1e-300", "phases:\n  - {duration: 10s, from: %s, to: 100, growth: exponential}\n", "0.001", "1e-300", 2,
			[]string{"phases[0].from", "1e-300 is below the minimum 0.001"}},
		{"exponential to", "phases:\n  - {duration: 10s, from: 100, to: %s, growth: exponential}\n", "0.001", "0.000999", 2,
			[]string{"phases[0].to", "below the minimum 0.001"}},
		{"users", "phases:\n  - {duration: 1s, users: %s}\n", "100000", "100001", 2,
			[]string{"phases[0].users", "100001 is above the maximum 100000", "MaxUsers"}},
		{"users 1e8", "phases:\n  - {duration: 1s, users: %s}\n", "1", "100000000", 2,
			[]string{"phases[0].users", "MaxUsers"}},
		{"phase duration", "phases:\n  - {duration: %s, rate: 1}\n", "24h", "24h0m0.000000001s", 2,
			[]string{"phases[0].duration", "longer than the maximum 24h", "MaxDuration"}},
		{"phase of 2562047h", "phases:\n  - {duration: %s, rate: 1}\n", "24h", "2562047h", 2,
			[]string{"phases[0].duration", "2562047h", "maximum 24h"}},
		{"repeat", "phases:\n  - {duration: 1h, rate: 1, repeat: %s}\n", "24", "25", 2,
			[]string{"phases[0].repeat", "25h", "maximum 24h", "MaxDuration"}},
		{"run length", "phases:\n  - {duration: 12h, rate: 1}\n  - {duration: %s, rate: 1}\n", "12h", "12h0m0.000000001s", 3,
			[]string{"phases[1].duration", "the run's total length", "maximum 24h"}},
		{"period", "phases:\n  - {duration: 24h, rate: 2, amplitude: 1, period: %s}\n", "24h", "25h", 2,
			[]string{"phases[0].period", "maximum 24h"}},
		{"timeout", open + "client: {timeout: %s}\n", "24h", "25h", 3,
			[]string{"client.timeout", "maximum 24h"}},
		{"deadline", open + "client: {timeout: 1s, deadline: %s}\n", "24h", "2562047h", 3,
			[]string{"client.deadline", "maximum 24h"}},
		{"retry cap", open + "client:\n  retry: {policy: exponential, cap: %s}\n", "24h", "25h", 4,
			[]string{"client.retry.cap", "maximum 24h"}},
		{"retry base", open + "client:\n  retry: {policy: fixed, base: %s}\n", "24h", "25h", 4,
			[]string{"client.retry.base", "maximum 24h"}},
		{"think", "phases:\n  - {duration: 1s, users: 1}\nclient: {think: %s}\n", "24h", "25h", 3,
			[]string{"client.think", "maximum 24h"}},
		{"slo", open + "slo: {latency: %s}\n", "24h", "25h", 3,
			[]string{"slo.latency", "maximum 24h"}},
		{"max_attempts", open + "client:\n  retry: {policy: immediate, max_attempts: %s}\n", "100", "101", 4,
			[]string{"client.retry.max_attempts", "101 is above the maximum 100", "MaxAttempts"}},
		// 256 wrapped the record's one-byte attempt counter to 0: the request retried forever.
		{"max_attempts 256", open + "client:\n  retry: {policy: immediate, max_attempts: %s}\n", "100", "256", 4,
			[]string{"client.retry.max_attempts", "MaxAttempts"}},
		{"group max_attempts", open + "clients:\n  - {share: 1, retry: {policy: immediate, max_attempts: %s}}\n", "100", "300", 4,
			[]string{"clients[0].retry.max_attempts", "MaxAttempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fmt.Sprintf(tt.template, tt.ok)
			if _, err := Parse([]byte(in), "x.yaml"); err != nil {
				t.Fatalf("at the limit %s: %v\n%s", tt.ok, err, in)
			}
			p, err := Parse([]byte(fmt.Sprintf(tt.template, tt.bad)), "x.yaml")
			checkParseError(t, p, err, tt.line, tt.want)
		})
	}
}

// TestPhaseCountBound: a results record names its phase in one byte, so a 256th phase would
// wrap to phase 0 and double-count its rates.
func TestPhaseCountBound(t *testing.T) {
	if _, err := Parse([]byte(manyPhases(MaxPhases)), "x.yaml"); err != nil {
		t.Fatalf("%d phases: %v", MaxPhases, err)
	}
	p, err := Parse([]byte(manyPhases(MaxPhases+1)), "x.yaml")
	checkParseError(t, p, err, 1, []string{"phases", "256 phases", "at most 255", "MaxPhases"})
}

// TestProfileSizeBound: a million phases took 13 s and 2.2 GB to validate; the file is now
// refused by its size before its YAML is decoded.
func TestProfileSizeBound(t *testing.T) {
	huge := manyPhases(1_000_000)
	start := time.Now()
	p, err := Parse([]byte(huge), "x.yaml")
	checkParseError(t, p, err, 1, []string{"bytes", "larger than the maximum 1048576", "MaxProfileBytes"})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing a %d-byte profile took %s", len(huge), d)
	}
	// At the limit exactly: a comment pads a valid profile to MaxProfileBytes.
	exact := "phases:\n  - {duration: 1s, rate: 1}\n#"
	exact += strings.Repeat("x", MaxProfileBytes-len(exact))
	if _, err := Parse([]byte(exact), "x.yaml"); err != nil {
		t.Errorf("a profile of exactly %d bytes: %v", MaxProfileBytes, err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(file, []byte(exact+"x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err == nil || !strings.Contains(err.Error(), "MaxProfileBytes") {
		t.Errorf("Load of %d bytes: %v, want an error naming MaxProfileBytes", MaxProfileBytes+1, err)
	}
}

// TestBodyFileBounds: body_file is held in memory and sent with every attempt; /dev/zero was
// read forever.
func TestBodyFileBounds(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	profile := func(body string) string {
		f := filepath.Join(dir, "p-"+filepath.Base(body)+".yaml")
		data := "phases:\n  - {duration: 1s, rate: 1}\nrequest:\n  method: POST\n  body_file: " + body + "\n"
		if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	exact := write("exact.bin", MaxBodyBytes)
	p, err := Load(profile(exact))
	if err != nil {
		t.Fatalf("a body of exactly %d bytes: %v", MaxBodyBytes, err)
	}
	body, err := ReadBody(p.Request.BodyFile)
	if err != nil || len(body) != MaxBodyBytes {
		t.Fatalf("ReadBody: %d bytes, %v", len(body), err)
	}
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"one byte too many", write("big.bin", MaxBodyBytes+1), []string{"request.body_file", "10485761 bytes", "maximum 10485760", "MaxBodyBytes"}},
		{"/dev/zero", "/dev/zero", []string{"request.body_file", "/dev/zero is not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.body); err != nil {
				t.Skip(err)
			}
			_, err := Load(profile(tt.body))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != 5 || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Load: %v, want a one-line *ParseError on line 5", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not contain %q", err, w)
				}
			}
			// Read directly (a file that grew after Load, or a device), the body is still
			// bounded.
			if _, err := ReadBody(tt.body); err == nil || !strings.Contains(err.Error(), "MaxBodyBytes") && !strings.Contains(err.Error(), "regular") {
				t.Errorf("ReadBody(%s) = %v, want a bound error", tt.body, err)
			}
		})
	}
}

// TestScaledBounds: --rate-scale and --time-scale may push a valid profile past a bound; the
// scaled profile must be refused, naming the bound, not accepted as +Inf or 290 years.
func TestScaledBounds(t *testing.T) {
	open, _ := Builtin("steady") // 100/s for 20s
	closed, err := Parse([]byte("phases:\n  - {duration: 10s, users: 10}\n"), "closed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		p            *Profile
		rate, length float64
		want         string // "" for valid
	}{
		{"rate at the limit", open, MaxRate / 100, 1, ""},
		{"rate 1e300", open, 1e300, 1, "maximum rate 1000000"},
		{"time 1e300", open, 1, 1e300, "maximum 24h"},
		{"time to a day", open, 1, float64(24*time.Hour) / float64(open.Schedule().Duration()), ""},
		{"time past a day", open, 1, 2 * float64(24*time.Hour) / float64(open.Schedule().Duration()), "maximum 24h"},
		{"users at the limit", closed, MaxUsers / 10, 1, ""},
		{"users 1e300", closed, 1e300, 1, "MaxUsers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Scaled(tt.rate, tt.length).Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Scaled(%g, %g): %v", tt.rate, tt.length, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Scaled(%g, %g): %v, want %q", tt.rate, tt.length, err, tt.want)
			}
		})
	}
}

// TestCheckBounds is what the results reader relies on: a profile out of bounds, as an old
// version wrote with --time-scale 1e300, is refused without running the full validation.
func TestCheckBounds(t *testing.T) {
	base, _ := Builtin("steady")
	if err := base.CheckBounds(); err != nil {
		t.Fatalf("steady: %v", err)
	}
	tests := []struct {
		name   string
		modify func(*Profile)
		want   string
	}{
		{"stretched", func(p *Profile) { p.Phases[0].Duration = Duration(1<<63 - 1) }, "maximum 24h"},
		{"infinite rate", func(p *Profile) { r := math.Inf(1); p.Phases[0].Rate = &r }, "maximum rate"},
		{"too many phases", func(p *Profile) {
			for len(p.Phases) <= MaxPhases {
				p.Phases = append(p.Phases, p.Phases[0])
			}
		}, "MaxPhases"},
		{"too many groups", func(p *Profile) { p.Clients = make([]Client, MaxGroups+1) }, "at most 255 groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := Builtin("steady")
			tt.modify(p)
			err := p.CheckBounds()
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("CheckBounds: %v, want one line with %q", err, tt.want)
			}
		})
	}
}

// TestSchemaStatesBounds keeps docs/profile.schema.json's limits equal to the constants.
func TestSchemaStatesBounds(t *testing.T) {
	root := loadSchema(t).root
	get := func(path ...string) any {
		var v any = root
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("schema has no %v", path)
			}
			v = m[k]
		}
		return v
	}
	tests := []struct {
		path []string
		want float64
	}{
		{[]string{"$defs", "rate", "maximum"}, MaxRate},
		{[]string{"$defs", "phase", "properties", "users", "maximum"}, MaxUsers},
		{[]string{"$defs", "retry", "properties", "max_attempts", "maximum"}, MaxAttempts},
		{[]string{"properties", "phases", "maxItems"}, MaxPhases},
		{[]string{"$defs", "transport", "properties", "preconnect", "maximum"}, MaxPreconnect},
	}
	for _, tt := range tests {
		got, err := strconv.ParseFloat(fmt.Sprint(get(tt.path...)), 64)
		if err != nil || got != tt.want {
			t.Errorf("schema %v = %v, want %v", tt.path, get(tt.path...), tt.want)
		}
	}
}
