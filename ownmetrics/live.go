package ownmetrics

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
)

// Setup is what `attack` was asked for: a /metrics address, a remote-write URL, or both.
type Setup struct {
	Addr        string            // --metrics-addr; empty: no /metrics
	RemoteWrite string            // --prometheus-remote-write; empty: no push
	Labels      map[string]string // --metrics-label
	// Linger keeps /metrics up after the run until it was scraped once more, for at most this
	// long, so that a scraping Prometheus gets the run's final figures.
	Linger time.Duration
	// Warn receives the pusher's one warning; called from the pusher's goroutine.
	Warn func(string)
}

// Live is one run's live metrics, wired: the observer to give attack.Run, and the server and
// pusher that publish it.
type Live struct {
	metrics *Metrics
	server  *Server
	pusher  *Pusher
	linger  time.Duration
}

// Outcome is what Finish did, for the CLI to say.
type Outcome struct {
	Scraped bool // /metrics was scraped after the run ended
	Push    *PushStats
}

// ParseLabels reads name=value pairs (--metrics-label); an error names the bad one.
func ParseLabels(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("metrics label %q is not name=value", p)
		}
		out[k] = v
	}
	return out, nil
}

// Start builds a run's metrics and starts what publishes them. Errors are bad input (a taken
// address, a malformed URL or label) and come before any load is sent.
func Start(prof *profiles.Profile, progress *attack.Progress, s Setup) (*Live, error) {
	if s.RemoteWrite != "" {
		if _, err := ParseRemoteWriteURL(s.RemoteWrite); err != nil {
			return nil, err
		}
	}
	m, err := New(Options{Profile: prof, Progress: progress, Labels: s.Labels})
	if err != nil {
		return nil, err
	}
	l := &Live{metrics: m, linger: s.Linger}
	if s.Addr != "" {
		if l.server, err = Serve(s.Addr, m.Registry()); err != nil {
			return nil, err
		}
	}
	if s.RemoteWrite != "" {
		host, _ := os.Hostname()
		l.pusher, err = StartPusher(m.Registry(), PushOptions{
			URL:         s.RemoteWrite,
			Labels:      map[string]string{"job": "stormtest", "instance": host},
			ConstLabels: m.ConstLabels(),
			Warn:        s.Warn,
		})
		if err != nil {
			if l.server != nil {
				_ = l.server.Close()
			}
			return nil, err
		}
	}
	return l, nil
}

// Observer is the attack.Observer to put in attack.Config.
func (l *Live) Observer() attack.Observer { return l.metrics }

// Addr is where /metrics is served; empty without one.
func (l *Live) Addr() string {
	if l.server == nil {
		return ""
	}
	return l.server.Addr()
}

// pushFlush bounds the final push after a run.
const pushFlush = 10 * time.Second

// Finish publishes the run's final figures and stops: the last push (for up to 10 s), and
// /metrics kept up until scraped once after end (for up to Linger, or until ctx ends).
func (l *Live) Finish(ctx context.Context, end time.Time) Outcome {
	var out Outcome
	if l.pusher != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushFlush)
		st := l.pusher.Close(fctx)
		cancel()
		out.Push = &st
	}
	if l.server != nil {
		if l.linger > 0 {
			out.Scraped = l.server.WaitScrape(ctx, end, l.linger)
		}
		_ = l.server.Close()
	}
	return out
}
