package profiles

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// durationExpected is the hint every duration error ends with, so that a user who wrote
// "1 sec" or "5" learns the accepted syntax from the message alone.
const durationExpected = "a duration such as 500ms, 1.5s or 2m; units ns, us, ms, s, m, h"

// String writes d in time.Duration syntax ("1.5s", "500ms"), dropping the zero trailing
// units time.Duration adds ("1m0s" becomes "1m") because profiles are read by people.
// time.ParseDuration reads every form back.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parseDuration reads a duration in time.Duration syntax. A bare number is refused rather
// than guessed to be seconds or nanoseconds: "timeout: 5" is ambiguous.
func parseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (expected %s)", s, durationExpected)
	}
	return Duration(d), nil
}

// MarshalYAML writes d as a string such as "1.5s".
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// UnmarshalYAML reads a string such as "1.5s". Parse does not go through it (it walks the
// document itself for line-accurate errors); it is here for callers that embed a Duration in
// their own YAML types.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: not a scalar (expected %s)", n.Line, durationExpected)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalJSON writes d as a JSON string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a JSON string such as "1.5s". Numbers are refused for the same reason
// bare numbers are refused in YAML: their unit would be a guess.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: not a string (expected %s)", b, durationExpected)
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
