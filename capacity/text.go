package capacity

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// policyPhrase names a policy's clients in a sentence.
func policyPhrase(policy string) string {
	switch policy {
	case PolicyNone:
		return "without retries"
	case PolicyImmediate:
		return "with immediate retries"
	case PolicyExpoJitter:
		return "with exponential backoff and jitter"
	case PolicyBudget:
		return "with budgeted retries"
	}
	return "with the profile's clients"
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) + " %" }

func size(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) + "×" }

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s" }

// sentence says one boundary in words, e.g. "at 50 % load (80 req/s), a 2.6× surge for 5 s
// does not recover with immediate retries (2.3× does)".
func sentence(fraction, base float64, policy string, d time.Duration, b Boundary) string {
	at := fmt.Sprintf("at %s load (%s req/s), ", percent(fraction), rate(base))
	who := policyPhrase(policy)
	switch {
	case b.TipsAt > 0 && b.RecoversAt > 0:
		return fmt.Sprintf("%sa %s surge for %s does not recover %s (%s does)", at, size(b.TipsAt), seconds(d), who, size(b.RecoversAt))
	case b.TipsAt > 0 && b.Complete:
		return fmt.Sprintf("%seven a %s surge for %s does not recover %s", at, size(b.TipsAt), seconds(d), who)
	case b.TipsAt > 0:
		return fmt.Sprintf("%sa %s surge for %s does not recover %s (search stopped before a smaller one)", at, size(b.TipsAt), seconds(d), who)
	case b.RecoversAt > 0:
		return fmt.Sprintf("%ssurges up to %s for %s recover %s", at, size(b.RecoversAt), seconds(d), who)
	}
	return fmt.Sprintf("%s%s surges %s: not measured (the search stopped first)", at, seconds(d), who)
}

// tipSize orders boundaries: the smallest size that tipped, +Inf when none did.
func tipSize(b Boundary) float64 {
	if b.TipsAt > 0 {
		return b.TipsAt
	}
	return math.Inf(1)
}

// compare writes one line per duration measured by more than one policy, e.g. "5 s surges:
// immediate tips at 2.6×, budget recovers up to 6×: budget takes ≥ 2.3× the surge immediate
// does".
func compare(maps []Map, durations []time.Duration) []string {
	if len(maps) < 2 {
		return nil
	}
	var lines []string
	for i, d := range durations {
		var parts []string
		worst, best := -1, -1
		for j, m := range maps {
			if i >= len(m.Boundaries) || (m.Boundaries[i].TipsAt == 0 && m.Boundaries[i].RecoversAt == 0) {
				continue
			}
			b := m.Boundaries[i]
			if b.TipsAt > 0 {
				parts = append(parts, fmt.Sprintf("%s tips at %s", m.Policy, size(b.TipsAt)))
			} else {
				parts = append(parts, fmt.Sprintf("%s recovers up to %s", m.Policy, size(b.RecoversAt)))
			}
			if worst < 0 || tipSize(b) < tipSize(maps[worst].Boundaries[i]) {
				worst = j
			}
			if best < 0 || tipSize(b) > tipSize(maps[best].Boundaries[i]) {
				best = j
			}
		}
		if len(parts) < 2 {
			continue
		}
		line := seconds(d) + " surges: " + strings.Join(parts, ", ")
		wb, bb := maps[worst].Boundaries[i], maps[best].Boundaries[i]
		if worst != best && wb.TipsAt > 0 {
			if bb.TipsAt > 0 {
				line += fmt.Sprintf(": %s takes %.1f× the surge %s does", maps[best].Policy, bb.TipsAt/wb.TipsAt, maps[worst].Policy)
			} else {
				line += fmt.Sprintf(": %s takes at least %.1f× the surge %s does", maps[best].Policy, bb.RecoversAt/wb.TipsAt, maps[worst].Policy)
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// WriteText writes the result as tables and sentences.
func (res *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "capacity of %s (profile %s)\n\n", res.Target, res.Profile)
	if k := res.Knee; k != nil {
		switch {
		case k.Given:
			fmt.Fprintf(&b, "knee: %s req/s (given)\n", rate(k.RPS))
		case k.AtLeast:
			fmt.Fprintf(&b, "knee: at least %s req/s (no step failed up to the max rate)\n", rate(k.RPS))
		case len(k.Repeats) > 0:
			fmt.Fprintf(&b, "knee: %s req/s (between %s and %s in %d repeats)\n", rate(k.RPS), rate(k.LowRPS), rate(k.HighRPS), len(k.Repeats))
		default:
			b.WriteString("knee: not found (the search stopped first)\n")
		}
		if len(k.Curve) > 0 {
			b.WriteString("\nlatency curve (constant-rate steps, clients without retries):\n")
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "rate/s\tgoodput/s\tp50 ms\tp99 ms\terrors\t\t")
			for _, s := range k.Curve {
				verdict := "pass"
				if !s.Pass {
					verdict = "FAIL"
				}
				fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.0f\t%.1f%%\t%s\t\n", rate(s.RPS), s.GoodputRPS, s.P50, s.P99, 100*s.ErrorRate, verdict)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	for _, m := range res.Maps {
		// A capacity-drop map measures cuts (shares of the capacity), a surge map sizes.
		what, unit := "surge", size
		baseRPS, baseFrac := res.BaselineRPS, res.BaselineFraction
		if res.Trigger == TriggerCapacityDrop {
			what, unit = "capacity cut", cutPct
		}
		if m.BaselineRPS > 0 {
			baseRPS, baseFrac = m.BaselineRPS, m.BaselineFraction
		}
		fmt.Fprintf(&b, "\n%s map, %s, baseline %s req/s (%s of the knee):\n", map[bool]string{true: "capacity-drop", false: "tipping"}[res.Trigger == TriggerCapacityDrop],
			policyPhrase(m.Policy), rate(baseRPS), percent(baseFrac))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s for\trecovers up to\ttips from\tprobes (%s: verdict)\t\n", what, map[bool]string{true: "cut", false: "size"}[res.Trigger == TriggerCapacityDrop])
		for _, bd := range m.Boundaries {
			rec, tip := "-", "-"
			if bd.RecoversAt > 0 {
				rec = unit(bd.RecoversAt)
			}
			if bd.TipsAt > 0 {
				tip = unit(bd.TipsAt)
			} else if bd.Complete {
				tip = "> " + unit(bd.RecoversAt)
			}
			var ps []string
			for _, p := range bd.Probes {
				v := "recovered"
				if p.Tipped {
					v = p.Verdict
				}
				ps = append(ps, unit(p.Size)+": "+v)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", seconds(time.Duration(bd.DurationSeconds*float64(time.Second))), rec, tip, strings.Join(ps, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, bd := range m.Boundaries {
			b.WriteString("  " + bd.Sentence + "\n")
		}
	}
	if len(res.Comparison) > 0 {
		b.WriteString("\npolicies compared:\n")
		for _, l := range res.Comparison {
			b.WriteString("  " + l + "\n")
		}
	}
	for _, w := range res.Warnings {
		b.WriteString("\nwarning: " + w + "\n")
	}
	fmt.Fprintf(&b, "\n%d probes run, %d reused from the state file, %.0f s\n", res.ProbesRun, res.ProbesReused, res.ElapsedSeconds)
	if !res.Complete {
		fmt.Fprintf(&b, "INCOMPLETE: %s\n", res.Stopped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
