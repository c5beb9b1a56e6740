package gate

import (
	"math"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary expressions to the threshold parser: it must never panic, its
// error must be one line quoting the expression, and a threshold it accepts must have a
// finite, non-negative bound (a ratio within 0–1) and print (String) to a canonical form that
// parses back to the same threshold.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"p99<300ms", "peak:p99<=1.5s", "verdict!=metastable", "verdict==stable", "error_rate<0.1%",
		"goodput_ratio>=0.9", "amplification<2", "goodput_rps>400", "intended_rps>=1e3", "max<1h",
		"a:b:p50<1ms", ":p99<1s", "p99<", "p99<<1s", "p99=1s", "p999 < 0.000001ms", "p90<1s",
		"warm up:max<2562047h47m16.854775807s", "error_rate<=1", "error_rate<5", "p99<500",
		"p50>1e-300ms", "intended_rps<NaN", "x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := Parse(expr)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("Parse(%q): error is not one line: %q", expr, msg)
			}
			if !strings.HasPrefix(msg, "threshold ") {
				t.Fatalf("Parse(%q): error does not quote the expression: %q", expr, msg)
			}
			return
		}
		if th.Metric != Verdict {
			if math.IsNaN(th.Value) || math.IsInf(th.Value, 0) || th.Value < 0 {
				t.Fatalf("Parse(%q): bound %v", expr, th.Value)
			}
			if th.Metric.ratio() && th.Value > 1 {
				t.Fatalf("Parse(%q): ratio bound %v above 1", expr, th.Value)
			}
		}
		canon := th.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, whose String %q does not parse: %v", expr, th, canon, err)
		}
		again.Expr = th.Expr
		if again != th {
			t.Fatalf("Parse(%q) = %+v; String %q parses to %+v", expr, th, canon, again)
		}
		if again.String() != canon {
			t.Fatalf("String not stable: %q then %q", canon, again.String())
		}
	})
}
