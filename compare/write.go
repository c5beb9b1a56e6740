package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/stormtest/stormtest/internal/numfmt"
)

// WriteText writes the comparison as aligned text: the regression verdict first, then
// capacity and verdicts, then one row per phase and metric.
func (c *Comparison) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, c.Summary)
	fmt.Fprintf(tw, "profile %s, %s\n\n", c.Profile, c.capacityDefinition())
	fmt.Fprintln(tw, "\tbefore\tafter\tdelta")
	fmt.Fprintf(tw, "run\t%s\t%s\t\n", c.Before.Label, c.After.Label)
	fmt.Fprintf(tw, "verdict\t%s\t%s\t%s\n", c.Before.Verdict, c.After.Verdict, verdictChange(c))
	fmt.Fprintf(tw, "capacity\t%s\t%s\t%s\n", capacityText(c.Before.Capacity), capacityText(c.After.Capacity), deltaText(c.CapacityDeltaPct))
	fmt.Fprintln(tw)
	// The rows get their own columns: a long file name above must not widen them.
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("compare: writing text: %w", err)
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tmetric\tbefore\tafter\tdelta")
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Phase, r.Metric, value(r.Unit, r.Before), value(r.Unit, r.After), deltaText(r.DeltaPct))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("compare: writing text: %w", err)
	}
	return nil
}

// WriteMarkdown writes the comparison for pasting into a ticket: the verdict in bold, then
// two tables.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", c.Summary)
	fmt.Fprintf(&b, "Profile `%s`; %s.\n\n", c.Profile, c.capacityDefinition())
	b.WriteString("| | before | after | delta |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| run | `%s` | `%s` | |\n", mdEscape(c.Before.Label), mdEscape(c.After.Label))
	fmt.Fprintf(&b, "| verdict | %s | %s | %s |\n", c.Before.Verdict, c.After.Verdict, verdictChange(c))
	fmt.Fprintf(&b, "| capacity | %s | %s | %s |\n\n", capacityText(c.Before.Capacity), capacityText(c.After.Capacity), deltaText(c.CapacityDeltaPct))
	b.WriteString("| phase | metric | before | after | delta |\n|---|---|---:|---:|---:|\n")
	for _, r := range c.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(r.Phase), r.Metric, value(r.Unit, r.Before), value(r.Unit, r.After), deltaText(r.DeltaPct))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("compare: writing markdown: %w", err)
	}
	return nil
}

// WriteJSON writes the comparison as one indented JSON object.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("compare: writing JSON: %w", err)
	}
	return nil
}

func (c *Comparison) capacityDefinition() string {
	slo := "no SLO: every span counts"
	if c.SLOMs > 0 {
		slo = "SLO p99 ≤ " + ms(c.SLOMs)
	}
	return fmt.Sprintf("capacity = best mean goodput over %d consecutive windows each within the SLO (%s)", SpanWindows, slo)
}

func verdictChange(c *Comparison) string {
	if c.Before.Verdict == c.After.Verdict {
		return "same"
	}
	return "changed"
}

func capacityText(c Capacity) string {
	if c.Spans == 0 || c.AtSeconds == nil {
		return "none within SLO"
	}
	return fmt.Sprintf("%s/s at %ss", numfmt.Trim(c.RPS, 1), numfmt.Trim(*c.AtSeconds, 1))
}

func value(unit string, v float64) string {
	switch unit {
	case "ms":
		return ms(v)
	case "ratio":
		return numfmt.Trim(v*100, 3) + "%"
	case "rps":
		return numfmt.Trim(v, 1) + "/s"
	}
	return numfmt.Trim(v, 3)
}

func deltaText(d *float64) string {
	if d == nil {
		return "n/a"
	}
	return signed(*d) + "%"
}

func ms(v float64) string {
	if v >= 1000 {
		return numfmt.Trim(v/1000, 3) + "s"
	}
	return numfmt.Trim(v, 1) + "ms"
}

func signed(v float64) string {
	s := numfmt.Trim(v, 1)
	if s != "0" && !math.Signbit(v) {
		s = "+" + s
	}
	return s
}

// mdEscape keeps a label or phase name from breaking a table row.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
