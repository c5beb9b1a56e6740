package gate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stormtest/stormtest/profiles"
)

// TestThresholds: the profile's gate: list comes first, then the flags; a bad expression
// names where it came from; none at all is an error naming the profile.
func TestThresholds(t *testing.T) {
	p := &profiles.Profile{Name: "ci", Gate: []string{"p99<500ms"}}
	ths, err := Thresholds(p.Name, p.Gate, []string{"verdict!=metastable"})
	if err != nil || len(ths) != 2 || ths[0].Expr != "p99<500ms" || ths[1].Expr != "verdict!=metastable" {
		t.Fatalf("merged %+v, %v", ths, err)
	}
	for _, tc := range []struct {
		gate, flags []string
		want        string
	}{
		{[]string{"p99<500"}, nil, "profile ci gate[0]: "},
		{nil, []string{"p99<fast"}, "--threshold: "},
		{nil, nil, "no thresholds: give --threshold EXPR or list them under gate: in the profile (ci has none)"},
	} {
		_, err := Thresholds("ci", tc.gate, tc.flags)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("gate %q, flags %q: %v, want %q…", tc.gate, tc.flags, err, tc.want)
		}
	}
}

// TestWriteTextAndJSON: both renderings of one outcome agree on what passed.
func TestWriteTextAndJSON(t *testing.T) {
	rep := testReport()
	ths, err := ParseAll([]string{"p99<500ms", "peak:p99<500ms"})
	if err != nil {
		t.Fatal(err)
	}
	res := Evaluate(rep, ths)
	if Failed(res) != 1 {
		t.Fatalf("failed %d, want 1: %+v", Failed(res), res)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep, res); err != nil {
		t.Fatal(err)
	}
	want := "PASS  p99<500ms       p99 400ms\n" +
		"FAIL  peak:p99<500ms  p99 600ms\n" +
		"verdict: overloaded (profile test, 1000 requests, 1250 attempts)\n" +
		"FAIL: 1 of 2 thresholds passed\n"
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep, res); err != nil {
		t.Fatal(err)
	}
	var v jsonSummary
	if err := json.Unmarshal(js.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Pass || v.Passed != 1 || v.Failed != 1 || len(v.Thresholds) != 2 || v.Thresholds[1].Phase != "peak" ||
		v.Thresholds[1].Observed == nil || *v.Thresholds[1].Observed != 600 || !strings.Contains(js.String(), `"expr": "p99<500ms"`) {
		t.Errorf("json:\n%s", js.String())
	}
}
