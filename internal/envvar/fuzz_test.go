package envvar

import (
	"errors"
	"strings"
	"testing"
)

// FuzzExpand checks the properties the rest of stormtest relies on, for any string:
//   - Expand with every referenced variable set succeeds exactly when Check finds no
//     malformed reference, and its result holds every value and no reference that was not
//     written as the $${ escape: nothing that looks like ${NAME} is ever sent unexpanded;
//   - with nothing set, a string that has references fails with an *UnsetError naming the
//     first of Names, and one without any is returned unchanged;
//   - errors are one line and never contain a variable's value.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"", "plain", "Bearer ${TOKEN}", "${A}${B}", "$${A}", "$$${A}", "${", "${}", "${1A}", "${A",
		"a$b$c", "${A}}", "$${${A}", "${A-b}", "x${_}y", "${ A }", "$${", "${A}$${B}${C}", "\n${A}\n",
	} {
		f.Add(s)
	}
	const secret = "s3cr3t-value"
	f.Fuzz(func(t *testing.T, s string) {
		names := Names(s)
		for _, n := range names {
			if !validName(n) {
				t.Fatalf("Names(%q) returned %q, not a variable name", s, n)
			}
		}
		set := map[string]string{}
		for i, n := range names {
			set[n] = secret + "<" + strings.Repeat("v", i) + ">"
		}
		out, err := Expand(s, Map(set))
		checkErr := Check(s)
		if (err == nil) != (checkErr == nil) {
			t.Fatalf("Expand(%q) error %v but Check says %v", s, err, checkErr)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Expand(%q) with every name set: %T %v, want a *SyntaxError", s, err, err)
			}
			if !Has(s) {
				t.Fatalf("Has(%q) is false but expansion finds a malformed reference", s)
			}
			oneLine(t, err, secret)
			return
		}
		for _, n := range names {
			if !strings.Contains(out, set[n]) {
				t.Fatalf("Expand(%q) = %q: the value of %s is missing", s, out, n)
			}
		}
		// Every ${ left in the output is an escape of the input ($${) or comes from a value.
		// The values hold no "${", so remove them and count.
		rest := out
		for _, n := range names {
			rest = strings.ReplaceAll(rest, set[n], "")
		}
		if got, want := strings.Count(rest, "${"), strings.Count(s, "$${"); got > want {
			t.Fatalf("Expand(%q) = %q: %d ${ left, the input escaped only %d", s, out, got, want)
		}
		if Has(s) != (len(names) > 0) {
			t.Fatalf("Has(%q) = %v with names %q", s, Has(s), names)
		}

		// Nothing set.
		out2, err := Expand(s, nil)
		if len(names) == 0 {
			if err != nil {
				t.Fatalf("Expand(%q) without references: %v", s, err)
			}
			if !strings.Contains(s, "$${") && out2 != s {
				t.Fatalf("Expand(%q) without references changed it to %q", s, out2)
			}
			return
		}
		var ue *UnsetError
		if !errors.As(err, &ue) || ue.Name != names[0] {
			t.Fatalf("Expand(%q) with nothing set: %v, want ${%s} unset", s, err, names[0])
		}
		oneLine(t, err, secret)
	})
}

func oneLine(t *testing.T, err error, secret string) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
	if strings.Contains(msg, secret) {
		t.Fatalf("error holds a value: %q", msg)
	}
}
