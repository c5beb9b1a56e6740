package attack

import (
	"context"
	"fmt"

	"github.com/stormtest/stormtest/internal/envvar"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/scrape"
)

// scrapeEndpoints resolves the profile's observe.scrape against the target: a path is taken
// on the target's host. Shown is the URL as the header and every message give it: userinfo and
// the --redact-query parameters redacted, as for the target.
func scrapeEndpoints(cfg Config) ([]scrape.Endpoint, error) {
	obs := cfg.Profile.Observe
	if obs == nil {
		return nil, nil
	}
	// A relative endpoint (/metrics) is on the target's host: the target as sent, with its
	// ${NAME} references expanded.
	target, err := envvar.Expand(cfg.Target, cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("--target: %w", err)
	}
	var out []scrape.Endpoint
	for _, s := range obs.Scrape {
		u, err := profiles.ResolveScrape(target, s)
		if err != nil {
			return nil, fmt.Errorf("observe.scrape: %w", err)
		}
		out = append(out, scrape.Endpoint{URL: u, Shown: cfg.Rules().URL(u)})
	}
	return out, nil
}

// startScraper starts scraping the target's metrics for a run of cfg, or returns nil when the
// profile observes nothing. The scraper runs until stopped, independently of the attack's
// context, so that the attempts still in flight after a Ctrl-C are observed too.
func startScraper(cfg Config, eps []scrape.Endpoint) (*scrape.Scraper, error) {
	if len(eps) == 0 {
		return nil, nil
	}
	return scrape.Start(context.Background(), scrape.Config{Endpoints: eps, Observe: *cfg.Profile.Observe, Start: cfg.Start})
}

// scrapeSink is the sink's ScrapeSink, or one that drops scrapes when the sink takes none
// (an analysis in memory, a test's recorder).
func scrapeSink(rec Recorder) func(*results.Scrape) error {
	if ss, ok := rec.(results.ScrapeSink); ok {
		return ss.Scrape
	}
	return func(*results.Scrape) error { return nil }
}
