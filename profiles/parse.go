package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseError is a problem with a profile file, at a line. Its message is one line,
// "source:line: field: what is wrong (what was expected)", so that editors and CI logs can
// jump to it.
type ParseError struct {
	Source string
	Line   int
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Keys each mapping of a profile accepts; anything else is refused so that a misspelt key
// ("max_attempt") is an error instead of a silently ignored setting. A phase's keys,
// phaseKeys, are Phase's yaml tags (phase.go).
var (
	profileKeys = []string{"name", "description", "seed", "phases", "client", "clients", "slo", "request", "gate", "transport", "observe", "triggers"}
	// The single client has no name or share: it is the whole traffic, group "default".
	clientKeys  = []string{"timeout", "deadline", "think", "retry", "follow_redirects", "keepalive"}
	groupKeys   = []string{"name", "share", "timeout", "deadline", "think", "retry", "follow_redirects", "keepalive"}
	retryKeys   = []string{"policy", "max_attempts", "base", "cap", "jitter", "on", "retry_after", "budget"}
	budgetKeys  = []string{"type", "max_tokens", "token_ratio", "percent", "min_per_second", "ttl"}
	sloKeys     = []string{"latency"}
	requestKeys = []string{"method", "path", "paths", "requests", "headers", "body_file", "targets_file"}
	pathKeys    = []string{"path", "weight"}
)

// Parse reads one profile from YAML (JSON works too, being YAML). It is strict: unknown or
// repeated keys, values of the wrong type, durations without units, zero or negative
// durations, and everything Validate refuses are errors. The error is a *ParseError naming
// source and the offending line. A profile without a name is named after source's file name.
// Defaults (see ApplyDefaults) are applied before validation.
func Parse(data []byte, source string) (*Profile, error) {
	p, _, err := parse(data, source)
	return p, err
}

// parse is Parse, also returning the walker so that Load can place errors about the files a
// profile names on their lines.
func parse(data []byte, source string) (*Profile, *walker, error) {
	name := strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	if source == "" {
		source, name = "<profile>", ""
	}
	fail := func(line int, err error) error {
		return &ParseError{Source: source, Line: max(line, 1), Err: err}
	}

	// Refused before decoding: the YAML tree of a huge file (a million phases) took seconds
	// and gigabytes to build before validation could say anything.
	if len(data) > MaxProfileBytes {
		return nil, nil, fail(1, errAt("", fmt.Sprintf("the profile is larger than the maximum %d bytes", MaxProfileBytes),
			fmt.Sprintf("a profile file of at most %d bytes: MaxProfileBytes", MaxProfileBytes)+boundsNote))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fail(1, errors.New("empty profile (expected a YAML mapping with at least phases)"))
		}
		line, msg := yamlError(err)
		return nil, nil, fail(line, fmt.Errorf("not valid YAML: %s (expected a YAML mapping with at least phases)", msg))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line, _ = yamlError(err)
		}
		return nil, nil, fail(line, errors.New("a second YAML document (expected one profile per file)"))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}

	w := walker{lines: map[string]int{"": root.Line}}
	p, ferr := w.profile(root)
	if ferr == nil {
		if p.Name == "" {
			p.Name = name
		}
		p.ApplyDefaults()
		ferr = p.validate()
	}
	if ferr != nil {
		line := ferr.line
		if line == 0 {
			line = w.lineOf(ferr.path)
		}
		return nil, nil, fail(line, ferr)
	}
	return p, &w, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError pulls the line out of a yaml.v3 syntax error and flattens the rest to one line.
func yamlError(err error) (int, string) {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}

// walker turns the YAML tree into a Profile, recording the line of every key it sees so that
// errors found later, by Validate, can still point into the file.
type walker struct {
	lines map[string]int
}

// lineOf is the line of path or, when the field was not in the file (a default, a missing
// key), of the nearest enclosing field that was.
func (w *walker) lineOf(path string) int {
	for {
		if l, ok := w.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return w.lines[""]
		}
		path = path[:i]
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe says what a node is, for "is X (expected Y)" messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		default:
			return fmt.Sprintf("%q", n.Value)
		}
	}
	return "not a value"
}

