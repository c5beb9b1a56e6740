package capacity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/profiles"
)

// HTTPProber runs probes as short attacks against a real target and analyses them
// in-process: nothing is written to disk.
type HTTPProber struct {
	Target string
	// Profile supplies the clients (timeout, retry policy for PolicyProfile), the SLO and
	// the request; its phases are not used.
	Profile *profiles.Profile
	// ReadyURL, when set, replaces settle probes' load with a GET that must answer 200
	// within ReadyTimeout (default 2s).
	ReadyURL     string
	ReadyTimeout time.Duration
	// Client makes the readiness request (nil: http.DefaultClient); attack.HTTPClient gives
	// one that reaches the target as the probes do.
	Client *http.Client
	// Analyze tunes the analysis of surges (tolerance, min-count…); its Grace is set per
	// probe.
	Analyze analyze.Options
	// MaxWorkers bounds concurrent attempts per probe (0: sized from the probe).
	MaxWorkers uint64
	// RedactHeaders and Env are passed to every probe's attack.Config: more secret header
	// names, and the environment that expands ${NAME} in the target, paths and headers.
	RedactHeaders []string
	Env           envvar.Lookup
	// Cut is how capacity-drop probes cut the target's capacity (see CutTrigger); needed
	// only for them.
	Cut CutTrigger
}

// surgeTail is the baseline run past the grace, so that the last judged windows are whole
// and analyze can tell a recovery from a run that ended too soon.
const surgeTail = 2 * time.Second

// Probe implements Prober.
func (h *HTTPProber) Probe(ctx context.Context, p Probe) (Outcome, error) {
	if p.Kind == KindSettle && h.ReadyURL != "" {
		return h.ready(ctx)
	}
	prof, err := h.profileFor(p)
	if err != nil {
		return Outcome{}, err
	}
	opt := h.Analyze
	if p.Kind == KindSurge || p.Kind == KindCut {
		opt.Grace = time.Duration(p.Grace)
	}
	// The attack streams straight into the analysis: it builds the header and trailer, the
	// Analyzer is its Sink.
	an := analyze.NewAnalyzer(opt)
	sum, err := attack.Run(ctx, attack.Config{Target: h.Target, Profile: prof, MaxWorkers: h.MaxWorkers, RedactHeaders: h.RedactHeaders, Env: h.Env}, an)
	if err != nil {
		return Outcome{}, fmt.Errorf("attack: %w", err)
	}
	if sum.Interrupted {
		return Outcome{}, fmt.Errorf("probe interrupted: %w", context.Cause(ctx))
	}
	rep := an.Report(nil)
	// A cut whose calls failed measured nothing (the target may never have been cut, or
	// may still be): that stops the search rather than reading as a recovery.
	for _, tr := range rep.Triggers {
		for _, c := range tr.Calls {
			if !c.OK {
				return Outcome{}, fmt.Errorf("trigger %s call %s %s failed: %s (check --trigger-start/--trigger-stop)", c.Action, c.Method, c.URL, c.Error)
			}
		}
	}
	return outcome(p, rep), nil
}

// outcome extracts what the search needs from a probe's analysis: a step's (or settle
// probe's) figures come from its one phase, a surge's from the whole run plus the verdict.
func outcome(p Probe, rep *analyze.Report) Outcome {
	var o Outcome
	if len(rep.Phases) > 0 {
		ph := rep.Phases[0]
		o = Outcome{IntendedRPS: ph.IntendedRPS, GoodputRPS: ph.GoodputRPS, P50: ph.P50, P99: ph.P99}
		if ph.OfferedRPS > 0 {
			o.ErrorRate = ph.ErrorRPS / ph.OfferedRPS
		}
	}
	if p.Kind == KindSurge || p.Kind == KindCut {
		o.Verdict = rep.Verdict
		o.RecoverySeconds = rep.RecoverySeconds
		if len(rep.Evidence) > 0 {
			o.Detail = rep.Evidence[len(rep.Evidence)-1]
		}
	}
	return o
}

