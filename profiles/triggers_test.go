package profiles

import (
	"strings"
	"testing"
	"time"
)

const triggerBase = `
phases: [{name: steady, duration: 30s, rate: 100}]
slo: {latency: 500ms}
`

func TestParseTriggers(t *testing.T) {
	p, err := Parse([]byte(triggerBase+`
triggers:
  - name: db-outage
    at: 10s
    for: 5s
    start: {url: /control/db, body: '{"refuse_connections": true}', headers: {Content-Type: application/json}}
    stop: {method: PUT, url: "http://chaos.local:8080/api/stop"}
  - {at: 0s, start: {url: "https://chaos.local/api/experiments/x/start"}}
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Triggers
	if len(tr) != 2 || tr[0].Name != "db-outage" || tr[0].At != Duration(10*time.Second) || tr[0].For != Duration(5*time.Second) {
		t.Fatalf("triggers %+v", tr)
	}
	if tr[0].Start.MethodOrDefault() != "POST" || tr[0].Stop.MethodOrDefault() != "PUT" || tr[0].Start.Headers["Content-Type"] != "application/json" {
		t.Errorf("calls %+v / %+v", tr[0].Start, *tr[0].Stop)
	}
	if s, e := tr[0].Window(); s != 10*time.Second || e != 15*time.Second {
		t.Errorf("window %v–%v, want 10s–15s", s, e)
	}
	if tr[1].Label(1) != "trigger 2" || tr[1].Stop != nil {
		t.Errorf("second trigger %+v", tr[1])
	}
	u, err := tr[0].Start.ResolveURL("http://127.0.0.1:8080/base/")
	if err != nil || u != "http://127.0.0.1:8080/base/control/db" {
		t.Errorf("resolved %q, %v", u, err)
	}
	if u, _ := tr[1].Start.ResolveURL("http://127.0.0.1:8080"); u != "https://chaos.local/api/experiments/x/start" {
		t.Errorf("an absolute URL resolved to %q", u)
	}
	if q := p.Scaled(1, 2); q.Triggers[0].At != Duration(20*time.Second) || q.Triggers[0].For != Duration(10*time.Second) || p.Triggers[0].At != Duration(10*time.Second) {
		t.Errorf("--time-scale 2 moved the trigger to %s for %s (original now %s)", q.Triggers[0].At, q.Triggers[0].For, p.Triggers[0].At)
	}
}

func TestTriggerErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"after the run", `[{at: 30s, start: {url: /x}}]`, "triggers[0].at: 30s is not within the run"},
		{"window past the end", `[{at: 20s, for: 15s, start: {url: /x}, stop: {url: /y}}]`, "triggers[0].for: 15s ends at 35s"},
		{"stop without for", `[{at: 1s, start: {url: /x}, stop: {url: /y}}]`, "triggers[0].stop: set without for"},
		{"not a URL", `[{at: 1s, start: {url: "ftp://h/x"}}]`, `triggers[0].start.url: "ftp://h/x" is not an http(s) URL`},
		{"no URL", `[{at: 1s, start: {method: POST}}]`, "triggers[0].start.url: missing"},
		{"bad method", `[{at: 1s, start: {url: /x, method: "PO ST"}}]`, "triggers[0].start.method"},
		{"misspelt key", `[{at: 1s, start: {url: /x}, stpo: {url: /y}}]`, "stpo"},
		{"for without unit", `[{at: 1s, for: 10, start: {url: /x}}]`, "triggers[0].for"},
		{"not a list", `{at: 1s}`, "triggers: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(triggerBase+"triggers: "+tt.yaml+"\n"), "t.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml:4:") && !strings.HasPrefix(err.Error(), "t.yaml:5:") {
				t.Errorf("error %q not placed on the triggers line", err)
			}
		})
	}
}

func TestRedactedTriggers(t *testing.T) {
	p, err := Parse([]byte(triggerBase+`
triggers:
  - at: 1s
    for: 2s
    start: {url: "http://admin:s3cret@chaos.local/api", headers: {Authorization: Bearer tok, X-Run: a}}
    stop: {url: /control/restore, headers: {cookie: sid=1}}
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	q := p.Redacted()
	out, err := q.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cret", "admin", "Bearer tok", "sid=1"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("redacted profile still holds %q:\n%s", secret, out)
		}
	}
	if q.Triggers[0].Start.Headers["X-Run"] != "a" || !strings.Contains(q.Triggers[0].Start.URL, "xxxxx@chaos.local") {
		t.Errorf("redaction went too far: %+v", q.Triggers[0].Start)
	}
	if p.Triggers[0].Start.Headers["Authorization"] != "Bearer tok" {
		t.Errorf("Redacted changed the original")
	}
}
