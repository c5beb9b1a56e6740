package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stormtest/stormtest/internal/envvar"
)

// MaxRequests bounds the entries of request.requests: a mix longer than that is a vegeta
// targets file's job, and every entry's body is held in memory.
const MaxRequests = 1000

// requestEntryKeys are the keys of one request.requests entry.
var requestEntryKeys = []string{"weight", "method", "path", "headers", "body", "json", "body_file"}

// requests reads request.requests: a non-empty list of complete weighted requests.
func (w *walker) requests(n *yaml.Node, path string) ([]WeightedRequest, *fieldError) {
	const expected = "a list of requests such as [{weight: 3, method: GET, path: /items}, {weight: 1, method: POST, path: /items, json: {name: x}}]"
	n, err := sequence(n, path, expected)
	if err != nil {
		return nil, err
	}
	if len(n.Content) > MaxRequests {
		return nil, &fieldError{path: path, line: n.Line, problem: fmt.Sprintf("%d requests, above the maximum %d", len(n.Content), MaxRequests),
			expected: fmt.Sprintf("at most %d requests (use a targets_file for more): MaxRequests", MaxRequests) + boundsNote}
	}
	out := make([]WeightedRequest, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		fields, err := w.mapping(item, p, requestEntryKeys)
		if err != nil {
			return nil, err
		}
		r := &out[i]
		for _, f := range fields {
			fp := join(p, f.key)
			switch f.key {
			case "weight":
				var v *float64
				if v, err = number(f.val, fp, "a weight > 0"); err == nil {
					r.Weight = *v
					if !(r.Weight > 0) || math.IsInf(r.Weight, 0) {
						err = &fieldError{path: fp, line: resolve(f.val).Line, problem: fmt.Sprintf("%v is not a finite weight > 0", r.Weight), expected: weightExpected}
					}
				}
			case "method":
				r.Method, err = str(f.val, fp, "an HTTP method such as GET")
			case "path":
				r.Path, err = str(f.val, fp, "a path such as /api/orders")
			case "headers":
				r.Headers, err = w.headers(f.val, fp)
			case "body":
				var s *yaml.Node
				if s, err = scalar(f.val, fp, "a body as text; for JSON use json:"); err == nil {
					r.Body = s.Value
				}
			case "json":
				var b bytes.Buffer
				if err = nodeJSON(f.val, fp, &b); err == nil {
					r.JSON = JSONBody(b.Bytes())
				}
			case "body_file":
				r.BodyFile, err = str(f.val, fp, "a file name, relative to the profile's directory")
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

const weightExpected = "a weight > 0; requests go to each entry in proportion to its weight"

// nodeJSON writes a YAML value as compact JSON, mappings in the order written (encoding/json
// would sort the keys of a map), so the target receives the body as the profile spells it.
func nodeJSON(n *yaml.Node, path string, b *bytes.Buffer) *fieldError {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return wrongType(path, k, "JSON: object keys are strings")
			}
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			b.Write(key)
			b.WriteByte(':')
			if err := nodeJSON(n.Content[i+1], path+"."+k.Value, b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(item, fmt.Sprintf("%s[%d]", path, i), b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			var v bool
			if n.Decode(&v) != nil {
				return wrongType(path, n, "a JSON value")
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			var v float64
			if n.Decode(&v) != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return &fieldError{path: path, line: n.Line, problem: fmt.Sprintf("%s is not a JSON number", n.Value), expected: "a finite number, or a quoted string"}
			}
			if json.Valid([]byte(n.Value)) {
				b.WriteString(n.Value) // as written: 1.50 stays 1.50, big integers keep their digits
			} else {
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64)) // 0x1F, 1_000, +1
			}
		default: // strings, and timestamps and the like, as the text written
			s, _ := json.Marshal(n.Value)
			b.Write(s)
		}
	default:
		return wrongType(path, n, "a JSON value")
	}
	return nil
}

// MarshalYAML writes the body back as the YAML value it was read from.
func (j JSONBody) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, fmt.Errorf("json body: %w", err)
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		clearStyle(n.Content[0])
		return n.Content[0], nil
	}
	return nil, nil
}