func wrongType(path string, n *yaml.Node, expected string) *fieldError {
	return &fieldError{path: path, line: n.Line, problem: "is " + describe(n), expected: expected}
}

// sequence resolves n as a non-empty list: the list node, or the error naming what n is
// instead ("an empty list" for []).
func sequence(n *yaml.Node, path, expected string) (*yaml.Node, *fieldError) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, wrongType(path, n, expected)
	}
	if len(n.Content) == 0 {
		return nil, &fieldError{path: path, line: n.Line, problem: "an empty list", expected: expected}
	}
	return n, nil
}

// stringItems reads the items of a list at path as non-empty strings, recording each one's
// line under path[i].
func (w *walker) stringItems(items []*yaml.Node, path, expected string) ([]string, *fieldError) {
	out := make([]string, len(items))
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, err := str(item, p, expected)
		if err != nil {
			return nil, err
		}
		w.lines[p] = resolve(item).Line
		out[i] = s
	}
	return out, nil
}

// field is one key of a mapping and its value.
type field struct {
	key string
	val *yaml.Node
}

// mapping checks that n is a mapping with only allowed keys, none twice, and returns its
// fields in document order, so that of several problems the first in the file is reported.
func (w *walker) mapping(n *yaml.Node, path string, allowed []string) ([]field, *fieldError) {
	n = resolve(n)
	expected := "a mapping with keys " + strings.Join(allowed, ", ")
	if n.Kind != yaml.MappingNode {
		err := wrongType(path, n, expected)
		if path == "" {
			err.problem = "the document " + err.problem
		}
		return nil, err
	}
	if _, ok := w.lines[path]; !ok { // keep the key's line over its value's
		w.lines[path] = n.Line
	}
	out := make([]field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, &fieldError{path: path, line: k.Line, problem: "a key is " + describe(k), expected: expected}
		}
		if !slices.Contains(allowed, k.Value) {
			return nil, &fieldError{path: path, line: k.Line, problem: fmt.Sprintf("unknown key %q", k.Value),
				expected: "one of " + strings.Join(allowed, ", ")}
		}
		p := join(path, k.Value)
		if first, dup := w.lines[p]; dup {
			return nil, &fieldError{path: p, line: k.Line, problem: fmt.Sprintf("set twice, first on line %d", first), expected: "each key once"}
		}
		w.lines[p] = k.Line
		out = append(out, field{k.Value, n.Content[i+1]})
	}
	return out, nil
}

// scalar returns n as a scalar with a value, or an error saying what was expected.
func scalar(n *yaml.Node, path, expected string) (*yaml.Node, *fieldError) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, wrongType(path, n, expected)
	}
	return n, nil
}

// str reads a non-empty string. Numbers are taken as written (a phase may be named 2024).
func str(n *yaml.Node, path, expected string) (string, *fieldError) {
	s, err := scalar(n, path, expected)
	if err != nil {
		return "", err
	}
	if s.Value == "" {
		return "", &fieldError{path: path, line: s.Line, problem: "is empty", expected: expected}
	}
	return s.Value, nil
}

func number(n *yaml.Node, path, expected string) (*float64, *fieldError) {
	s, err := scalar(n, path, expected)
	if err != nil {
		return nil, err
	}
	var f float64
	if (s.Tag != "!!int" && s.Tag != "!!float") || s.Decode(&f) != nil {
		return nil, wrongType(path, s, expected)
	}
	return &f, nil
}

func integer(n *yaml.Node, path, expected string, v any) *fieldError {
	s, err := scalar(n, path, expected)
	if err != nil {
		return err
	}
	if s.Tag != "!!int" || s.Decode(v) != nil {
		return wrongType(path, s, expected)
	}
	return nil
}

