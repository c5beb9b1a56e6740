package attack

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
	"github.com/stormtest/stormtest/internal/testfix"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/simservice"
)

// TestFaultsSurvived runs a short attack (2 s at 40/s: 80 requests, 1 s timeout, no
// retries) against the built-in service injecting each fault into half the requests, while
// sampling the process's goroutines, heap and RSS. The attack must finish on time with
// every attempt recorded, the faulted ones under the kind a user can read, the analysis
// must name that kind, and memory and goroutines must stay bounded: response bodies are
// counted up to the cap, never kept. The target runs in this process, so its goroutines
// count too; the bounds hold for both. Peaks are logged (go test -v) for the README.
func TestFaultsSurvived(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	const profile = "phases: [{name: load, duration: 2s, rate: 40}]\nclient: {timeout: 1s}\n"
	cases := []struct {
		fault simservice.Fault
		extra string // profile lines
		want  results.Kind
		label string  // the analysis names it so
		share float64 // of requests (of connections for goaway); 0 means 0.5
		tls   bool    // the service serves HTTPS (h2 by ALPN) with a CA of the test's own
	}{
		{simservice.FaultReset, "", results.KindReset, "connection reset", 0, false},
		{simservice.FaultHang, "", results.KindTimeout, "timeout", 0, false},
		{simservice.FaultSlowloris, "", results.KindTimeout, "timeout", 0, false},
		{simservice.FaultHugeBody, "", results.KindTooLarge, "body over the size cap", 0, false},
		{simservice.FaultEndlessBody, "", results.KindTooLarge, "body over the size cap", 0, false},
		{simservice.FaultGarbage, "", results.KindMalformed, "malformed response", 0, false},
		{simservice.FaultCloseEarly, "", results.KindReset, "connection reset", 0, false},
		{simservice.FaultLyingLength, "", results.KindReset, "connection reset", 0, false},
		{simservice.FaultRedirectLoop, "", results.Kind3xx, "HTTP 302", 0, false},
		{simservice.FaultRedirectLoop, "client: {timeout: 1s, follow_redirects: 5}\n", results.Kind3xx, "HTTP 302", 0, false},
		{simservice.FaultNoContinue, "", results.KindTimeout, "timeout", 0, false},
		// One h2c connection carries the whole run: every connection gets its GOAWAY.
		{simservice.FaultGoAway, "transport: {h2c: true}\n", results.KindReset, "connection reset", 1, false},
		// The same over TLS, h2 negotiated: what a staging service behind a proxy speaks. Every
		// attempt pays a TLS handshake on a new connection, which under the race detector on
		// two busy cores can take longer than 1 s: a 3 s timeout keeps them resets, not timeouts.
		{simservice.FaultGoAway, "client: {timeout: 3s}\n", results.KindReset, "connection reset", 1, true},
	}
	certs := newTestCerts(t)
	forEachEngine(t, func(t *testing.T, eng string) {
		for _, tc := range cases {
			if eng != engineStd && (tc.extra != "" || tc.tls) {
				continue // following redirects, h2c and h2 are the std engine's (auto picks it)
			}
			name := string(tc.fault)
			switch {
			case strings.Contains(tc.extra, "follow_redirects"):
				name += "-followed"
			case strings.Contains(tc.extra, "h2c"):
				name += "-h2c"
			case tc.tls:
				name += "-h2-tls"
			}
			t.Run(name, func(t *testing.T) {
				cfg := simservice.DefaultConfig()
				cfg.QueryTime = time.Millisecond
				var running *simservice.Running
				var err error
				if tc.tls {
					running, err = simservice.StartTLS(context.Background(), "127.0.0.1:0", cfg, &tls.Config{Certificates: []tls.Certificate{certs.server}})
				} else {
					running, err = simservice.Start(context.Background(), "127.0.0.1:0", cfg)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer running.Stop()
				if err := running.Server.SetFaults(simservice.FaultSpec{Kinds: []simservice.Fault{tc.fault}, Share: cmp.Or(tc.share, 0.5)}); err != nil {
					t.Fatal(err)
				}
				yaml := profile
				if tc.extra != "" {
					if strings.HasPrefix(tc.extra, "client:") {
						yaml = strings.Replace(profile, "client: {timeout: 1s}\n", "", 1)
					}
					yaml += tc.extra
				}
				if tc.tls {
					yaml += fmt.Sprintf("transport: {tls: {ca: [%q]}}\n", certs.caFile)
				}
				runtime.GC()
				base := runtime.NumGoroutine()
				peak := sampler(t)
				rec := &memRecorder{}
				start := time.Now()
				// A 1 MiB cap rather than the default 16: under the race detector on a loaded
				// machine, reading 16 MiB can take longer than the 1 s timeout.
				sum, err := Run(context.Background(), Config{Target: running.URL, Profile: onEngine(t, testfix.MustParse(t, yaml), eng), MaxBody: 1 << 20}, rec)
				took := time.Since(start)
				p := peak()
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				t.Logf("%-14s peak goroutines %4d (base %d), heap in use %5.1f MiB, RSS %5.1f MiB; %d attempts in %v; injected %d",
					name, p.goroutines, base, float64(p.heap)/(1<<20), float64(p.rss)/(1<<20), len(rec.recs), took.Round(10*time.Millisecond),
					running.Server.FaultsInjected()[tc.fault])
				// 2 s of schedule, a 1 s timeout and the attack's own start and drain.
				if took > 6*time.Second {
					t.Errorf("the attack took %v", took)
				}
				if sum.Requests != 80 || len(rec.recs) != 80 {
					t.Fatalf("%d requests, %d records; want 80 of each", sum.Requests, len(rec.recs))
				}
				faulted := 0
				for _, r := range rec.recs {
					switch r.Kind {
					case tc.want:
						faulted++
					case results.KindOK:
					case results.KindReset:
						// fasthttp reports garbage that ends without a line break, then a
						// close, as the connection closing mid-response (README: engines).
						if eng == engineFast && tc.fault == simservice.FaultGarbage {
							break
						}
						fallthrough
					default:
						t.Errorf("an attempt recorded as %s (%d %q); want ok or %s", r.Kind, r.Code, r.Error, tc.want)
					}
				}
				if faulted < 15 {
					t.Errorf("%d of 80 attempts recorded as %s; half were faulted", faulted, tc.want)
				}
				// The service misbehaved as asked (goaway: only on connections that spoke HTTP/2).
				if n := running.Server.FaultsInjected()[tc.fault]; n < 15 {
					t.Errorf("the service injected %s %d times", tc.fault, n)
				}
				if p.goroutines > base+400 {
					t.Errorf("goroutines peaked at %d (from %d)", p.goroutines, base)
				}
				// Bodies are counted, not kept: the fast engine held each body in memory
				// up to the cap before it streamed them (47 MiB in use for endless-body).
				if p.heap > 24<<20 {
					t.Errorf("heap in use peaked at %.1f MiB", float64(p.heap)/(1<<20))
				}
				// The analysis names the kind.
				a := analyze.NewAnalyzer(analyze.Options{})
				_ = a.Begin(rec.header)
				for i := range rec.recs {
					_ = a.Write(&rec.recs[i])
				}
				_ = a.End(rec.trailer)
				rep := a.Report(nil)
				var text bytes.Buffer
				if err := rep.WriteText(&text); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(text.String(), tc.label) {
					t.Errorf("the analysis does not name %q:\n%s", tc.label, text.String())
				}
			})
		}
	})
}

// peaks are the highest samples of a run.
type peaks struct {
	goroutines int
	heap, rss  uint64
}

// sampler samples goroutines, heap in use and RSS every 10 ms until the returned function is
// called, which returns the peaks.
func sampler(t *testing.T) func() peaks {
	var p peaks
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			p.goroutines = max(p.goroutines, runtime.NumGoroutine())
			runtime.ReadMemStats(&ms)
			p.heap = max(p.heap, ms.HeapInuse)
			p.rss = max(p.rss, rss(t))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() peaks {
		close(done)
		wg.Wait()
		return p
	}
}

// rss is the process's resident set size from /proc (0 where there is none).
func rss(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("/proc/self/statm: %q", b)
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
