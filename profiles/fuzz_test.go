package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary documents to the profile parser and validator: it must never
// panic; an error is one *ParseError line naming the source; a profile it accepts validates,
// is within bounds, and marshals to YAML that parses back to an equal profile whose
// marshalling is byte-for-byte the same (parse → marshal → parse is stable).
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"builtin", "../examples"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"phases: [{duration: 1s, rate: 10}]",
		"name: x\nphases:\n  - {name: a, duration: 2s, from: 1, to: 100}\n  - {name: b, duration: 1s, rate: max}\n",
		"phases: [{duration: 1s, rate: 1e309}]",
		"phases: [{duration: 1s, users: 3}]\nclient: {timeout: 1ms, retry: {policy: exponential, max_attempts: 3}}",
		"phases: [{duration: 1s, rate: 5}]\nrequest: {headers: {Authorization: 'Bearer ${TOKEN}'}, paths: [{path: /a, weight: 2}, {path: /b}]}",
		"phases: [{duration: 1s, rate: 5}]\nclients: [{name: a, share: 0.5}, {name: b, share: 0.5}]",
		"{}", "", "- 1", "phases: &a [*a]", "phases: [{duration: 1s, rate: 5}]\nphases: []",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v, want a *ParseError", err, err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "fuzz.yaml:") {
				t.Fatalf("error does not name the source: %q", msg)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted a profile Validate refuses: %v", err)
		}
		if err := p.CheckBounds(); err != nil {
			t.Fatalf("Parse accepted a profile out of bounds: %v", err)
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		q, err := Parse(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("Marshal wrote a profile Parse refuses: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("parse → marshal → parse changed the profile:\n%#v\n%#v\n%s", p, q, out)
		}
		again, err := q.Marshal()
		if err != nil {
			t.Fatalf("Marshal again: %v", err)
		}
		if string(again) != string(out) {
			t.Fatalf("marshal not stable:\n%s\n---\n%s", out, again)
		}
	})
}
