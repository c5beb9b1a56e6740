package analyze

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fatih/color"
)

// WriteText writes a compact human summary: the verdict line, the evidence, a per-phase
// table and the warnings.
func (r *Report) WriteText(w io.Writer) error { return r.writeText(w, false) }

// writeText is WriteText, with the verdict and warnings in colour when colour is set (a
// terminal: never in a file or a CI log).
func (r *Report) writeText(w io.Writer, colour bool) error {
	paint := func(attrs ...color.Attribute) func(string) string {
		c := color.New(attrs...)
		if colour {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return func(s string) string { return c.Sprint(s) }
	}
	verdictColour := map[string]func(string) string{
		Stable:       paint(color.FgGreen, color.Bold),
		Overloaded:   paint(color.FgYellow, color.Bold),
		Metastable:   paint(color.FgRed, color.Bold),
		Down:         paint(color.FgRed, color.Bold),
		Inconclusive: paint(color.FgMagenta, color.Bold),
	}[r.Verdict]
	if verdictColour == nil {
		verdictColour = paint(color.Bold)
	}
	warn := paint(color.FgYellow)

	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s, profile %s, %s s, %d requests, %d attempts (%.2f per request), goodput %d\n",
		verdictColour(strings.ToUpper(r.Verdict)), orDash(r.Target), orDash(r.Profile), num(r.DurationSeconds, 1),
		r.Requests, r.Attempts, r.Amplification, r.Goodput)
	if r.Shards != nil {
		fmt.Fprintf(&b, "%s\n", r.Shards.Line())
	}
	for _, e := range r.Evidence {
		fmt.Fprintf(&b, "  - %s\n", e)
	}
	for _, tr := range r.Triggers {
		fmt.Fprintf(&b, "%s\n", tr.Line())
	}
	if mix := r.ErrorMix(); mix != "" {
		// Name the failures, not just their rate: "100 % HTTP 503" says what to fix.
		fmt.Fprintf(&b, "errors (share of %d attempts): %s\n", r.Attempts, mix)
	}
	l := r.Latency
	fmt.Fprintf(&b, "latency ms (from intended start): p50 %s  p90 %s  p99 %s  p99.9 %s  max %s;  service p99 %s;  lag p99 %s\n",
		num(l.P50, 1), num(l.P90, 1), num(l.P99, 1), num(l.P999, 1), num(l.Max, 1),
		num(l.ServiceTime.P99, 1), num(l.Lag.P99, 1))
	if r.UnsentRetries > 0 {
		b.WriteString(unsentRetries(r.UnsentRetries) + "\n")
	}
	if r.RedirectHops > 0 {
		b.WriteString(redirectHops(r.RedirectHops) + "\n")
	}
	if s := r.TransportSummary(); s != "" {
		b.WriteString(s + "\n")
	}

	if len(r.Phases) > 0 {
		b.WriteByte('\n')
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "phase\tspan s\tintended/s\toffered/s\tgoodput/s\tampl\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%s–%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t\n",
				p.Name, num(p.StartSeconds, 1), num(p.EndSeconds, 1),
				num(p.IntendedRPS, 1), num(p.OfferedRPS, 1), num(p.GoodputRPS, 1), p.Amplification,
				num(p.P50, 1), num(p.P99, 1), num(p.P999, 1), num(p.Max, 1),
				pct(safeDiv(p.ErrorRPS, p.OfferedRPS)))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("analyze: format phase table: %w", err)
		}
	}
	if len(r.TargetMetrics) > 0 {
		fmt.Fprintf(&b, "\ntarget metrics, min / mean / max per phase (counters as rates /s), from %s:\n", r.targetSources())
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		if err := r.targetTable(func(cells []string) error {
			_, err := fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
			return err
		}); err != nil {
			return fmt.Errorf("analyze: format target metrics: %w", err)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("analyze: format target metrics: %w", err)
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\nwarnings:\n")
		for _, s := range r.Warnings {
			fmt.Fprintf(&b, "  %s %s\n", warn("!"), s)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("analyze: write text report: %w", err)
	}
	return nil
}

// unsentRetries says how many retries came due after the run ended: not attempts the target
// saw, but load its clients still wanted to send, so the report must not drop them.
func unsentRetries(n uint64) string {
	what := "retries were"
	if n == 1 {
		what = "retry was"
	}
	return fmt.Sprintf("%d %s due after the run ended and never sent", n, what)
}

// redirectHops says how many requests the target saw beyond the attempts: one per redirect
// followed, while an attempt is recorded once for its whole chain.
func redirectHops(n uint64) string {
	return fmt.Sprintf("%d redirect hops followed: the target saw %d requests more than the attempts recorded", n, n)
}

// TransportSummary says how the run reached the target: the protocols its responses came
// in, the connections it opened, and whether TLS verification was off; "" for a file that
// does not record them.
func (r *Report) TransportSummary() string {
	var total uint64
	names := make([]string, 0, len(r.Protocols))
	for k, v := range r.Protocols {
		names = append(names, k)
		total += v
	}
	if total == 0 && r.Connections == 0 && !r.TLSInsecure && r.Engine == "" {
		return ""
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := r.Protocols[names[i]], r.Protocols[names[j]]; a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %s", k, pct(float64(r.Protocols[k])/float64(total))))
	}
	s := "transport: "
	if total > 0 {
		s += fmt.Sprintf("%s of %d responses", strings.Join(parts, ", "), total)
	} else {
		s += "no responses"
	}
	switch {
	case r.Connections == 1:
		s += ", 1 connection opened"
	case r.Connections > 1:
		s += fmt.Sprintf(", %d connections opened", r.Connections)
	}
	if r.TLSInsecure {
		s += ", TLS certificates NOT verified (--insecure)"
	}
	if r.Engine != "" {
		s += fmt.Sprintf("; engine %s (%s)", r.Engine, r.EngineReason)
	}
	return s
}

// num formats x with up to prec decimals, dropping them for large values where they are
// noise.
func num(x float64, prec int) string {
	if x >= 1000 {
		prec = 0
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