// profileFor is the probe's traffic: a step or settle probe is one constant phase with
// clients that do not retry (the knee is the target's own, not shaped by retries, and a
// settle probe must not start a storm of its own); a surge is warm, surge and after at the
// baseline, with the policy's clients.
func (h *HTTPProber) profileFor(p Probe) (*profiles.Profile, error) {
	if h.Profile == nil {
		return nil, errors.New("capacity: no profile")
	}
	rate := func(x float64) *float64 { return &x }
	var prof *profiles.Profile
	switch p.Kind {
	case KindStep, KindSettle:
		prof = retryFor(h.Profile, PolicyNone)
		prof.Phases = []profiles.Phase{{Name: p.Kind, Duration: p.Duration, Rate: rate(p.Rate)}}
	case KindSurge:
		prof = retryFor(h.Profile, p.Policy)
		prof.Phases = []profiles.Phase{
			{Name: "baseline", Duration: p.Warm, Rate: rate(p.Rate)},
			{Name: "surge", Duration: p.Duration, Rate: rate(p.Rate * p.Size)},
			{Name: "after", Duration: p.Grace + profiles.Duration(surgeTail), Rate: rate(p.Rate)},
		}
	case KindCut:
		if h.Cut.Start == "" || h.Cut.Stop == "" {
			return nil, errors.New("capacity: a capacity-drop probe needs trigger URLs to cut the capacity and restore it")
		}
		prof = retryFor(h.Profile, p.Policy)
		prof.Phases = []profiles.Phase{
			{Name: "baseline", Duration: p.Warm, Rate: rate(p.Rate)},
			{Name: "cut", Duration: p.Duration, Rate: rate(p.Rate)},
			{Name: "after", Duration: p.Grace + profiles.Duration(surgeTail), Rate: rate(p.Rate)},
		}
		prof.Triggers = []profiles.Trigger{h.Cut.trigger(p)}
	default:
		return nil, fmt.Errorf("capacity: unknown probe kind %q", p.Kind)
	}
	prof.Name = h.Profile.Name + " " + p.Kind
	// Each probe has its own fixed seed, so a probe run again draws the same jitter.
	f := fnv.New64a()
	_, _ = io.WriteString(f, p.Key())
	prof.Seed = h.Profile.Seed ^ f.Sum64() | 1
	if err := prof.Validate(); err != nil {
		return nil, fmt.Errorf("capacity: %s: %w", p, err)
	}
	return prof, nil
}

// ready asks the readiness URL once.
func (h *HTTPProber) ready(ctx context.Context) (Outcome, error) {
	timeout := h.ReadyTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	no, yes := false, true
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.ReadyURL, nil)
	if err != nil {
		return Outcome{}, fmt.Errorf("ready URL: %w", err)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Outcome{Ready: &no, Detail: fmt.Sprintf("GET %s: no answer within %s", h.ReadyURL, timeout)}, nil
		}
		return Outcome{Ready: &no, Detail: fmt.Sprintf("GET %s: %v", h.ReadyURL, err)}, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Outcome{Ready: &no, Detail: fmt.Sprintf("GET %s: %s", h.ReadyURL, resp.Status)}, nil
	}
	return Outcome{Ready: &yes, Detail: fmt.Sprintf("GET %s: %s", h.ReadyURL, resp.Status)}, nil
}

// ProfileDigest identifies the parts of a profile a probe uses (clients, SLO, request), so a
// state file is refused for another profile but not for a renamed one or other phases.
func ProfileDigest(p *profiles.Profile) string {
	data, err := json.Marshal(struct {
		Clients []profiles.Client `json:"clients"`
		SLO     profiles.SLO      `json:"slo"`
		Request profiles.Request  `json:"request"`
	}{p.Groups(), p.SLO, p.Request})
	if err != nil {
		// Every field is plain data; Marshal cannot fail on it.
		panic(fmt.Sprintf("capacity: profile digest: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}
