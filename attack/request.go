package attack

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/net/http/httpguts"

	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/profiles"
)

// endpoint is one request a client may send. Its header and body are shared by every attempt
// and never modified: vegeta copies them into each request.
type endpoint struct {
	method string
	url    string // without fragment
	header http.Header
	body   []byte
	index  int // in requestPlan.endpoints
}

// maxEndpoints bounds the targets of a plan: a request's endpoint is kept in 16 bits.
const maxEndpoints = 1 << 16

// requestPlan is what the clients send: one endpoint, weighted paths, weighted complete
// requests, or the targets of a vegeta targets file in turn. A request keeps its endpoint across retries.
type requestPlan struct {
	endpoints  []endpoint
	cumWeights []float64 // for weighted paths: running sums, last = total; nil otherwise
	roundRobin bool      // targets files: in turn, as vegeta does
}

// newRequestPlan reads the profile's request section against the target's base URL,
// expanding the ${NAME} references of the target, the paths and the header values with env.
// Its errors quote paths and the target as written, never an expanded value.
func newRequestPlan(target string, req profiles.Request, env envvar.Lookup) (*requestPlan, error) {
	if req.TargetsFile != "" {
		return targetsFilePlan(req.TargetsFile)
	}
	base, err := expand("--target", target, env)
	if err != nil {
		return nil, err
	}
	shared, err := expandHeaders("request.headers", req.Headers, nil, env)
	if err != nil {
		return nil, err
	}
	bodies := map[string][]byte{} // each body file is read once and shared
	readBody := func(name string) ([]byte, error) {
		if name == "" {
			return nil, nil
		}
		if b, ok := bodies[name]; ok {
			return b, nil
		}
		// ReadBody refuses devices and bodies past profiles.MaxBodyBytes.
		b, err := profiles.ReadBody(name)
		bodies[name] = b
		return b, err
	}
	plan := &requestPlan{}
	var sum float64
	add := func(method, path string, header http.Header, body []byte, weight float64) error {
		if len(plan.endpoints) >= maxEndpoints {
			return fmt.Errorf("request: more than %d requests", maxEndpoints)
		}
		sent, err := expand("request path", path, env)
		if err != nil {
			return err
		}
		u, err := requestURL(base, sent)
		if err != nil {
			// Quote what was written, not what the environment put in it.
			return errors.New(strings.NewReplacer(sent, path, base, target).Replace(err.Error()))
		}
		plan.endpoints = append(plan.endpoints, endpoint{method: method, url: u, header: header, body: body, index: len(plan.endpoints)})
		sum += weight
		plan.cumWeights = append(plan.cumWeights, sum)
		return nil
	}
	if len(req.Requests) > 0 {
		for i, e := range req.Requests {
			header, err := expandHeaders(fmt.Sprintf("request.requests[%d].headers", i), e.Headers, shared, env)
			if err != nil {
				return nil, err
			}
			var body []byte
			switch {
			case e.Body != "":
				body = []byte(e.Body)
			case len(e.JSON) > 0:
				body = e.JSON
				if header.Get("Content-Type") == "" {
					header.Set("Content-Type", "application/json")
				}
			default:
				if body, err = readBody(e.BodyFile); err != nil {
					return nil, err
				}
			}
			if err := add(e.Method, e.Path, header, body, e.Weight); err != nil {
				return nil, err
			}
		}
	} else {
		body, err := readBody(req.BodyFile)
		if err != nil {
			return nil, err
		}
		method := req.Method
		if method == "" {
			method = http.MethodGet
		}
		paths := req.Paths
		if len(paths) == 0 {
			paths = []profiles.WeightedPath{{Path: req.Path, Weight: 1}}
		}
		for _, p := range paths {
			if err := add(method, p.Path, shared, body, p.Weight); err != nil {
				return nil, err
			}
		}
	}
	if len(plan.endpoints) == 1 {
		plan.cumWeights = nil
	}
	return plan, nil
}

