package ownmetrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboardPath is the Grafana dashboard shipped in deploy/grafana.
var dashboardPath = filepath.Join("..", "deploy", "grafana", "stormtest-run.json")

// dashboardQuery is one PromQL expression of the dashboard, with where it comes from.
type dashboardQuery struct {
	where, expr string
}

// dashboardQueries parses the dashboard and returns every PromQL expression it holds: the
// panels' targets and the template variables' label_values queries.
func dashboardQueries(t *testing.T) (panels, variables []dashboardQuery) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no title, uid or panels", dashboardPath)
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("panel %q has an empty query", p.Title)
			}
			panels = append(panels, dashboardQuery{"panel " + p.Title, tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil || q.Query == "" {
			t.Errorf("variable %q: no query (%v)", v.Name, err)
		}
		variables = append(variables, dashboardQuery{"variable " + v.Name, q.Query})
	}
	return panels, variables
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlNumbers  = regexp.MustCompile(`\b[0-9][0-9A-Za-z_.]*`) // 0.99, 5m, 1e3
	promqlIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promqlKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
)

// metricNames are the metric names a PromQL expression reads: what is left of its identifiers
// once label matchers, ranges, groupings, strings, functions and keywords are taken out.
func metricNames(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	e = promqlNumbers.ReplaceAllString(e, " ")
	var names []string
	for _, m := range promqlIdent.FindAllString(e, -1) {
		if strings.HasSuffix(m, "(") || slices.Contains(promqlKeywords, m) {
			continue // a function or an aggregation, or a keyword
		}
		names = append(names, m)
	}
	return names
}

func TestMetricNamesOfPromQL(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (kind) (rate(stormtest_errors_total{job=~"$job", kind!="ok"}[$__rate_interval]))`: "stormtest_errors_total",
		`histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y"}[5m])))`:                       "a_bucket",
		`sum(rate(a[1m])) / sum without (phase) (b offset 5m) > bool 0`:                           "a b",
		`label_values(stormtest_requests_total{job=~"$job"}, instance)`:                           "stormtest_requests_total instance",
	} {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

// The dashboard parses, and every metric it reads is one stormtest exports: a renamed metric
// must not leave the dashboard silently empty.
func TestDashboardUsesOnlyExportedMetrics(t *testing.T) {
	panels, variables := dashboardQueries(t)
	exported := Names()
	used := map[string]bool{}
	for _, q := range panels {
		names := metricNames(q.expr)
		if len(names) == 0 {
			t.Errorf("%s: %q reads no metric", q.where, q.expr)
		}
		for _, n := range names {
			used[n] = true
			if !slices.Contains(exported, n) {
				t.Errorf("%s: %q reads %s, which stormtest does not export (Names: %v)", q.where, q.expr, n, exported)
			}
		}
	}
	for _, q := range variables {
		// label_values(metric{...}, label): the first name is the metric, the last the label.
		names := metricNames(strings.TrimSuffix(strings.TrimPrefix(q.expr, "label_values("), ")"))
		if len(names) != 2 || !slices.Contains(exported, names[0]) {
			t.Errorf("%s: %q does not take label values of an exported metric", q.where, q.expr)
		}
	}
	// The point of the dashboard: offered load, goodput and latency.
	for _, n := range []string{NameSent, NameGoodput, NameLatency + "_bucket"} {
		if !used[n] {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
}