// duration reads a duration that must be positive: no duration in a profile can sensibly be
// zero, and refusing an explicit 0 keeps it from being silently replaced by a default.
func duration(n *yaml.Node, path string) (Duration, *fieldError) {
	s, ferr := scalar(n, path, durationExpected)
	if ferr != nil {
		return 0, ferr
	}
	if s.Tag == "!!int" || s.Tag == "!!float" {
		return 0, &fieldError{path: path, line: s.Line, problem: fmt.Sprintf("%s has no unit", s.Value), expected: durationExpected}
	}
	d, err := parseDuration(s.Value)
	if err != nil {
		return 0, &fieldError{path: path, line: s.Line, problem: err.Error()}
	}
	if d <= 0 {
		return 0, &fieldError{path: path, line: s.Line, problem: fmt.Sprintf("%s is not positive", d), expected: "a duration > 0"}
	}
	return d, nil
}

// offset reads a duration that may be 0: a point or a spike can sit at a phase's start.
func offset(n *yaml.Node, path string) (Duration, *fieldError) {
	s, ferr := scalar(n, path, durationExpected)
	if ferr != nil {
		return 0, ferr
	}
	if s.Tag == "!!int" || s.Tag == "!!float" {
		if s.Value == "0" { // 0 needs no unit, and [0, 100] is how curves are pasted
			return 0, nil
		}
		return 0, &fieldError{path: path, line: s.Line, problem: fmt.Sprintf("%s has no unit", s.Value), expected: durationExpected}
	}
	d, err := parseDuration(s.Value)
	if err != nil {
		return 0, &fieldError{path: path, line: s.Line, problem: err.Error()}
	}
	if d < 0 {
		return 0, &fieldError{path: path, line: s.Line, problem: fmt.Sprintf("%s is negative", d), expected: "an offset from 0s"}
	}
	return d, nil
}

// atLeastOne reads a count that must be at least 1. It is checked here, not only in
// Validate, because an explicit 0 would otherwise read as "not set".
func atLeastOne(n *yaml.Node, path, expected string, v *int) *fieldError {
	if err := integer(n, path, expected, v); err != nil {
		return err
	}
	if *v < 1 {
		return &fieldError{path: path, line: resolve(n).Line, problem: fmt.Sprintf("%d is less than 1", *v), expected: expected}
	}
	return nil
}

// points reads [[offset, rate], ...], recording each point's line so that Validate's
// complaints about a point (out of order, negative) point at it.
func (w *walker) points(n *yaml.Node, path string) ([]Point, *fieldError) {
	const expected = "a list of [offset, rate] points such as [[0s, 100], [30s, 400]]"
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, wrongType(path, n, expected)
	}
	out := make([]Point, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		item = resolve(item)
		w.lines[p] = item.Line
		if item.Kind != yaml.SequenceNode || len(item.Content) != 2 {
			return nil, wrongType(p, item, "an [offset, rate] pair such as [30s, 400]")
		}
		at, err := offset(item.Content[0], p)
		if err != nil {
			return nil, err
		}
		r, err := number(item.Content[1], p, "a rate in first attempts per second, such as 200")
		if err != nil {
			return nil, err
		}
		out[i] = Point{At: at, Rate: *r}
	}
	return out, nil
}

