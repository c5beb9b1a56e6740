// Package numfmt formats numbers for the people who read stormtest's text output: as few
// digits as say the value, so that "500ms" and "0.1%" read as a person would write them.
// Functions only, no state.
package numfmt

import (
	"strconv"
	"strings"
)

// Trim formats v with at most prec decimals and no trailing zeros (1.50 → "1.5",
// 2.00 → "2"); a negative zero is "0".
func Trim(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
