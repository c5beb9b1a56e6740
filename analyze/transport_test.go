package analyze

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// TestTransportIsShown: the protocols the responses came in and the connections opened,
// from the trailer, and TLS verification being off, from the header, appear in the text,
// Markdown and JSON reports; a file that records none of them (written before they existed)
// reads as before, with no transport line.
func TestTransportIsShown(t *testing.T) {
	cases := []struct {
		name      string
		protocols map[string]uint64
		conns     uint64
		insecure  bool
		want      string // "" : no transport line
	}{
		{"http2", map[string]uint64{"HTTP/2.0": 120}, 2, false, "transport: HTTP/2.0 100% of 120 responses, 2 connections opened"},
		{"mixed", map[string]uint64{"HTTP/1.1": 25, "HTTP/2.0": 75}, 30, false, "transport: HTTP/2.0 75%, HTTP/1.1 25% of 100 responses, 30 connections opened"},
		{"insecure", map[string]uint64{"HTTP/1.1": 10}, 10, true, "HTTP/1.1 100% of 10 responses, 10 connections opened, TLS certificates NOT verified (--insecure)"},
		{"an older file", nil, 0, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := testHeader(testfix.Phase("base", 1, 1))
			if tc.insecure {
				h.Profile.Transport = &profiles.Transport{TLS: &profiles.TLS{Insecure: true}}
			}
			tr := &results.Trailer{End: t0.Add(time.Second), Protocols: tc.protocols, Connections: tc.conns}
			rep := New(h, DefaultOptions()).Finish(tr, nil)
			var b strings.Builder
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if err := rep.writeMarkdown(&b); err != nil {
				t.Fatal(err)
			}
			text := b.String()
			if tc.want != "" && strings.Count(text, tc.want) != 2 {
				t.Errorf("text and Markdown should each say %q:\n%s", tc.want, text)
			}
			if tc.want == "" && strings.Contains(text, "transport:") {
				t.Errorf("a transport line for a file without one:\n%s", text)
			}
			if warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "TLS certificates were not verified"); warned != tc.insecure {
				t.Errorf("insecure %v, warnings %q", tc.insecure, rep.Warnings)
			}
			data, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Protocols   map[string]uint64 `json:"protocols"`
				Connections *uint64           `json:"connections"`
				Insecure    *bool             `json:"tls_insecure"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			want := tc.protocols
			if want == nil {
				want = map[string]uint64{}
			}
			if !reflect.DeepEqual(got.Protocols, want) || got.Connections == nil || *got.Connections != tc.conns ||
				got.Insecure == nil || *got.Insecure != tc.insecure {
				t.Errorf("JSON %s", data)
			}
		})
	}
}

// TestEngineIsShown: the engine that sent the attempts, and why, from the header, is on the
// transport line of the text and Markdown reports and in the JSON; a file from before
// engines existed shows none.
func TestEngineIsShown(t *testing.T) {
	for _, tc := range []struct{ engine, reason, want string }{
		{"fast", "auto: the profile needs only HTTP/1.1", "; engine fast (auto: the profile needs only HTTP/1.1)"},
		{"std", "auto: h2c (cleartext HTTP/2), which only std does", "; engine std (auto: h2c (cleartext HTTP/2), which only std does)"},
		{"", "", ""},
	} {
		h := testHeader(testfix.Phase("base", 1, 1))
		h.Engine, h.EngineReason = tc.engine, tc.reason
		rep := New(h, DefaultOptions()).Finish(&results.Trailer{End: t0.Add(time.Second), Protocols: map[string]uint64{"HTTP/1.1": 10}, Connections: 2}, nil)
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if err := rep.writeMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(b.String(), "engine "); tc.want != "" && strings.Count(b.String(), tc.want) != 2 || tc.want == "" && n != 0 {
			t.Errorf("engine %q: want %q in text and Markdown:\n%s", tc.engine, tc.want, b.String())
		}
		data, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Engine, EngineReason string }
		if err := json.Unmarshal(data, &struct {
			Engine       *string `json:"engine"`
			EngineReason *string `json:"engine_reason"`
		}{&got.Engine, &got.EngineReason}); err != nil {
			t.Fatal(err)
		}
		if got.Engine != tc.engine || got.EngineReason != tc.reason {
			t.Errorf("JSON %s", data)
		}
	}
}
