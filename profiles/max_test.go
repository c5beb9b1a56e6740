package profiles

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

const maxYAML = `name: flat-out
phases:
  - {name: warm, duration: 1s, rate: 100}
  - {name: max, duration: 2s, rate: max}
  - {name: after, duration: 1s, rate: 50}
client:
  timeout: 1s
  retry: {policy: immediate, max_attempts: 3}
`

func TestRateMaxParsesAndRoundTrips(t *testing.T) {
	p, err := Parse([]byte(maxYAML), "max.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ph := p.Phases[1]
	if !ph.Max || ph.Rate != nil {
		t.Fatalf("phase %+v: want Max and no rate", ph)
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "rate: max") {
		t.Errorf("marshalled without rate: max:\n%s", out)
	}
	back, err := Parse(out, "again.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip changed the profile:\n%+v\n%+v", back, p)
	}
	// The results header carries the profile as JSON; the schema must accept it there.
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"max":true`) {
		t.Errorf("JSON without max: %s", js)
	}
	c := loadSchema(t)
	if errs := c.check(c.root, decodeJSON(t, js), p.Name); len(errs) > 0 {
		t.Errorf("schema refuses a rate: max profile: %v", errs)
	}
	var fromJSON Profile
	if err := json.Unmarshal(js, &fromJSON); err != nil || !fromJSON.Phases[1].Max {
		t.Errorf("JSON round trip lost max: %v %+v", err, fromJSON.Phases[1])
	}
}

func TestRateMaxSchedule(t *testing.T) {
	p, err := Parse([]byte(maxYAML), "max.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := p.Schedule()
	if !s.HasMax() {
		t.Fatal("HasMax false")
	}
	// The max phase is off the timetable: it adds no scheduled first attempts, so the
	// phases around it keep theirs, and the next one's first attempt is due at its start.
	if got := s.Total(); got != 150 {
		t.Errorf("Total = %v, want 150", got)
	}
	if at, ok := s.TimeOf(101); !ok || at != 3*time.Second+20*time.Millisecond {
		t.Errorf("TimeOf(101) = %s %v, want 3.02s", at, ok)
	}
	if s.RateAt(1500*time.Millisecond) != 0 {
		t.Errorf("RateAt in a max phase = %v, want 0", s.RateAt(1500*time.Millisecond))
	}
	if p.PeakRate() != 100 {
		t.Errorf("PeakRate = %v, want 100 (the max phase has no rate to size from)", p.PeakRate())
	}
	q, _ := Parse([]byte(strings.Replace(maxYAML, "rate: max", "rate: 10", 1)), "x.yaml")
	if q.Schedule().HasMax() {
		t.Error("HasMax true without a max phase")
	}
}

func TestRateMaxRefusals(t *testing.T) {
	for _, tt := range []struct{ phase, want string }{
		{`{name: a, duration: 1s, rate: maximum}`, "phases[0].rate"},
		{`{name: a, duration: 1s, rate: max, to: 5}`, "phases[0].to"},
		{`{name: a, rate: max}`, "phases[0].duration"},
	} {
		doc := "name: x\nphases:\n  - " + tt.phase + "\nclient: {timeout: 1s}\n"
		_, err := Parse([]byte(doc), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one naming %s", tt.phase, err, tt.want)
		}
	}
	closed := "name: x\nphases:\n  - {name: a, duration: 1s, users: 3}\n  - {name: b, duration: 1s, rate: max}\nclient: {timeout: 1s}\n"
	if _, err := Parse([]byte(closed), "x.yaml"); err == nil {
		t.Error("a rate: max phase in a closed-loop profile was accepted")
	}
}
