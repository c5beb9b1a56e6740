package envvar

import (
	"errors"
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	env := Map(map[string]string{"TOKEN": "t0k", "EMPTY": "", "A_1": "x"})
	cases := []struct {
		in, want string
		unset    string // the variable an *UnsetError names
		syntax   bool
	}{
		{in: "plain", want: "plain"},
		{in: "Bearer ${TOKEN}", want: "Bearer t0k"},
		{in: "${A_1}${TOKEN}-${A_1}", want: "xt0k-x"},
		{in: "${EMPTY}", want: ""}, // set, if empty: as a shell sees it
		{in: "pa$$word $HOME $", want: "pa$$word $HOME $"},
		{in: "literal $${TOKEN}", want: "literal ${TOKEN}"},
		{in: "${MISSING}", unset: "MISSING"},
		{in: "${TOKEN", syntax: true},
		{in: "${}", syntax: true},
		{in: "${1A}", syntax: true},
		{in: "${A-B}", syntax: true},
	}
	for _, tc := range cases {
		got, err := Expand(tc.in, env)
		var ue *UnsetError
		var se *SyntaxError
		switch {
		case tc.unset != "":
			if !errors.As(err, &ue) || ue.Name != tc.unset {
				t.Errorf("Expand(%q) = %q, %v: want %s unset", tc.in, got, err, tc.unset)
			}
		case tc.syntax:
			if !errors.As(err, &se) || Check(tc.in) == nil || !Has(tc.in) {
				t.Errorf("Expand(%q) = %q, %v: want a syntax error (and Check and Has to see it)", tc.in, got, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := Expand("${TOKEN}", nil); err == nil {
		t.Error("a nil Lookup set a variable")
	}
}

func TestNamesAndHas(t *testing.T) {
	if got := Names("${B} ${A} ${B} $${C} $D"); !reflect.DeepEqual(got, []string{"B", "A"}) {
		t.Errorf("Names = %q", got)
	}
	for s, want := range map[string]bool{"Bearer ${T}": true, "abc": false, "$${T}": false, "$T": false} {
		if Has(s) != want {
			t.Errorf("Has(%q) = %v", s, !want)
		}
	}
}
