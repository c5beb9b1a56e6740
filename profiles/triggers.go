package profiles

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stormtest/stormtest/internal/secret"
)

// Trigger is a change to the target that is not load: an HTTP call made at At on the run's
// clock (to the built-in target's /control endpoints, or to any chaos tool with an HTTP
// API) and, with Stop, a second one For later that undoes it. [At, At+For) is the trigger's
// window, which the analysis takes as the trigger instead of guessing one from the rate
// curve. For without Stop is a window the called tool ends by itself (a chaos experiment
// with its own duration).
type Trigger struct {
	Name  string   `yaml:"name,omitempty" json:"name,omitempty"`
	At    Duration `yaml:"at" json:"at"`
	For   Duration `yaml:"for,omitempty" json:"for,omitempty"`
	Start Call     `yaml:"start" json:"start"`
	Stop  *Call    `yaml:"stop,omitempty" json:"stop,omitempty"`
}

// Call is one HTTP call of a trigger.
type Call struct {
	// Method defaults to POST.
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// URL is absolute (http or https), or a path such as /control/db that is resolved against
	// the attack's target.
	URL  string `yaml:"url" json:"url"`
	Body string `yaml:"body,omitempty" json:"body,omitempty"`
	// Headers are sent with the call; Authorization, Proxy-Authorization and Cookie are
	// redacted in results files like the request's.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// Bounds of triggers.
const (
	// MaxTriggers bounds the triggers of a profile: each is a goroutine and two records.
	MaxTriggers = 100
	// MaxTriggerBody bounds a trigger call's body, held in the profile and the results
	// header.
	MaxTriggerBody = 64 << 10
)

// Window is the trigger's window on the run's clock: [At, At+For), or just At when For is 0.
func (t Trigger) Window() (start, end time.Duration) {
	return time.Duration(t.At), time.Duration(t.At + t.For)
}

// Label names the trigger in reports: its name, or "trigger N" (1-based).
func (t Trigger) Label(i int) string {
	if t.Name != "" {
		return t.Name
	}
	return fmt.Sprintf("trigger %d", i+1)
}

// ResolveURL is the call's URL: as written when absolute, else the path joined to target.
func (c Call) ResolveURL(target string) (string, error) {
	if strings.HasPrefix(c.URL, "/") {
		if target == "" {
			return "", fmt.Errorf("trigger URL %s is a path, and there is no target URL to resolve it against", c.URL)
		}
		base, err := url.Parse(target)
		if err != nil {
			return "", fmt.Errorf("target %q: %w", target, err)
		}
		ref, err := url.Parse(c.URL)
		if err != nil {
			return "", err
		}
		base.Path = strings.TrimSuffix(base.Path, "/") + ref.Path
		base.RawPath = ""
		base.RawQuery = ref.RawQuery
		base.Fragment = ""
		return base.String(), nil
	}
	return c.URL, nil
}

// MethodOrDefault is the call's method, POST when unset.
func (c Call) MethodOrDefault() string {
	if c.Method == "" {
		return "POST"
	}
	return c.Method
}

var (
	triggerKeys = []string{"name", "at", "for", "start", "stop"}
	callKeys    = []string{"method", "url", "body", "headers"}
)

func (w *walker) triggers(n *yaml.Node) ([]Trigger, *fieldError) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, wrongType("triggers", n, "a list of triggers such as [{at: 20s, for: 10s, start: {url: /control/db, body: '{\"refuse_connections\": true}'}, stop: {url: /control/restore}}]")
	}
	if len(n.Content) > MaxTriggers {
		return nil, errAt("triggers", fmt.Sprintf("%d triggers, above the maximum %d", len(n.Content), MaxTriggers),
			fmt.Sprintf("at most %d triggers: MaxTriggers", MaxTriggers)+boundsNote)
	}
	out := make([]Trigger, len(n.Content))
	for i, item := range n.Content {
		path := fmt.Sprintf("triggers[%d]", i)
		fields, err := w.mapping(item, path, triggerKeys)
		if err != nil {
			return nil, err
		}
		tr := &out[i]
		for _, f := range fields {
			p := join(path, f.key)
			switch f.key {
			case "name":
				tr.Name, err = str(f.val, p, "a trigger name")
			case "at":
				tr.At, err = offset(f.val, p)
			case "for":
				tr.For, err = duration(f.val, p)
			case "start":
				err = w.call(f.val, p, &tr.Start)
			case "stop":
				tr.Stop = &Call{}
				err = w.call(f.val, p, tr.Stop)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (w *walker) call(n *yaml.Node, path string, c *Call) *fieldError {
	fields, err := w.mapping(n, path, callKeys)
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "method":
			c.Method, err = str(f.val, p, "an HTTP method such as POST")
		case "url":
			c.URL, err = str(f.val, p, "an http(s) URL, or a path such as /control/db resolved against the target")
		case "body":
			var s *yaml.Node
			if s, err = scalar(f.val, p, "the body as text, such as '{\"fraction\": 0.2}'"); err == nil {
				c.Body = s.Value
			}
		case "headers":
			c.Headers, err = w.callHeaders(f.val, p)
		}
		if err != nil {
			break
		}
	}
	return err
}

func (w *walker) callHeaders(n *yaml.Node, path string) (map[string]string, *fieldError) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, wrongType(path, n, "a mapping of header names to values, such as {Content-Type: application/json}")
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := scalar(n.Content[i], path, "a header name")
		if err != nil {
			return nil, err
		}
		p := path + "[" + fmt.Sprintf("%q", k.Value) + "]"
		w.lines[p] = k.Line
		for name := range out {
			if strings.EqualFold(name, k.Value) {
				return nil, &fieldError{path: p, line: k.Line, problem: "set twice", expected: "each header once (names are case-insensitive)"}
			}
		}
		v, err := scalar(n.Content[i+1], p, "a header value")
		if err != nil {
			return nil, err
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// validateTriggers checks every trigger against the run's length.
func (p *Profile) validateTriggers(total time.Duration) *fieldError {
	if len(p.Triggers) > MaxTriggers {
		return errAt("triggers", fmt.Sprintf("%d triggers, above the maximum %d", len(p.Triggers), MaxTriggers),
			fmt.Sprintf("at most %d triggers: MaxTriggers", MaxTriggers)+boundsNote)
	}
	for i, t := range p.Triggers {
		path := fmt.Sprintf("triggers[%d]", i)
		switch {
		case t.At < 0 || time.Duration(t.At) >= total:
			return errAt(path+".at", fmt.Sprintf("%s is not within the run (0s to %s)", t.At, Duration(total)),
				"an offset from the run's start, before its end")
		case t.For < 0:
			return errAt(path+".for", notPositive(t.For), "a duration > 0")
		case t.Stop != nil && t.For == 0:
			return errAt(path+".stop", "set without for", "for: the time from start to stop, such as 10s")
		case time.Duration(t.At+t.For) > total:
			return errAt(path+".for", fmt.Sprintf("%s ends at %s, after the run's end at %s", t.For, t.At+t.For, Duration(total)),
				"a window that ends within the run, so that its stop call is made")
		}
		if err := t.Start.validate(path + ".start"); err != nil {
			return err
		}
		if t.Stop != nil {
			if err := t.Stop.validate(path + ".stop"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c Call) validate(path string) *fieldError {
	if c.Method != "" && !isToken(c.Method) {
		return errAt(path+".method", fmt.Sprintf("%q is not an HTTP method", c.Method), "a method such as POST or PUT")
	}
	const expected = "an http(s) URL such as http://chaos:8080/api/experiments, or a path such as /control/db resolved against the target"
	switch {
	case c.URL == "":
		return errAt(path+".url", "missing", expected)
	case strings.HasPrefix(c.URL, "/"):
		if _, err := url.Parse(c.URL); err != nil {
			return errAt(path+".url", fmt.Sprintf("%q: %v", c.URL, err), expected)
		}
	default:
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errAt(path+".url", fmt.Sprintf("%q is not an http(s) URL", c.URL), expected)
		}
	}
	if len(c.Body) > MaxTriggerBody {
		return errAt(path+".body", fmt.Sprintf("%d bytes, above the maximum %d", len(c.Body), MaxTriggerBody),
			fmt.Sprintf("a body of at most %d bytes: MaxTriggerBody", MaxTriggerBody)+boundsNote)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		if !isToken(name) {
			return errAt(fmt.Sprintf("%s.headers[%q]", path, name), fmt.Sprintf("%q is not a header name", name), "a header name such as Content-Type")
		}
	}
	return nil
}

// redacted is a copy of the call without credentials, as package secret decides them for
// the run (rules): secret header values read [redacted], a URL's user:password reads xxxxx
// and its secret query values REDACTED.
func (c Call) redacted(rules secret.Rules) Call {
	c.Headers = maps.Clone(c.Headers)
	for name, value := range c.Headers {
		c.Headers[name] = rules.HeaderValue(name, value)
	}
	c.URL = rules.URL(c.URL)
	return c
}

// RedactURLUserinfo replaces the user:password@ of an absolute URL with xxxxx@ (package
// secret's rule); anything else is returned as it is.
func RedactURLUserinfo(raw string) string { return secret.Rules{}.URL(raw) }

func (t Trigger) clone() Trigger {
	t.Start.Headers = maps.Clone(t.Start.Headers)
	if t.Stop != nil {
		s := *t.Stop
		s.Headers = maps.Clone(s.Headers)
		t.Stop = &s
	}
	return t
}
