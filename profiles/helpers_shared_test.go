package profiles

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/curve"
)

// checkParseError asserts that Parse refused its input with one line that starts with the
// source and line of the problem, carries that line in its *ParseError, and names the words in
// want.
func checkParseError(t *testing.T, p *Profile, err error, line int, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Parse accepted it: %+v", p)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error has more than one line: %q", msg)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != line {
		t.Errorf("error %q: want line %d", msg, line)
	}
	if prefix := "x.yaml:" + strconv.Itoa(line) + ": "; !strings.HasPrefix(msg, prefix) {
		t.Errorf("error %q does not start with %q", msg, prefix)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

// attemptsPerPhase plays the pacer over s without real time: attempt k is sent at TimeOf(k).
// It returns how many land in each phase and how many there are in all, failing if TimeOf goes
// backwards or past the end.
func attemptsPerPhase(t *testing.T, s *curve.Schedule) (perPhase []int, total int) {
	t.Helper()
	perPhase = make([]int, len(s.Spans))
	prev := time.Duration(-1)
	for ; ; total++ {
		at, ok := s.TimeOf(float64(total))
		if !ok {
			return perPhase, total
		}
		if at < prev || at >= s.Duration() {
			t.Fatalf("TimeOf(%d) = %v after %v, run ends %v", total, at, prev, s.Duration())
		}
		prev = at
		perPhase[s.PhaseAt(at)]++
	}
}

// checkJSONRoundTrip asserts that p survives JSON, as results headers carry it, and returns
// the JSON.
func checkJSONRoundTrip(t *testing.T, p *Profile) []byte {
	t.Helper()
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var r Profile
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, &r) {
		t.Errorf("JSON round trip changed %s:\n%s", p.Name, js)
	}
	return js
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }
