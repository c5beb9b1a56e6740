package profiles

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Observe is what a run reads from the target's side while it attacks: Prometheus metrics
// endpoints scraped every Interval, the series Match names kept in the results file. It
// changes nothing about the load; `attack --scrape` adds endpoints to it.
type Observe struct {
	// Scrape lists metrics endpoints: absolute http(s) URLs, or paths ("/metrics") taken
	// relative to the attack's --target.
	Scrape []string `yaml:"scrape" json:"scrape"`
	// Interval is how often each endpoint is scraped; Timeout bounds one scrape (at most
	// Interval, so scrapes of one endpoint never overlap).
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout  Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Match selects the series kept: metric names, `*` matching any run of characters, each
	// optionally with label values that must be equal (`db_pool_in_use{pool="main"}`).
	// Empty: every gauge and counter of the endpoint, up to MaxSeries.
	Match []string `yaml:"match,omitempty" json:"match,omitempty"`
	// MaxSeries caps the series kept per endpoint; those past it are named in a warning.
	MaxSeries int `yaml:"max_series,omitempty" json:"max_series,omitempty"`
}

// Defaults and bounds of Observe.
const (
	DefaultScrapeInterval = Duration(time.Second)
	DefaultMaxSeries      = 64
	MinScrapeInterval     = Duration(100 * time.Millisecond)
	MaxScrapeInterval     = Duration(time.Hour)
	// MaxScrapeEndpoints and MaxMatch bound the lists; MaxSeriesPerEndpoint bounds
	// max_series, so that a scrape fits in memory and in the results file's blocks.
	MaxScrapeEndpoints   = 32
	MaxMatch             = 100
	MaxSeriesPerEndpoint = 1000
)

var observeKeys = []string{"scrape", "interval", "timeout", "match", "max_series"}

// observe reads the observe: section.
func (w *walker) observe(n *yaml.Node) (*Observe, *fieldError) {
	fields, err := w.mapping(n, "observe", observeKeys)
	if err != nil {
		return nil, err
	}
	o := &Observe{}
	for _, f := range fields {
		p := join("observe", f.key)
		switch f.key {
		case "scrape":
			o.Scrape, err = w.strings(f.val, p, "a list of metrics URLs such as http://10.0.0.5:9100/metrics, or paths such as /metrics on the target")
		case "interval":
			o.Interval, err = duration(f.val, p)
		case "timeout":
			o.Timeout, err = duration(f.val, p)
		case "match":
			o.Match, err = w.strings(f.val, p, `a list of series selectors such as simservice_queue_depth or db_pool_*{pool="main"}`)
		case "max_series":
			err = integer(f.val, p, fmt.Sprintf("the most series kept per endpoint, 1 to %d", MaxSeriesPerEndpoint), &o.MaxSeries)
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

// strings reads a non-empty list of non-empty strings, recording each item's line.
func (w *walker) strings(n *yaml.Node, path, expected string) ([]string, *fieldError) {
	n, err := sequence(n, path, expected)
	if err != nil {
		return nil, err
	}
	return w.stringItems(n.Content, path, expected)
}

// ApplyDefaults fills in the interval, the timeout and the series cap.
func (o *Observe) ApplyDefaults() {
	if o.Interval == 0 {
		o.Interval = DefaultScrapeInterval
	}
	if o.Timeout == 0 {
		o.Timeout = o.Interval
	}
	if o.MaxSeries == 0 {
		o.MaxSeries = DefaultMaxSeries
	}
}

// Validate checks an observe section with its defaults applied; the error names the field.
func (o *Observe) Validate() error {
	if err := o.validate(); err != nil {
		return err
	}
	return nil
}

func (o *Observe) validate() *fieldError {
	const p = "observe"
	switch {
	case len(o.Scrape) == 0:
		return errAt(p+".scrape", "no endpoints", "at least one metrics URL, or leave observe out")
	case len(o.Scrape) > MaxScrapeEndpoints:
		return errAt(p+".scrape", fmt.Sprintf("%d endpoints", len(o.Scrape)), fmt.Sprintf("at most %d (MaxScrapeEndpoints)", MaxScrapeEndpoints))
	case len(o.Match) > MaxMatch:
		return errAt(p+".match", fmt.Sprintf("%d selectors", len(o.Match)), fmt.Sprintf("at most %d (MaxMatch)", MaxMatch))
	case o.Interval < MinScrapeInterval || o.Interval > MaxScrapeInterval:
		return errAt(p+".interval", fmt.Sprintf("%s is outside [%s, %s]", o.Interval, MinScrapeInterval, MaxScrapeInterval),
			"a scrape interval such as 1s")
	case o.Timeout <= 0 || o.Timeout > o.Interval:
		return errAt(p+".timeout", fmt.Sprintf("%s is not in (0, interval %s]", o.Timeout, o.Interval),
			"a scrape timeout no longer than the interval, so that scrapes of one endpoint never overlap")
	case o.MaxSeries < 1 || o.MaxSeries > MaxSeriesPerEndpoint:
		return errAt(p+".max_series", fmt.Sprintf("%d is not in [1, %d]", o.MaxSeries, MaxSeriesPerEndpoint), "the most series kept per endpoint")
	}
	seen := map[string]int{}
	for i, s := range o.Scrape {
		fp := fmt.Sprintf("%s.scrape[%d]", p, i)
		if err := checkScrapeURL(s); err != nil {
			return errAt(fp, fmt.Sprintf("%q %s", redactUserinfo(s), err), "an http(s) URL such as http://10.0.0.5:9100/metrics, or a path such as /metrics on the target")
		}
		if j, dup := seen[s]; dup {
			return errAt(fp, fmt.Sprintf("the same endpoint as %s.scrape[%d]", p, j), "each endpoint once")
		}
		seen[s] = i
	}
	for i, m := range o.Match {
		if _, err := ParseSelector(m); err != nil {
			return errAt(fmt.Sprintf("%s.match[%d]", p, i), err.Error(), `a selector such as simservice_queue_depth, db_pool_* or http_requests_total{code="500"}`)
		}
	}
	return nil
}

// checkScrapeURL accepts an absolute http(s) URL with a host, or an absolute path.
func checkScrapeURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %v", strings.TrimPrefix(err.Error(), "parse "))
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/"):
		return nil
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("has no http or https scheme")
	case u.Host == "":
		return fmt.Errorf("has no host")
	case u.Fragment != "":
		return fmt.Errorf("has a fragment, which is never sent")
	}
	return nil
}

// ResolveScrape returns the endpoint s as an absolute URL: a path is taken relative to
// target (its scheme, host and any credentials; the target's own path and query dropped).
func ResolveScrape(target, s string) (string, error) {
	if !strings.HasPrefix(s, "/") {
		return s, nil
	}
	base, err := url.Parse(target)
	if err != nil || base.Host == "" {
		return "", fmt.Errorf("scrape endpoint %q is a path, but the target %q has no host to take it from; give a full URL", s, redactUserinfo(target))
	}
	ref, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("scrape endpoint %q: %w", s, err)
	}
	u := *base
	u.Path, u.RawPath, u.RawQuery, u.Fragment = ref.Path, ref.RawPath, ref.RawQuery, ""
	return u.String(), nil
}