func (w *walker) profile(root *yaml.Node) (*Profile, *fieldError) {
	fields, err := w.mapping(root, "", profileKeys)
	if err != nil {
		return nil, err
	}
	p := &Profile{}
	for _, f := range fields {
		switch key, v := f.key, f.val; key {
		case "name":
			p.Name, err = str(v, key, "a profile name")
		case "description":
			var s *yaml.Node
			if s, err = scalar(v, key, "a text"); err == nil {
				p.Description = s.Value
			}
		case "seed":
			err = integer(v, key, "an integer from 0 to 2^64-1", &p.Seed)
		case "phases":
			p.Phases, err = w.phases(v)
		case "client":
			err = w.client(v, "client", clientKeys, &p.Client)
		case "clients":
			p.Clients, err = w.clients(v)
		case "slo":
			err = w.slo(v, &p.SLO)
		case "request":
			err = w.request(v, &p.Request)
		case "gate":
			p.Gate, err = w.gate(v)
		case "transport":
			p.Transport, err = w.transport(v)
		case "observe":
			p.Observe, err = w.observe(v)
		case "triggers":
			p.Triggers, err = w.triggers(v)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (w *walker) phases(n *yaml.Node) ([]Phase, *fieldError) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, wrongType("phases", n, "a list of phases")
	}
	// Counted before any phase is read, so that a long list costs nothing more.
	if len(n.Content) > MaxPhases {
		return nil, tooManyPhases(len(n.Content))
	}
	out := make([]Phase, len(n.Content))
	for i, item := range n.Content {
		path := fmt.Sprintf("phases[%d]", i)
		fields, err := w.mapping(item, path, phaseKeys)
		if err != nil {
			return nil, err
		}
		ph := &out[i]
		for _, f := range fields {
			// rate: max is a rate with no number; Max has no key of its own.
			if r := resolve(f.val); f.key == "rate" && r.Kind == yaml.ScalarNode && r.Tag == "!!str" && r.Value == "max" {
				ph.Max = true
				continue
			}
			pf := phaseFields[slices.IndexFunc(phaseFields, func(pf phaseField) bool { return pf.key == f.key && pf.yaml })]
			if err := pf.read(w, f.val, join(path, f.key), pf.hint, ph.field(pf)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (w *walker) client(n *yaml.Node, path string, allowed []string, c *Client) *fieldError {
	fields, err := w.mapping(n, path, allowed)
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "name":
			c.Name, err = str(f.val, p, "a group name")
		case "share":
			var v *float64
			if v, err = number(f.val, p, "the group's fraction of first attempts, in (0, 1]"); err == nil {
				c.Share = *v
			}
		case "timeout":
			c.Timeout, err = duration(f.val, p)
		case "deadline":
			c.Deadline, err = duration(f.val, p)
		case "think":
			// 0s is a valid pause (users send back to back), so think is read as an offset.
			c.Think, err = offset(f.val, p)
		case "retry":
			err = w.retry(f.val, p, &c.Retry)
		case "follow_redirects":
			err = integer(f.val, p, followRedirectsExpected, &c.FollowRedirects)
		case "keepalive":
			var b bool
			if b, err = boolean(f.val, p); err == nil {
				c.KeepAlive = &b
			}
		}
		if err != nil {
			break
		}
	}
	return err
}

func (w *walker) clients(n *yaml.Node) ([]Client, *fieldError) {
	n, err := sequence(n, "clients", "a list of client groups, each with a share")
	if err != nil {
		return nil, err
	}
	out := make([]Client, len(n.Content))
	for i, item := range n.Content {
		if err := w.client(item, fmt.Sprintf("clients[%d]", i), groupKeys, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (w *walker) retry(n *yaml.Node, path string, r *Retry) *fieldError {
	fields, err := w.mapping(n, path, retryKeys)
	if err != nil {
		return err
	}
	for _, f := range fields {
		key, v := f.key, f.val
		p := join(path, key)
		switch key {
		case "policy":
			r.Policy, err = str(v, p, "a policy: none, immediate, fixed or exponential")
		case "max_attempts":
			const expected = "the number of tries including the first, at least 1"
			if err = integer(v, p, expected, &r.MaxAttempts); err == nil && r.MaxAttempts < 1 {
				// Checked here because a 0 left to ApplyDefaults would become 3.
				err = &fieldError{path: p, line: resolve(v).Line, problem: fmt.Sprintf("%d is less than 1", r.MaxAttempts), expected: expected}
			}
		case "base":
			r.Base, err = duration(v, p)
		case "cap":
			r.Cap, err = duration(v, p)
		case "jitter":
			r.Jitter, err = str(v, p, "a jitter: none, full, equal or decorrelated")
		case "on":
			r.On, err = w.retryOn(v, p)
		case "retry_after":
			r.RetryAfter, err = boolean(v, p)
		case "budget":
			r.Budget, err = w.budget(v, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// retryOnExpected is the hint for a bad retry.on entry.
const retryOnExpected = "timeout, connection, 5xx, 429, 4xx or a status code from 100 to 599"

// retryOn reads a list of failure classes and status codes. Codes may be written bare (503)
// or quoted ("503"); both are kept as the string "503". An empty list is refused: left out,
// on means the default set, and an explicit [] would read back as left out.
func (w *walker) retryOn(n *yaml.Node, path string) ([]string, *fieldError) {
	const expected = "a list of " + retryOnExpected + "; leave on out for timeout, connection, 5xx and 429"
	n, err := sequence(n, path, expected)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, err := scalar(item, p, retryOnExpected)
		if err != nil {
			return nil, err
		}
		w.lines[p] = s.Line
		out[i] = s.Value
	}
	return out, nil
}

// gate reads the list of thresholds; their syntax is checked by package gate, which knows it.
func (w *walker) gate(n *yaml.Node) ([]string, *fieldError) {
	const expected = `a list of thresholds such as "p99<300ms" or "verdict!=metastable"`
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, wrongType("gate", n, expected)
	}
	out := make([]string, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("gate[%d]", i)
		s, err := scalar(item, p, "a threshold such as p99<300ms")
		if err != nil {
			return nil, err
		}
		w.lines[p] = s.Line
		out[i] = s.Value
	}
	return out, nil
}

func (w *walker) budget(n *yaml.Node, path string) (*Budget, *fieldError) {
	fields, err := w.mapping(n, path, budgetKeys)
	if err != nil {
		return nil, err
	}
	b := &Budget{}
	// nonZero reads a number whose 0 would be indistinguishable from "left out" and so be
	// replaced by a default: an explicit 0 is refused rather than silently changed.
	nonZero := func(v *yaml.Node, p, expected string, dst *float64) *fieldError {
		x, err := number(v, p, expected)
		if err != nil {
			return err
		}
		if *x == 0 {
			return &fieldError{path: p, line: resolve(v).Line, problem: "0 reads as left out and would become the default", expected: expected}
		}
		*dst = *x
		return nil
	}
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "type":
			b.Type, err = str(f.val, p, "a budget type: token-bucket or ratio")
		case "max_tokens":
			err = nonZero(f.val, p, "a token count in (0, 1000]", &b.MaxTokens)
		case "token_ratio":
			err = nonZero(f.val, p, "tokens returned per success, at least 0.001", &b.TokenRatio)
		case "percent":
			err = nonZero(f.val, p, "retries as a percentage of requests, in (0, 1000]", &b.Percent)
		case "min_per_second":
			err = nonZero(f.val, p, "retries per second always allowed, > 0 (a tiny value such as 0.001 for none)", &b.MinPerSecond)
		case "ttl":
			b.TTL, err = duration(f.val, p)
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (w *walker) slo(n *yaml.Node, s *SLO) *fieldError {
	fields, err := w.mapping(n, "slo", sloKeys)
	for _, f := range fields {
		if s.Latency, err = duration(f.val, "slo.latency"); err != nil {
			break
		}
	}
	return err
}

func (w *walker) request(n *yaml.Node, r *Request) *fieldError {
	fields, err := w.mapping(n, "request", requestKeys)
	for _, f := range fields {
		p := join("request", f.key)
		switch f.key {
		case "method":
			r.Method, err = str(f.val, p, "an HTTP method such as GET")
		case "path":
			r.Path, err = str(f.val, p, "a path such as /api/orders")
		case "paths":
			r.Paths, err = w.paths(f.val, p)
		case "requests":
			r.Requests, err = w.requests(f.val, p)
		case "headers":
			r.Headers, err = w.headers(f.val, p)
		case "body_file":
			r.BodyFile, err = str(f.val, p, "a file name, relative to the profile's directory")
		case "targets_file":
			r.TargetsFile, err = str(f.val, p, "a vegeta targets file, relative to the profile's directory")
		}
		if err != nil {
			break
		}
	}
	return err
}

func (w *walker) paths(n *yaml.Node, path string) ([]WeightedPath, *fieldError) {
	const expected = "a list of {path, weight} such as [{path: /a, weight: 3}, {path: /b, weight: 1}]"
	n, err := sequence(n, path, expected)
	if err != nil {
		return nil, err
	}
	out := make([]WeightedPath, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		fields, err := w.mapping(item, p, pathKeys)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			switch f.key {
			case "path":
				out[i].Path, err = str(f.val, join(p, f.key), "a path such as /api/orders")
			case "weight":
				var v *float64
				if v, err = number(f.val, join(p, f.key), "a weight > 0"); err == nil {
					out[i].Weight = *v
				}
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// headers reads a mapping of header names to values. Values are taken as written, so that
// "X-Version: 2" sends "2". Names differing only in case are refused here, with both
// lines, because HTTP treats them as one header.
func (w *walker) headers(n *yaml.Node, path string) (map[string]string, *fieldError) {
	const expected = "a mapping of header names to values, such as {Accept: application/json}"
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, wrongType(path, n, expected)
	}
	out := make(map[string]string, len(n.Content)/2)
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := scalar(n.Content[i], path, "a header name")
		if err != nil {
			return nil, err
		}
		p := headerPath(path, k.Value)
		if line, dup := first[strings.ToLower(k.Value)]; dup {
			return nil, &fieldError{path: p, line: k.Line, problem: fmt.Sprintf("set twice, first on line %d", line), expected: "each header once (names are case-insensitive)"}
		}
		first[strings.ToLower(k.Value)] = k.Line
		w.lines[p] = k.Line
		v, err := scalar(n.Content[i+1], p, "a header value")
		if err != nil {
			return nil, err
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// plainProfile has Profile's fields and tags but not its methods, so that MarshalYAML can
// hand it to the encoder without recursing.
type plainProfile Profile

// MarshalYAML makes yaml.Marshal(p) write the same document as Marshal. With a client mix,
// the single client (which is then unused, and at its defaults) is left out, so that the
// file shows only the behaviour in force.
//
// A description that starts with a blank or a line break is written double-quoted: yaml.v3
// writes it as a block scalar that reads back without its first line break ("\n0\n" came
// back as "0\n"; found by FuzzParse).
func (p *Profile) MarshalYAML() (any, error) {
	quote := p.Description != "" && strings.ContainsAny(p.Description[:1], " \t\n")
	if !quote && (len(p.Clients) == 0 || !p.Client.isDefault()) {
		return (*plainProfile)(p), nil
	}
	var n yaml.Node
	if err := n.Encode((*plainProfile)(p)); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "client":
			if len(p.Clients) > 0 && p.Client.isDefault() {
				n.Content = slices.Delete(n.Content, i, i+2)
				i -= 2
			}
		case "description":
			v := n.Content[i+1]
			v.Value, v.Style = p.Description, yaml.DoubleQuotedStyle
		}
	}
	return &n, nil
}

// Marshal writes p as YAML that Parse reads back to an equal profile.
func (p *Profile) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("marshal profile %q: %w", p.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal profile %q: %w", p.Name, err)
	}
	return buf.Bytes(), nil
}

// plainPhase has Phase's fields and tags but not its methods, for Phase.MarshalYAML.
type plainPhase Phase

// MarshalYAML writes a `rate: max` phase back as rate: max, the form Parse reads (Max has no
// YAML key of its own, so that a profile has one way to say it).
func (ph Phase) MarshalYAML() (any, error) {
	if !ph.Max {
		return plainPhase(ph), nil
	}
	var n yaml.Node
	if err := n.Encode(plainPhase(ph)); err != nil {
		return nil, err
	}
	n.Content = append(n.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "rate"},
		&yaml.Node{Kind: yaml.ScalarNode, Value: "max"})
	return &n, nil
}

// MarshalYAML writes a point as a one-line [offset, rate] list, the form Parse reads.
func (pt Point) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: pt.At.String()},
		{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(pt.Rate, 'g', -1, 64)},
	}}, nil
}

// MarshalJSON writes a point as ["30s", 400].
func (pt Point) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{pt.At, pt.Rate})
}

// UnmarshalJSON reads ["30s", 400].
func (pt *Point) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 2 {
		return fmt.Errorf("point %s: not an [offset, rate] pair", b)
	}
	if err := json.Unmarshal(raw[0], &pt.At); err != nil {
		return fmt.Errorf("point %s: %w", b, err)
	}
	if err := json.Unmarshal(raw[1], &pt.Rate); err != nil {
		return fmt.Errorf("point %s: rate is not a number", b)
	}
	return nil
}
