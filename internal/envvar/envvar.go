// Package envvar expands ${NAME} references to environment variables in the few places a
// profile or a flag may hold them (header values, request paths, the target URL, body and
// targets file paths), so that a token lives in the environment of a CI job rather than in
// a YAML file committed to a repository.
//
// The syntax is deliberately narrow: only ${NAME}, NAME being a letter or underscore followed
// by letters, digits and underscores. A lone $ (or $NAME) is kept as written, because header
// values and passwords contain dollars; $${ writes a literal ${. An unset variable is an
// error, never an empty string: a request sent without its token measures nothing.
//
// The package does not read the process environment itself: callers pass a Lookup
// (os.LookupEnv in the CLI, a map in tests).
package envvar

import (
	"fmt"
	"strings"
)

// Lookup returns a variable's value and whether it is set, as os.LookupEnv does. A nil
// Lookup is an empty environment: every reference is unset.
type Lookup func(name string) (string, bool)

// Map is a Lookup over a fixed set of variables.
func Map(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// UnsetError is a reference to a variable that is not set.
type UnsetError struct{ Name string }

func (e *UnsetError) Error() string {
	return fmt.Sprintf("${%s} is not set in the environment (export %s=… before running, or remove the reference)", e.Name, e.Name)
}

// SyntaxError is a malformed reference: ${ without its }, or a name that is not one.
type SyntaxError struct {
	Text    string // the reference as written, from ${
	Problem string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bad variable reference %q: %s (expected ${NAME} with NAME of letters, digits and _; write $${ for a literal ${)", e.Text, e.Problem)
}

// Has reports whether s holds at least one ${NAME} reference (a well-formed one or not).
func Has(s string) bool {
	_, err := scan(s, func(string) (string, error) { return "", nil })
	if err != nil {
		return true
	}
	return len(Names(s)) > 0
}

// Names lists the variables s references, in order, each once. A malformed reference is
// left out (Check reports it).
func Names(s string) []string {
	var names []string
	_, _ = scan(s, func(name string) (string, error) {
		for _, n := range names {
			if n == name {
				return "", nil
			}
		}
		names = append(names, name)
		return "", nil
	})
	return names
}

// Check reports the first malformed reference of s, or nil. It needs no environment, so a
// profile's syntax is checked when it is parsed.
func Check(s string) error {
	_, err := scan(s, func(string) (string, error) { return "", nil })
	return err
}

// Expand replaces every ${NAME} of s by its value from env. An unset variable is an
// *UnsetError and a malformed reference a *SyntaxError; neither message holds any value.
func Expand(s string, env Lookup) (string, error) {
	return scan(s, func(name string) (string, error) {
		if env != nil {
			if v, ok := env(name); ok {
				return v, nil
			}
		}
		return "", &UnsetError{Name: name}
	})
}

// scan walks s, copying text and handing each reference's name to value.
func scan(s string, value func(name string) (string, error)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' { // $${ is a literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", &SyntaxError{Text: s[i:], Problem: "no closing }"}
		}
		name := s[i+2 : i+end]
		if !validName(name) {
			return "", &SyntaxError{Text: s[i : i+end+1], Problem: "not a variable name"}
		}
		v, err := value(name)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range []byte(name) {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}