// clearStyle drops the flow and quoting styles yaml.v3 keeps from the JSON text, so the body
// is written as ordinary YAML.
func clearStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		// A string that reads as another type must stay quoted.
		var v any
		if yaml.Unmarshal([]byte(n.Value), &v) != nil || fmt.Sprint(v) != n.Value || n.Value == "" {
			n.Style = yaml.DoubleQuotedStyle
		} else if _, isStr := v.(string); !isStr {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	for _, c := range n.Content {
		clearStyle(c)
	}
}

// MarshalJSON writes the body as the JSON value it is.
func (j JSONBody) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return []byte(j), nil
}

// UnmarshalJSON keeps the value as compact JSON text.
func (j *JSONBody) UnmarshalJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	if buf.String() == "null" {
		*j = nil
		return nil
	}
	*j = JSONBody(buf.Bytes())
	return nil
}

// validateEntries checks request.requests, which replaces method, path, paths and body_file.
func (r Request) validateEntries() *fieldError {
	for _, f := range []struct {
		key string
		on  bool
	}{{"method", r.Method != ""}, {"path", r.Path != ""}, {"paths", len(r.Paths) > 0}, {"body_file", r.BodyFile != ""}} {
		if f.on {
			return errAt("request."+f.key, "set with requests",
				"requests alone: each entry gives its own method, path and body (headers here apply to every entry)")
		}
	}
	if len(r.Requests) > MaxRequests {
		return errAt("request.requests", fmt.Sprintf("%d requests, above the maximum %d", len(r.Requests), MaxRequests),
			fmt.Sprintf("at most %d requests (use a targets_file for more): MaxRequests", MaxRequests)+boundsNote)
	}
	for i, e := range r.Requests {
		p := fmt.Sprintf("request.requests[%d]", i)
		if !(e.Weight > 0) || math.IsInf(e.Weight, 0) {
			return errAt(p+".weight", fmt.Sprintf("%v is not a finite weight > 0", e.Weight), weightExpected)
		}
		if !isToken(e.Method) {
			return errAt(p+".method", fmt.Sprintf("%q is not an HTTP method", e.Method), "a method such as GET or POST")
		}
		if e.Path == "" {
			return errAt(p+".path", "missing", pathExpected)
		}
		if err := checkPath(p+".path", e.Path); err != nil {
			return err
		}
		bodies := 0
		for _, on := range []bool{e.Body != "", len(e.JSON) > 0, e.BodyFile != ""} {
			if on {
				bodies++
			}
		}
		if bodies > 1 {
			return errAt(p, "more than one of body, json and body_file", "at most one body per request")
		}
		if len(e.Body) > MaxBodyBytes || len(e.JSON) > MaxBodyBytes {
			return errAt(p, fmt.Sprintf("the body is above the maximum %d bytes", MaxBodyBytes),
				fmt.Sprintf("a body of at most %d bytes: MaxBodyBytes", MaxBodyBytes)+boundsNote)
		}
		if len(e.JSON) > 0 && !json.Valid(e.JSON) {
			return errAt(p+".json", "is not valid JSON", "a JSON value")
		}
		if err := checkHeaders(p+".headers", e.Headers); err != nil {
			return err
		}
	}
	return nil
}

// headerPath names one header of the mapping at path in messages and in the walker's lines.
func headerPath(path, name string) string {
	return path + "[" + strconv.Quote(name) + "]"
}