// expand is s with its ${NAME} references replaced; the error names what and the variable.
func expand(what, s string, env envvar.Lookup) (string, error) {
	v, err := envvar.Expand(s, env)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// expandHeaders is base (which it does not modify) plus headers, with ${NAME} references
// expanded. A value the environment made multi-line is refused without being quoted.
func expandHeaders(path string, headers map[string]string, base http.Header, env envvar.Lookup) (http.Header, error) {
	out := base.Clone()
	if out == nil {
		out = make(http.Header, len(headers))
	}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		v, err := expand(fmt.Sprintf("%s[%q]", path, name), headers[name], env)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("%s[%q]: the value from the environment has a line break or NUL (expected a one-line header value)", path, name)
		}
		out.Set(name, v)
	}
	return out, nil
}

// targetsFilePlan reads a vegeta targets file in vegeta's "http" format.
func targetsFilePlan(path string) (*requestPlan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("targets file: %w", err)
	}
	defer f.Close()
	return readTargets(f, path)
}

// readTargets parses a targets file's content; path names it in errors.
func readTargets(r io.Reader, path string) (*requestPlan, error) {
	tgts, err := vegeta.ReadAllTargets(vegeta.NewHTTPTargeter(r, nil, nil))
	if errors.Is(err, vegeta.ErrNoTargets) {
		return nil, fmt.Errorf("targets file %s: no targets in it", path)
	}
	if err != nil {
		// vegeta quotes the offending line as it is, and a line may end in \r (a file
		// written on Windows) or hold other control characters: escape them so that the
		// error stays one line.
		return nil, &oneLineError{msg: fmt.Sprintf("targets file %s: %s", path, escapeControls(err.Error())), err: err}
	}
	if len(tgts) > maxEndpoints {
		return nil, fmt.Errorf("targets file %s: %d targets, at most %d", path, len(tgts), maxEndpoints)
	}
	plan := &requestPlan{roundRobin: true}
	for i, t := range tgts {
		// vegeta's method check is a prefix match: "A\r" passed it (found by
		// FuzzTargetsFile). A method is an HTTP token.
		if !httpguts.ValidHeaderFieldName(t.Method) {
			return nil, fmt.Errorf("targets file %s: target %d: method %q is not an HTTP method (expected GET, POST, …)", path, i+1, t.Method)
		}
		// vegeta takes any "name: value" line as a header; net/http would refuse to send a
		// line break or a bad name on every attempt, so such a file is refused up front.
		for name, values := range t.Header {
			if !httpguts.ValidHeaderFieldName(name) {
				return nil, fmt.Errorf("targets file %s: target %d: header name %q is not a valid HTTP header name", path, i+1, name)
			}
			for _, v := range values {
				if !httpguts.ValidHeaderFieldValue(v) {
					return nil, fmt.Errorf("targets file %s: target %d: header %s: the value has a control character (a line break?)", path, i+1, name)
				}
			}
		}
		u, err := requestURL(t.URL, "")
		if err != nil {
			return nil, fmt.Errorf("targets file %s: %w", path, err)
		}
		plan.endpoints = append(plan.endpoints, endpoint{method: t.Method, url: u, header: t.Header, body: t.Body, index: len(plan.endpoints)})
	}
	return plan, nil
}

// choose picks the endpoint of the n-th request (n counts from 0).
func (rp *requestPlan) choose(n uint64, rng *rand.Rand) uint16 {
	switch {
	case len(rp.endpoints) == 1:
		return 0
	case rp.roundRobin:
		return uint16(n % uint64(len(rp.endpoints)))
	}
	x := rng.Float64() * rp.cumWeights[len(rp.cumWeights)-1]
	return uint16(sort.SearchFloat64s(rp.cumWeights, x))
}

// baseURL is the URL the preflight check and the results header name.
func (rp *requestPlan) baseURL() string { return rp.endpoints[0].url }

// oneLineError is an error whose message was made one line, still wrapping the original.
type oneLineError struct {
	msg string
	err error
}

func (e *oneLineError) Error() string { return e.msg }
func (e *oneLineError) Unwrap() error { return e.err }

// escapeControls writes the control characters of s as Go escapes (\r, \x00).
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
