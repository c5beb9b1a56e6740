package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is how a report is rendered.
type Format string

// Formats.
const (
	FormatText     Format = "text"     // aligned, for a terminal or a log
	FormatJSON     Format = "json"     // for machines: the schema in docs/analyze-json.md
	FormatMarkdown Format = "markdown" // for a pull request or a maintenance ticket
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatText, FormatJSON, FormatMarkdown:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (expected text, json or markdown)", s)
}

// Write renders the report. colour applies to text only, and only makes sense on a terminal.
func (r *Report) Write(w io.Writer, f Format, colour bool) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("analyze: write JSON report: %w", err)
		}
		return nil
	case FormatMarkdown:
		return r.writeMarkdown(w)
	}
	return r.writeText(w, colour)
}

// writeMarkdown renders the verdict first, then the evidence, a phase table and warnings, in
// GitHub-flavoured Markdown.
func (r *Report) writeMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### stormtest: **%s**\n\n", strings.ToUpper(r.Verdict))
	fmt.Fprintf(&b, "Profile `%s` against `%s`: %s s, %d requests, %d attempts (%.2f per request), goodput %d",
		orDash(r.Profile), orDash(r.Target), num(r.DurationSeconds, 1), r.Requests, r.Attempts, r.Amplification, r.Goodput)
	if r.RecoverySeconds != nil {
		fmt.Fprintf(&b, ", recovered %s s after the trigger", num(*r.RecoverySeconds, 1))
	}
	b.WriteString(".\n\n")
	if r.Shards != nil {
		b.WriteString(mdEscape(r.Shards.Line()) + ".\n\n")
	}
	if r.UnsentRetries > 0 {
		b.WriteString(unsentRetries(r.UnsentRetries) + ".\n\n")
	}
	if r.RedirectHops > 0 {
		b.WriteString(redirectHops(r.RedirectHops) + ".\n\n")
	}
	if s := r.TransportSummary(); s != "" {
		b.WriteString(s + ".\n\n")
	}
	for _, e := range r.Evidence {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	if len(r.Triggers) > 0 {
		b.WriteString("\n")
		for _, tr := range r.Triggers {
			fmt.Fprintf(&b, "- %s\n", mdEscape(tr.Line()))
		}
	}
	if mix := r.ErrorMix(); mix != "" {
		fmt.Fprintf(&b, "\nErrors (share of %d attempts): %s.\n", r.Attempts, mix)
	}
	if len(r.Phases) > 0 {
		b.WriteString("\n| phase | span s | intended/s | offered/s | goodput/s | ampl | p50 ms | p99 ms | p99.9 ms | max ms | errors |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, p := range r.Phases {
			fmt.Fprintf(&b, "| %s | %s–%s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s |\n",
				mdEscape(p.Name), num(p.StartSeconds, 1), num(p.EndSeconds, 1),
				num(p.IntendedRPS, 1), num(p.OfferedRPS, 1), num(p.GoodputRPS, 1), p.Amplification,
				num(p.P50, 1), num(p.P99, 1), num(p.P999, 1), num(p.Max, 1), pct(safeDiv(p.ErrorRPS, p.OfferedRPS)))
		}
	}
	if len(r.TargetMetrics) > 0 {
		fmt.Fprintf(&b, "\nTarget metrics, min / mean / max per phase (counters as rates /s), from %s:\n\n", mdEscape(r.targetSources()))
		first := true
		_ = r.targetTable(func(cells []string) error {
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			cells[0] = "`" + cells[0] + "`"
			if first {
				cells[0] = "series"
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			if first {
				b.WriteString("|---" + strings.Repeat("|--:", len(cells)-1) + "|\n")
				first = false
			}
			return nil
		})
	}
	l := r.Latency
	fmt.Fprintf(&b, "\nLatency from the intended start: p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms (service time p99 %s ms, generator lag p99 %s ms).\n",
		num(l.P50, 1), num(l.P99, 1), num(l.P999, 1), num(l.Max, 1), num(l.ServiceTime.P99, 1), num(l.Lag.P99, 1))
	if len(r.Warnings) > 0 {
		b.WriteString("\n**Warnings**\n\n")
		for _, s := range r.Warnings {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("analyze: write markdown report: %w", err)
	}
	return nil
}

// mdEscape keeps a phase name from breaking a table row.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