// checkHeaders checks the names and values of a headers mapping at path.
func checkHeaders(path string, headers map[string]string) *fieldError {
	// Sorted, so that of several bad headers the same one is reported every time.
	names := slices.Sorted(maps.Keys(headers))
	lower := make(map[string]string, len(names))
	for _, name := range names {
		p := headerPath(path, name)
		if !isToken(name) {
			return errAt(p, fmt.Sprintf("%q is not a header name", name), "a header name such as Accept or X-Request-Id")
		}
		if other, dup := lower[strings.ToLower(name)]; dup {
			return errAt(p, fmt.Sprintf("the same header as %q", other), "each header once (names are case-insensitive)")
		}
		lower[strings.ToLower(name)] = name
		if strings.ContainsAny(headers[name], "\r\n\x00") {
			return errAt(p, "the value has a line break or NUL", "a one-line header value")
		}
		if err := envvar.Check(headers[name]); err != nil {
			return errAt(p, err.Error(), "")
		}
	}
	return nil
}

// envFields lists every field of r that may reference environment variables, with its path.
func (r *Request) envFields() []struct {
	path  string
	value *string
} {
	type f = struct {
		path  string
		value *string
	}
	var out []f
	add := func(path string, v *string) {
		if *v != "" {
			out = append(out, f{path, v})
		}
	}
	headers := func(path string, h map[string]string) {
		for _, name := range slices.Sorted(maps.Keys(h)) {
			v := h[name]
			out = append(out, f{headerPath(path, name), &v})
		}
	}
	add("request.path", &r.Path)
	for i := range r.Paths {
		add(fmt.Sprintf("request.paths[%d].path", i), &r.Paths[i].Path)
	}
	headers("request.headers", r.Headers)
	add("request.body_file", &r.BodyFile)
	add("request.targets_file", &r.TargetsFile)
	for i := range r.Requests {
		e := &r.Requests[i]
		p := fmt.Sprintf("request.requests[%d]", i)
		add(p+".path", &e.Path)
		headers(p+".headers", e.Headers)
		add(p+".body_file", &e.BodyFile)
	}
	return out
}

// checkEnvSyntax refuses a malformed ${...} reference in any field that is expanded.
func (r *Request) checkEnvSyntax() *fieldError {
	for _, f := range r.envFields() {
		if err := envvar.Check(*f.value); err != nil {
			return errAt(f.path, err.Error(), "")
		}
	}
	return nil
}

// checkEnv reports the first reference to a variable env does not set.
func (r *Request) checkEnv(env envvar.Lookup) *fieldError {
	for _, f := range r.envFields() {
		if _, err := envvar.Expand(*f.value, env); err != nil {
			return errAt(f.path, err.Error(), "")
		}
	}
	return nil
}

// CheckEnv reports, in one line naming the field, the first ${NAME} the profile's request
// references that env does not set. A nil env sets nothing.
func (p *Profile) CheckEnv(env envvar.Lookup) error {
	if err := p.Request.checkEnv(env); err != nil {
		return err
	}
	return nil
}

// AddHeaders adds headers given as "Name: value" lines (the -H flag, as curl writes them)
// to the profile's request headers, replacing a header of the same name (in any case): the
// command line wins over the file. Values may reference ${NAME}. The profile is validated
// again; a targets file brings its own headers, so it takes none.
func (p *Profile) AddHeaders(lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	if p.Request.TargetsFile != "" {
		return fmt.Errorf("--header: the profile sends a targets file (%s), whose targets carry their own headers; put the header in it", p.Request.TargetsFile)
	}
	headers := maps.Clone(p.Request.Headers)
	if headers == nil {
		headers = map[string]string{}
	}
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !isToken(name) {
			// The line itself is not quoted: a header typed without its colon may be a token.
			return fmt.Errorf("--header: expected \"Name: value\" with a header name before the colon, such as \"Authorization: Bearer ${TOKEN}\"")
		}
		for k := range headers {
			if strings.EqualFold(k, name) {
				delete(headers, k)
			}
		}
		headers[name] = value
	}
	if err := checkHeaders("--header", headers); err != nil {
		return err
	}
	p.Request.Headers = headers
	return nil
}