// Selector picks series by metric name (a pattern where `*` matches any run of characters)
// and, optionally, label values that must be equal.
type Selector struct {
	Name   string
	Labels map[string]string
}

// ParseSelector reads `name`, `name{label="value",...}` or `{label="value"}`; `*` in the name
// matches any run of characters. The label part is read by Prometheus' own text-format parser
// (package expfmt), so quoting and escapes are those of an exposition line.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	name, labels, hasLabels := strings.Cut(s, "{")
	sel := Selector{Name: name}
	if name == "" && !hasLabels {
		return sel, fmt.Errorf("empty selector")
	}
	if name != "" {
		// A pattern is a valid metric name once its wildcards are letters.
		if !model.LegacyValidation.IsValidMetricName(strings.ReplaceAll(name, "*", "x")) {
			return sel, fmt.Errorf("%q is not a metric name (letters, digits, _ and :, not starting with a digit; * for any run of characters)", name)
		}
		if _, err := path.Match(name, ""); err != nil {
			return sel, fmt.Errorf("%q: %v", name, err)
		}
	}
	if !hasLabels {
		return sel, nil
	}
	if !strings.HasSuffix(labels, "}") {
		return sel, fmt.Errorf("%q: the label part does not end with }", s)
	}
	// One exposition line with a placeholder name: the parser checks names, quotes and escapes.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader("selector{" + labels + " 0\n"))
	if err != nil {
		return sel, fmt.Errorf("%q: bad label matchers: %v", s, strings.TrimPrefix(err.Error(), "text format parsing error in line 1: "))
	}
	sel.Labels = map[string]string{}
	for _, m := range fams["selector"].GetMetric() {
		for _, lp := range m.GetLabel() {
			sel.Labels[lp.GetName()] = lp.GetValue()
		}
	}
	return sel, nil
}

// Matches reports whether a series with this name and these labels is selected.
func (s Selector) Matches(name string, labels map[string]string) bool {
	if s.Name != "" {
		if ok, _ := path.Match(s.Name, name); !ok {
			return false
		}
	}
	for k, v := range s.Labels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// clone deep-copies o.
func (o *Observe) clone() *Observe {
	if o == nil {
		return nil
	}
	q := *o
	q.Scrape = slices.Clone(o.Scrape)
	q.Match = slices.Clone(o.Match)
	return &q
}

// WithObserve returns a copy of p that also scrapes the endpoints in scrape, keeps the series
// match names as well, and scrapes every interval (0: as before): what `attack --scrape`,
// `--scrape-match` and `--scrape-interval` add to a profile. The result is validated; p is not
// modified. Without endpoints on either side, match and interval are an error, since they
// would observe nothing.
func (p *Profile) WithObserve(scrape, match []string, interval Duration) (*Profile, error) {
	if len(scrape) == 0 && len(match) == 0 && interval == 0 {
		return p, nil
	}
	q := p.clone()
	if q.Observe == nil {
		q.Observe = &Observe{}
	}
	o := q.Observe
	o.Scrape = append(o.Scrape, scrape...)
	o.Match = append(o.Match, match...)
	if interval != 0 {
		o.Interval = interval
		if o.Timeout > interval {
			o.Timeout = interval
		}
	}
	o.ApplyDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &q, nil
}
