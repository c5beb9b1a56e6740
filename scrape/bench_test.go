package scrape

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/simservice"
)

// BenchmarkScrapeSimservice is one scrape of the built-in target's /metrics over loopback:
// request, expfmt decoding and the selection, default settings (every gauge and counter).
// It bounds what observing costs the generator machine per endpoint and interval.
func BenchmarkScrapeSimservice(b *testing.B) {
	srv, err := simservice.New(simservice.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	obs := profiles.Observe{}
	obs.ApplyDefaults()
	ep := &endpoint{Endpoint: Endpoint{URL: ts.URL + "/metrics", Shown: ts.URL + "/metrics"}, client: ts.Client(), obs: obs,
		start: time.Now(), kept: map[seriesKey]bool{}, dropped: map[seriesKey]bool{}}
	b.ReportAllocs()
	for range b.N {
		if sc := ep.scrape(context.Background()); sc.Error != "" || len(sc.Samples) < 20 {
			b.Fatalf("scrape: %q, %d samples", sc.Error, len(sc.Samples))
		}
	}
}
