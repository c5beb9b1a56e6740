package attack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/profiles"
)

// endpoint is one request a client may send. Its header and body are shared by every attempt
// and never modified: vegeta copies them into each request.
type endpoint struct {
	method string
	url    string // without fragment
	header http.Header
	body   []byte
}

// maxEndpoints bounds the targets of a plan: a request's endpoint is kept in 16 bits.
const maxEndpoints = 1 << 16

// requestPlan is what the clients send: one endpoint, weighted paths, or the targets of a
// vegeta targets file in turn. A request keeps its endpoint across retries.
type requestPlan struct {
	endpoints  []endpoint
	cumWeights []float64 // for weighted paths: running sums, last = total; nil otherwise
	roundRobin bool      // targets files: in turn, as vegeta does
}

// newRequestPlan reads the profile's request section against the target's base URL.
func newRequestPlan(target string, req profiles.Request) (*requestPlan, error) {
	if req.TargetsFile != "" {
		return targetsFilePlan(req.TargetsFile)
	}
	header := make(http.Header, len(req.Headers))
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	var body []byte
	if req.BodyFile != "" {
		// ReadBody refuses devices and bodies past profiles.MaxBodyBytes.
		b, err := profiles.ReadBody(req.BodyFile)
		if err != nil {
			return nil, err
		}
		body = b
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	plan := &requestPlan{}
	paths := req.Paths
	if len(paths) == 0 {
		paths = []profiles.WeightedPath{{Path: req.Path, Weight: 1}}
	}
	if len(paths) > maxEndpoints {
		return nil, fmt.Errorf("request: %d paths, at most %d", len(paths), maxEndpoints)
	}
	var sum float64
	for _, p := range paths {
		u, err := requestURL(target, p.Path)
		if err != nil {
			return nil, err
		}
		plan.endpoints = append(plan.endpoints, endpoint{method: method, url: u, header: header, body: body})
		sum += p.Weight
		plan.cumWeights = append(plan.cumWeights, sum)
	}
	if len(plan.endpoints) == 1 {
		plan.cumWeights = nil
	}
	return plan, nil
}

// targetsFilePlan reads a vegeta targets file in vegeta's "http" format.
func targetsFilePlan(path string) (*requestPlan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("targets file: %w", err)
	}
	defer f.Close()
	tgts, err := vegeta.ReadAllTargets(vegeta.NewHTTPTargeter(f, nil, nil))
	if errors.Is(err, vegeta.ErrNoTargets) {
		return nil, fmt.Errorf("targets file %s: no targets in it", path)
	}
	if err != nil {
		return nil, fmt.Errorf("targets file %s: %w", path, err)
	}
	if len(tgts) > maxEndpoints {
		return nil, fmt.Errorf("targets file %s: %d targets, at most %d", path, len(tgts), maxEndpoints)
	}
	plan := &requestPlan{roundRobin: true}
	for _, t := range tgts {
		u, err := requestURL(t.URL, "")
		if err != nil {
			return nil, fmt.Errorf("targets file %s: %w", path, err)
		}
		plan.endpoints = append(plan.endpoints, endpoint{method: t.Method, url: u, header: t.Header, body: t.Body})
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
