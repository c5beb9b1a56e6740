// Command compare measures stormtest's generator against the load testers its users compare
// it with, at maximum rate on loopback, side by side: wrk (C, Debian's package), bombardier
// (Go, fasthttp) and hey (Go, net/http) from the Go module proxy at pinned versions, vegeta's
// CLI, and stormtest with each engine (std: net/http through vegeta; fast: fasthttp; loop: its own
// event loop). It
// prints, per target, each generator's rate and CPU per request (medians of alternating
// rounds) and stormtest's ratios to each peer; with -pacing it measures stormtest's pacing
// accuracy at fixed rates instead.
//
// Every generator runs as a child process, so its CPU time is its own (user+sys from the
// child's rusage). The tools are installed once into the work directory (a cache directory by
// default): `go install` with GOBIN there, vegeta built from the module cache outside this
// module (so go.mod gains nothing), wrk and nginx with apt-get when they are missing. The
// targets are nginx from Debian (one worker, `return 200 "ok"`, a temporary config on a free
// 127.0.0.1 port) and a minimal Go HTTP server (this binary re-executed with -serve), and,
// on request, `stormtest serve --query-time 0`. Every round runs each generator once, in an
// order that rotates round by round, because the machine is shared and its load drifts:
// medians and ratios are what to read, not absolutes.
//
//	go run ./bench/compare                   # max rate: every generator, nginx and the minimal server
//	go run ./bench/compare -pacing           # fixed rates: achieved rate and lag p99
//	go run ./bench/compare -pacing -preconnect 0,256   # the same, without and with --preconnect 256
//	go run ./bench/compare -cpuprofile cpu.pprof -memprofile mem.pprof -runs 0 [-engine fast] [-profile-target URL]
//	                                         # one in-process max-rate attack, profiled
//	                                         # (-profile-rate 10000: at a fixed rate instead)
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/internal/heapfloor"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// The peers, pinned: the versions the figures were measured with.
const (
	vegetaModule     = "github.com/tsenart/vegeta/v12@v12.13.0"
	bombardierModule = "github.com/codesenberg/bombardier@v1.2.6"
	heyModule        = "github.com/rakyll/hey@v0.1.4"
)

type options struct {
	runs         int
	duration     time.Duration
	workers      int
	connections  int
	preconnect   string
	targets      string
	generators   string
	engine       string
	work         string
	pacing       bool
	rates        string
	pacingDur    time.Duration
	pacingTarget string
	reference    bool
	heapFloor    string
	cpuprofile   string
	memprofile   string
	profileURL   string
	profileRate  int
}

func main() {
	var o options
	serve := flag.Bool("serve", false, "internal: run the minimal target and print its URL")
	flag.IntVar(&o.runs, "runs", 3, "rounds: each generator runs once per round and target")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each max-rate run")
	flag.IntVar(&o.workers, "workers", 64, "connections (wrk, bombardier, hey) and max workers (vegeta, stormtest), the same for every generator")
	flag.IntVar(&o.connections, "connections", 64, "idle keep-alive connections per host, for vegeta and stormtest's std engine")
	flag.StringVar(&o.targets, "targets", "nginx,minimal", "targets to measure: nginx, minimal, serve")
	flag.StringVar(&o.generators, "generators", "wrk,bombardier,hey,vegeta,goloop,stormtest-std,stormtest-fast,stormtest-loop", "generators to run, in the first round's order")
	flag.StringVar(&o.engine, "engine", "loop", "stormtest's engine for -pacing and the profiled run: std, fast, loop or auto")
	flag.StringVar(&o.work, "work", "", "directory for binaries and results (default: a cache directory)")
	flag.BoolVar(&o.pacing, "pacing", false, "measure pacing accuracy at fixed rates instead")
	flag.StringVar(&o.preconnect, "preconnect", "0", "for -pacing: stormtest's --preconnect values to compare, alternating within each round, e.g. 0,256")
	flag.StringVar(&o.heapFloor, "heap-floor", strconv.Itoa(heapfloor.DefaultMiB), "for -pacing: stormtest's --heap-floor-mib values to compare, alternating within each round, e.g. 0,128")
	flag.BoolVar(&o.reference, "reference", true, "for -pacing: run the event-loop references in each round too (bench/openloop in C, built with cc, and bench/goloop in Go)")
	flag.StringVar(&o.rates, "rates", "100,1000,5000,10000,20000,30000,40000,45000", "fixed rates for -pacing: first attempts per second, or a share of stormtest's maximum rate measured first in the same invocation (e.g. 10%,25%,50%)")
	flag.DurationVar(&o.pacingDur, "pacing-duration", 5*time.Second, "length of each -pacing run")
	flag.StringVar(&o.pacingTarget, "pacing-target", "minimal", "target of -pacing: minimal or nginx")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "profile one in-process max-rate stormtest attack (CPU) to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "and its allocations to this file")
	flag.StringVar(&o.profileURL, "profile-target", "", "with -cpuprofile: attack this URL (e.g. a running nginx) instead of starting the minimal server")
	flag.IntVar(&o.profileRate, "profile-rate", 0, "with -cpuprofile: profile a run at this fixed rate (first attempts per second) instead of max rate")
	flag.Parse()
	if *serve {
		serveMinimal()
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// serveMinimal is the fastest target a Go HTTP server can be: a fixed 2-byte body.
func serveMinimal() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	body := []byte("ok")
	// The parent closes stdin when it is done; exit then, so no server outlives a run.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
}

func run(o options) error {
	if o.work == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		o.work = filepath.Join(dir, "stormtest-bench")
	}
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	stormtest := filepath.Join(o.work, "stormtest")
	if err := goBuild("", stormtest, "./cmd/stormtest"); err != nil {
		return err
	}
	if o.cpuprofile != "" || o.memprofile != "" {
		if err := profileRun(o, stormtest); err != nil {
			return err
		}
	}
	if o.runs <= 0 {
		return nil
	}
	if o.pacing {
		return pacing(o, stormtest)
	}
	gens, err := setUpGenerators(o, stormtest)
	if err != nil {
		return err
	}
	fmt.Printf("max rate, loopback, %d cores, load average %s: %d alternating rounds of %s per generator and target, %d connections/workers\n",
		runtime.NumCPU(), loadAverage(), o.runs, o.duration, o.workers)
	fmt.Printf("stormtest: rate: max, retries on (immediate, 3 attempts, never firing), every attempt recorded to a results file; vegeta: -rate=0, -output to a file\n\n")
	for _, name := range strings.Split(o.targets, ",") {
		tgt, err := startTarget(name, stormtest, o.work)
		if err != nil {
			return err
		}
		samples := make([][]sample, len(gens))
		for round := range o.runs {
			// Rotate who goes first, so a drift in the machine's load hits all alike.
			for k := range gens {
				i := (k + round) % len(gens)
				s, err := gens[i].run(tgt.url)
				if err != nil {
					tgt.stop()
					return fmt.Errorf("%s against %s: %w", gens[i].name, name, err)
				}
				samples[i] = append(samples[i], s)
				fmt.Fprintf(os.Stderr, "  %s %s round %d: %.0f req/s, %.1f µs CPU/req\n", name, gens[i].name, round+1, s.rate, s.cpuPerReq*1e6)
			}
		}
		tgt.stop()
		printTarget(name, gens, samples)
	}
	return nil
}

// printTarget prints one target's table: each generator's medians and ranges, then each
// stormtest engine's ratios to every peer (ratio of the medians, and the range of the per-round
// ratios: round i of one against round i of the other, run minutes apart at most).
func printTarget(name string, gens []generator, samples [][]sample) {
	fmt.Printf("target %s\n", name)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "generator\treq/s median\tmin–max\tCPU µs/req median\tmin–max\tmax RSS MB\tnon-2xx\t")
	sums := make([]summary, len(gens))
	for i, g := range gens {
		m := summarize(samples[i])
		sums[i] = m
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f–%.0f\t%.1f\t%.1f–%.1f\t%.0f\t%d\t\n", g.name,
			m.rate, m.rateMin, m.rateMax, m.cpu*1e6, m.cpuMin*1e6, m.cpuMax*1e6, m.rss, m.failed)
	}
	tw.Flush()
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ratio\treq/s\t(rounds)\tCPU/req\t(rounds)\t")
	for i, g := range gens {
		if !strings.HasPrefix(g.name, "stormtest") {
			continue
		}
		for j, peer := range gens {
			if j == i {
				continue
			}
			fmt.Fprintf(tw, "%s / %s\t%.2f×\t%.2f–%.2f\t%.2f×\t%.2f–%.2f\t\n", g.name, peer.name,
				sums[i].rate/sums[j].rate, pairMin(samples[i], samples[j], rateOf), pairMax(samples[i], samples[j], rateOf),
				sums[i].cpu/sums[j].cpu, pairMin(samples[i], samples[j], cpuOf), pairMax(samples[i], samples[j], cpuOf))
		}
	}
	tw.Flush()
	fmt.Println()
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, as uptime prints them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// generator is one load tester, ready to run against a URL.
type generator struct {
	name string
	run  func(url string) (sample, error)
}

// setUpGenerators installs (once) and prepares the generators o names.
func setUpGenerators(o options, stormtest string) ([]generator, error) {
	var gens []generator
	for _, name := range strings.Split(o.generators, ",") {
		var run func(string) (sample, error)
		switch name {
		case "wrk":
			bin, err := aptTool("wrk", "wrk")
			if err != nil {
				return nil, err
			}
			run = func(url string) (sample, error) { return runWrk(o, bin, url) }
		case "bombardier":
			bin, err := goInstall(o.work, bombardierModule)
			if err != nil {
				return nil, err
			}
			run = func(url string) (sample, error) { return runBombardier(o, bin, url) }
		case "hey":
			bin, err := goInstall(o.work, heyModule)
			if err != nil {
				return nil, err
			}
			run = func(url string) (sample, error) { return runHey(o, bin, url) }
		case "vegeta":
			bin, err := buildVegeta(o.work)
			if err != nil {
				return nil, err
			}
			run = func(url string) (sample, error) { return runVegeta(o, bin, url) }
		case "goloop":
			bin, err := buildGoloop(o)
			if err != nil {
				return nil, err
			}
			run = func(url string) (sample, error) { return runGoloop(o, bin, url) }
		case "stormtest-std", "stormtest-fast", "stormtest-loop", "stormtest-auto":
			engine := strings.TrimPrefix(name, "stormtest-")
			run = func(url string) (sample, error) { return runStormtest(o, stormtest, url, engine) }
		default:
			return nil, fmt.Errorf("unknown generator %q (want wrk, bombardier, hey, vegeta, goloop, stormtest-std, stormtest-fast, stormtest-loop, stormtest-auto)", name)
		}
		gens = append(gens, generator{name: name, run: run})
	}
	return gens, nil
}

// aptTool finds command, installing Debian's package pkg when it is missing (as root, or
// through sudo).
func aptTool(command, pkg string) (string, error) {
	if p, err := exec.LookPath(command); err == nil {
		return p, nil
	}
	if p := "/usr/sbin/" + command; fileExists(p) {
		return p, nil
	}
	sudo := []string{}
	if os.Geteuid() != 0 {
		sudo = []string{"sudo"}
	}
	fmt.Fprintf(os.Stderr, "installing %s with apt-get\n", pkg)
	for _, args := range [][]string{{"apt-get", "update", "-qq"}, {"apt-get", "install", "-y", "-qq", pkg}} {
		cmd := exec.Command(append(sudo, args...)[0], append(sudo, args...)[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s is not installed and apt-get could not install %s (%v): install it, or leave it out of -generators/-targets", command, pkg, err)
		}
	}
	if p, err := exec.LookPath(command); err == nil {
		return p, nil
	}
	if p := "/usr/sbin/" + command; fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("apt-get installed %s but %s is not on PATH", pkg, command)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// goInstall installs module (path@version) into work/gobin once and returns the binary.
func goInstall(work, module string) (string, error) {
	gobin := filepath.Join(work, "gobin")
	path, version, _ := strings.Cut(module, "@")
	bin := filepath.Join(gobin, filepath.Base(path))
	stamp := bin + "." + version
	if fileExists(stamp) && fileExists(bin) {
		return bin, nil
	}
	cmd := exec.Command("go", "install", module)
	cmd.Dir = os.TempDir() // outside this module: its go.mod gains nothing
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w", module, err)
	}
	return bin, os.WriteFile(stamp, nil, 0o644)
}

// runWrk runs wrk with a thread per core and counts the responses it reports.
func runWrk(o options, bin, url string) (sample, error) {
	var out strings.Builder
	cmd := exec.Command(bin, "-t", strconv.Itoa(runtime.NumCPU()), "-c", strconv.Itoa(o.workers), "-d", o.duration.String(), url+"/")
	cmd.Stdout = &out
	cpu, rss, err := runChild(cmd)
	if err != nil {
		return sample{}, err
	}
	// "  123456 requests in 5.00s, 17.89MB read" and, for errors, "Non-2xx or 3xx responses: N".
	var n, failed int
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, _ = strconv.Atoi(f[0])
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:") && len(f) > 0:
			failed, _ = strconv.Atoi(f[len(f)-1])
		}
	}
	return newSample(n, failed, o.duration, cpu, rss)
}

// runGoloop runs bench/goloop at max rate for the duration: an event loop in Go, what the
// language can do here without a goroutine per connection.
func runGoloop(o options, bin, url string) (sample, error) {
	port, err := loopbackPort(url)
	if err != nil {
		return sample{}, err
	}
	ref := referenceClient{bin: bin, port: port, conns: min(o.workers, referenceConns)}
	res, cpu, rss, err := ref.runOnce(0, o.duration)
	if err != nil {
		return sample{}, err
	}
	return newSample(res.n, 0, o.duration, cpu, rss) // it stops at the first error, so none failed
}

// runBombardier runs bombardier (fasthttp) for the duration and reads its JSON result.
func runBombardier(o options, bin, url string) (sample, error) {
	var out strings.Builder
	cmd := exec.Command(bin, "-c", strconv.Itoa(o.workers), "-d", o.duration.String(), "-t", "10s", "-p", "r", "-o", "j", url+"/")
	cmd.Stdout = &out
	cpu, rss, err := runChild(cmd)
	if err != nil {
		return sample{}, err
	}
	var res struct {
		Result struct {
			Req1xx, Req2xx, Req3xx, Req4xx, Req5xx, Others int
		} `json:"result"`
	}
	text := out.String()
	if i := strings.Index(text, "{"); i >= 0 {
		text = text[i:]
	}
	if err := json.NewDecoder(strings.NewReader(text)).Decode(&res); err != nil {
		return sample{}, fmt.Errorf("reading bombardier's JSON: %w", err)
	}
	r := res.Result
	n := r.Req1xx + r.Req2xx + r.Req3xx + r.Req4xx + r.Req5xx + r.Others
	return newSample(n, n-r.Req2xx, o.duration, cpu, rss)
}

// runHey runs hey (net/http) for the duration and counts the responses by status.
func runHey(o options, bin, url string) (sample, error) {
	var out strings.Builder
	cmd := exec.Command(bin, "-z", o.duration.String(), "-c", strconv.Itoa(o.workers), "-t", "10", url+"/")
	cmd.Stdout = &out
	cpu, rss, err := runChild(cmd)
	if err != nil {
		return sample{}, err
	}
	// "  [200]\t123456 responses"
	var n, failed int
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.HasPrefix(f[0], "[") && f[2] == "responses" {
			k, _ := strconv.Atoi(f[1])
			n += k
			if f[0] != "[200]" {
				failed += k
			}
		}
	}
	return newSample(n, failed, o.duration, cpu, rss)
}

type sample struct {
	rate      float64 // responses recorded per second of the run
	cpuPerReq float64 // child user+sys seconds per response
	rssMB     float64
	failed    int
}

type summary struct {
	rate, rateMin, rateMax, cpu, cpuMin, cpuMax, rss float64
	failed                                           int
}

func rateOf(s sample) float64 { return s.rate }
func cpuOf(s sample) float64  { return s.cpuPerReq }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func summarize(ss []sample) summary {
	var rates, cpus, rss []float64
	var m summary
	for _, s := range ss {
		rates, cpus, rss = append(rates, s.rate), append(cpus, s.cpuPerReq), append(rss, s.rssMB)
		m.failed += s.failed
	}
	m.rate, m.rateMin, m.rateMax = median(rates), slices.Min(rates), slices.Max(rates)
	m.cpu, m.cpuMin, m.cpuMax = median(cpus), slices.Min(cpus), slices.Max(cpus)
	m.rss = median(rss)
	return m
}

// pairMin and pairMax are the range of the per-run ratios (run i of one against run i of
// the other, which ran back to back): the spread says how noisy the machine was.
func pairMin(a, b []sample, f func(sample) float64) float64 {
	x := math.Inf(1)
	for i := range a {
		x = min(x, f(a[i])/f(b[i]))
	}
	return x
}

func pairMax(a, b []sample, f func(sample) float64) float64 {
	x := math.Inf(-1)
	for i := range a {
		x = max(x, f(a[i])/f(b[i]))
	}
	return x
}

// runChild runs a generator and returns its CPU time and peak RSS from its rusage.
func runChild(cmd *exec.Cmd) (cpu time.Duration, rssMB float64, err error) {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %w\n%s", cmd.Args, err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	return cpu, float64(ru.Maxrss) / 1024, nil
}

func runVegeta(o options, bin, url string) (sample, error) {
	out := filepath.Join(o.work, "vegeta.bin")
	cmd := exec.Command(bin, "attack", "-rate=0", "-max-workers="+strconv.Itoa(o.workers),
		"-connections="+strconv.Itoa(o.connections), "-duration="+o.duration.String(), "-timeout=10s",
		"-output="+out)
	cmd.Stdin = strings.NewReader("GET " + url + "/\n")
	cpu, rss, err := runChild(cmd)
	if err != nil {
		return sample{}, err
	}
	f, err := os.Open(out)
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	dec := vegeta.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var n, failed int
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			return sample{}, fmt.Errorf("reading %s: %w", out, err)
		}
		n++
		if r.Code < 200 || r.Code > 299 {
			failed++
		}
	}
	return newSample(n, failed, o.duration, cpu, rss)
}

func newSample(n, failed int, d, cpu time.Duration, rss float64) (sample, error) {
	if n == 0 {
		return sample{}, errors.New("no results")
	}
	return sample{rate: float64(n) / d.Seconds(), cpuPerReq: cpu.Seconds() / float64(n), rssMB: rss, failed: failed}, nil
}

// maxProfile is the profile the comparison runs: one rate: max phase, retries enabled (they
// never fire against a target that always answers 200, but their bookkeeping runs), and
// recording on, as in a real run.
func maxProfile(d time.Duration) string {
	return fmt.Sprintf(`name: bench-max
phases: [{name: max, duration: %s, rate: max}]
client:
  timeout: 10s
  retry: {policy: immediate, max_attempts: 3}
`, d)
}

// pacingProfile is the fixed-rate profile of -pacing (and of -profile-rate).
func pacingProfile(rate float64, d time.Duration) string {
	return fmt.Sprintf("name: bench-pacing\nphases: [{name: fixed, duration: %s, rate: %g}]\n"+
		"client:\n  timeout: 10s\n  retry: {policy: immediate, max_attempts: 3}\n", d, rate)
}

func runStormtest(o options, bin, url, engine string) (sample, error) {
	prof := filepath.Join(o.work, "bench-max.yaml")
	if err := os.WriteFile(prof, []byte(maxProfile(o.duration)), 0o644); err != nil {
		return sample{}, err
	}
	st, cpu, rss, err := attackOnce(o, bin, url, prof, filepath.Join(o.work, "stormtest.st"), engine)
	if err != nil {
		return sample{}, err
	}
	return newSample(st.attempts, st.attempts-st.ok, o.duration, cpu, rss)
}

// attackOnce runs stormtest attack once with prof against url, with engine, the comparison's
// workers and connections and any extra flags, and reads the results file it wrote to out.
func attackOnce(o options, bin, url, prof, out, engine string, extra ...string) (st runStats, cpu time.Duration, rssMB float64, err error) {
	args := append([]string{"attack", "--target", url, "--profile", prof, "--out", out, "--overwrite", "--quiet",
		"--engine", engine, "--max-workers", strconv.Itoa(o.workers), "--connections", strconv.Itoa(o.connections)}, extra...)
	if cpu, rssMB, err = runChild(exec.Command(bin, args...)); err != nil {
		return runStats{}, 0, 0, err
	}
	st, err = readStormtest(out)
	return st, cpu, rssMB, err
}

type runStats struct {
	attempts, firsts, ok int
	lags                 []time.Duration // first attempts' send lag
	services             []time.Duration // first attempts' service time
	late                 []lateAttempt   // first attempts sent over lateThreshold late, in file order
}

// lateAttempt is a first attempt sent over lateThreshold after it was due.
type lateAttempt struct {
	intended int64 // Unix ns
	lag      time.Duration
}

// lateThreshold is the lag the pacing target allows at p99; lateGap is how far apart two late
// attempts may be and still belong to one stall.
const (
	lateThreshold = time.Millisecond
	lateGap       = 5 * time.Millisecond
)

// stall is a run of late attempts no more than lateGap apart: one episode of the generator
// falling behind. Where the lag p99 of a run comes from is decided by how many of these it
// has and how long they last, not by the attempts between them (docs/performance.md).
type stall struct {
	span     time.Duration // first to last late attempt's intended time
	attempts int
	worst    time.Duration
}

// stalls groups late attempts into stalls, in time order.
func stalls(late []lateAttempt) []stall {
	late = slices.Clone(late)
	slices.SortFunc(late, func(a, b lateAttempt) int { return cmp.Compare(a.intended, b.intended) })
	var out []stall
	var start, last int64
	for i, a := range late {
		if i == 0 || time.Duration(a.intended-last) > lateGap {
			out = append(out, stall{})
			start = a.intended
		}
		st := &out[len(out)-1]
		st.attempts++
		st.worst = max(st.worst, a.lag)
		st.span = time.Duration(a.intended - start)
		last = a.intended
	}
	return out
}

func readStormtest(path string) (runStats, error) {
	r, err := results.Open(path)
	if err != nil {
		return runStats{}, err
	}
	defer r.Close()
	var st runStats
	var rec results.Record
	for {
		if err := r.Next(&rec); err == io.EOF {
			return st, nil
		} else if err != nil {
			return st, fmt.Errorf("reading %s: %w", path, err)
		}
		st.attempts++
		if rec.Kind == results.KindOK {
			st.ok++
		}
		if rec.Attempt == 1 {
			st.firsts++
			st.lags = append(st.lags, rec.SendLag)
			st.services = append(st.services, rec.ServiceTime)
			if rec.SendLag > lateThreshold {
				st.late = append(st.late, lateAttempt{rec.Intended, rec.SendLag})
			}
		}
	}
}

type target struct {
	url  string
	stop func()
}

// startTarget starts a target as a child process on a free loopback port.
func startTarget(name, stormtest, work string) (target, error) {
	var cmd *exec.Cmd
	switch name {
	case "nginx":
		return startNginx(work)
	case "minimal":
		self, err := os.Executable()
		if err != nil {
			return target{}, err
		}
		cmd = exec.Command(self, "-serve")
	case "serve":
		cmd = exec.Command(stormtest, "serve", "--addr", "127.0.0.1:0", "--query-time", "0")
	default:
		return target{}, fmt.Errorf("unknown target %q (want nginx, minimal or serve)", name)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return target{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return target{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return target{}, err
	}
	stop := func() {
		stdin.Close()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		stop()
		return target{}, fmt.Errorf("target %s printed no address", name)
	}
	// "http://127.0.0.1:PORT" alone (minimal) or "serving on http://127.0.0.1:PORT: …" (serve).
	line := sc.Text()
	i := strings.Index(line, "http://")
	if i < 0 {
		stop()
		return target{}, fmt.Errorf("target %s: no URL in %q", name, line)
	}
	url := strings.TrimRight(strings.Fields(line[i:])[0], ":")
	go io.Copy(io.Discard, stdout)
	return target{url: url, stop: stop}, nil
}

// nginxConf is nginx as the issue measured the peers against: one worker returning "ok",
// no access log, keep-alive without a request limit (so no generator pays for reconnects),
// everything it writes in dir.
const nginxConf = `worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:%[2]d; location / { return 200 "ok"; } }
}
`

// startNginx runs Debian's nginx (installed when missing) on a free loopback port with a
// temporary configuration, and stops it when the target is stopped.
func startNginx(work string) (target, error) {
	bin, err := aptTool("nginx", "nginx-light")
	if err != nil {
		return target{}, err
	}
	dir, err := os.MkdirTemp(work, "nginx-")
	if err != nil {
		return target{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nginx binds it next; another process taking it in between fails the start below
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, port)), 0o644); err != nil {
		return target{}, err
	}
	cmd := exec.Command(bin, "-c", conf, "-p", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return target{}, fmt.Errorf("starting nginx: %w", err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: the master waits for its worker
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if resp, err := http.Get(url + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return target{url: url, stop: stop}, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return target{}, fmt.Errorf("nginx did not answer on %s within 5 s: %s", url, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func goBuild(dir, out string, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w", pkg, err)
	}
	return nil
}

// buildVegeta builds vegeta's CLI from the module cache once and keeps the binary.
func buildVegeta(work string) (string, error) {
	bin := filepath.Join(work, "vegeta-v12.13.0")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	out, err := exec.Command("go", "mod", "download", "-json", vegetaModule).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", vegetaModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no Dir in %s", vegetaModule, out)
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = mod.Dir
	// vegeta's own go.mod, not ours; -mod=mod lets it resolve its dependencies from the proxy.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building vegeta in %s: %w", mod.Dir, err)
	}
	return bin, nil
}

// pacing runs stormtest at fixed rates against the minimal target (or nginx) and reports how
// close the first-attempt rate came to the intended one and how late first attempts were sent.
// Beside each run a hiccup meter (as jHiccup does) sleeps 1 ms at a time in this process and
// records how late it woke: a machine that stalls for milliseconds (a shared VM) makes every
// generator late by as much, and the column says when that, not the pacer, is the lag. The
// stalls columns group the attempts sent over 1 ms late (see stalls): a run's lag p99 is
// decided by whether it had one, as 1 % of a 5 s run at 10 k/s is fewer attempts than one
// stall holds.
//
// With -reference each round also runs bench/openloop, a one-thread C client with its
// connections opened before the run, at the same rate against the same target: what this
// machine can do without Go, measured minutes apart at most from stormtest's runs, so that a
// lag target is read as a ratio to it, as the max-rate figures are read as ratios to peers.
// bench/goloop, the same loop in Go, runs beside it: what Go can do without a goroutine per
// connection.
func pacing(o options, stormtest string) error {
	tgt, err := startTarget(o.pacingTarget, stormtest, o.work)
	if err != nil {
		return err
	}
	defer tgt.stop()
	pcs, err := counts(o.preconnect, "-preconnect", "connection counts such as 0,256")
	if err != nil {
		return err
	}
	floors, err := counts(o.heapFloor, "-heap-floor", "MiB such as 0,128")
	if err != nil {
		return err
	}
	// Every preconnect value with every floor: the stormtest rows.
	type variant struct{ preconnect, floor int }
	var pre []variant
	for _, pc := range pcs {
		for _, hf := range floors {
			pre = append(pre, variant{pc, hf})
		}
	}
	var refs []referenceClient
	if o.reference {
		if refs, err = references(o, tgt.url); err != nil {
			return err
		}
	}
	specs, err := parseRates(o.rates)
	if err != nil {
		return err
	}
	fmt.Printf("pacing, %s target, engine %s, %s per rate, max-workers %d, connections %d (medians of %d runs), load average %s\n\n",
		o.pacingTarget, o.engine, o.pacingDur, o.workers, o.connections, o.runs, loadAverage())
	rates, err := resolveRates(specs, func() (float64, error) {
		// The maximum drifts by a third from hour to hour on a shared machine, so a share of
		// it is measured here, minutes before the fixed rates it sets.
		var rs []float64
		for range max(o.runs, 1) {
			smp, err := runStormtest(o, stormtest, tgt.url, o.engine)
			if err != nil {
				return 0, err
			}
			rs = append(rs, smp.rate)
		}
		m := median(rs)
		fmt.Printf("stormtest's maximum rate (engine %s, %d workers, median of %d runs of %s): %.0f req/s\n\n", o.engine, o.workers, len(rs), o.duration, m)
		return m, nil
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "intended/s\tgenerator\tachieved first/s\terror %\tlag p50 µs\tlag p99 µs\tlag max µs\tservice p99 µs\tstalls\tlongest stall ms\tCPU µs/req\thiccup p99 µs\thiccup max µs\t≤1 % and p99<1ms\tp99 / C's\t")
	for _, rate := range rates {
		prof := filepath.Join(o.work, "bench-pacing.yaml")
		doc := pacingProfile(rate, o.pacingDur)
		if err := os.WriteFile(prof, []byte(doc), 0o644); err != nil {
			return err
		}
		type series struct {
			name                                                          string
			ach, p50, p99, pmax, svc99, cpus, h99, hmax, nstalls, longest []float64
		}
		rows := make([]series, len(pre), len(pre)+len(refs))
		for i, v := range pre {
			rows[i].name = "stormtest"
			if v.preconnect > 0 {
				rows[i].name += " --preconnect " + strconv.Itoa(v.preconnect)
			}
			if len(floors) > 1 || v.floor != heapfloor.DefaultMiB {
				rows[i].name += " --heap-floor-mib " + strconv.Itoa(v.floor)
			}
		}
		for _, ref := range refs {
			rows = append(rows, series{name: ref.name})
		}
		// Rounds alternate the stormtest variants and the reference, so that a noisy minute
		// hits each alike.
		for range o.runs {
			for i := range rows {
				m := &rows[i]
				stopMeter := hiccupMeter()
				var r pacingRun
				if i < len(pre) {
					r, err = runPacing(o, stormtest, tgt.url, prof, pre[i].preconnect, pre[i].floor)
				} else {
					r, err = refs[i-len(pre)].run(rate, o.pacingDur)
				}
				hiccups := stopMeter()
				if err != nil {
					return err
				}
				m.h99 = append(m.h99, float64(quantile(hiccups, 0.99))/1e3)
				m.hmax = append(m.hmax, float64(hiccups[len(hiccups)-1])/1e3)
				m.ach = append(m.ach, float64(r.firsts)/o.pacingDur.Seconds())
				m.p50 = append(m.p50, float64(r.p50)/1e3)
				m.p99 = append(m.p99, float64(r.p99)/1e3)
				m.pmax = append(m.pmax, float64(r.max)/1e3)
				m.svc99 = append(m.svc99, float64(r.svc99)/1e3)
				m.cpus = append(m.cpus, r.cpu.Seconds()/float64(r.attempts)*1e6)
				m.nstalls = append(m.nstalls, float64(r.stalls))
				m.longest = append(m.longest, r.longest.Seconds()*1e3)
			}
		}
		refP99 := 0.0 // the C reference's
		if len(refs) > 0 {
			refP99 = median(rows[len(pre)].p99)
		}
		for i, m := range rows {
			a := median(m.ach)
			errPct := (a - rate) / rate * 100
			ok := "yes"
			if math.Abs(errPct) > 1 || median(m.p99) >= 1000 {
				ok = "no"
			}
			stalls, longest, ratio := "–", "–", "–"
			if i < len(pre) {
				stalls, longest = fmt.Sprintf("%.0f", median(m.nstalls)), fmt.Sprintf("%.1f", median(m.longest))
				if refP99 > 0 {
					ratio = fmt.Sprintf("%.2f×", median(m.p99)/refP99)
				}
			}
			fmt.Fprintf(tw, "%.0f\t%s\t%.0f\t%+.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%.1f\t%.0f\t%.0f\t%s\t%s\t\n", rate, m.name, a, errPct, median(m.p50), median(m.p99), median(m.pmax),
				median(m.svc99), stalls, longest, median(m.cpus), median(m.h99), median(m.hmax), ok, ratio)
		}
	}
	return tw.Flush()
}

// rateSpec is one entry of -rates: a rate in first attempts per second, or a share (0 < share
// ≤ 1) of the maximum rate.
type rateSpec struct {
	rate, share float64
}

// parseRates reads -rates: "5000" or "50%", comma-separated.
func parseRates(list string) ([]rateSpec, error) {
	var specs []rateSpec
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if pct, ok := strings.CutSuffix(f, "%"); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
			if err != nil || !(v > 0 && v <= 100) { // also NaN
				return nil, fmt.Errorf("-rates: bad share %q (expected a percentage of the maximum rate above 0 and at most 100, such as 50%%)", f)
			}
			specs = append(specs, rateSpec{share: v / 100})
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) { // also NaN
			return nil, fmt.Errorf("-rates: bad rate %q (expected first attempts per second above 0, or a share such as 50%%)", f)
		}
		specs = append(specs, rateSpec{rate: v})
	}
	return specs, nil
}

// resolveRates turns specs into rates, calling maxRate once, and only if a share asks for it.
// A share's rate is rounded to a whole number of attempts per second.
func resolveRates(specs []rateSpec, maxRate func() (float64, error)) ([]float64, error) {
	m := -1.0
	rates := make([]float64, 0, len(specs))
	for _, sp := range specs {
		if sp.share == 0 {
			rates = append(rates, sp.rate)
			continue
		}
		if m < 0 {
			var err error
			if m, err = maxRate(); err != nil {
				return nil, fmt.Errorf("measuring the maximum rate for -rates shares: %w", err)
			}
			if m < 1 {
				return nil, fmt.Errorf("measuring the maximum rate for -rates shares: %.1f req/s, too low to take a share of", m)
			}
		}
		rates = append(rates, math.Max(1, math.Round(m*sp.share)))
	}
	return rates, nil
}

// pacingRun is one fixed-rate run of a generator: its first attempts, their lag (scheduled
// time to send) and service time (send to whole response: a stall the target or the machine
// causes shows here as well as in the lag), all attempts and the CPU they took, and the
// stalls (stormtest's runs only: the references print percentiles, not attempts).
type pacingRun struct {
	firsts, attempts int
	p50, p99, max    time.Duration
	svc99            time.Duration
	cpu              time.Duration
	stalls           int
	longest          time.Duration
}

// runPacing runs stormtest once at the rate prof gives and reads its results file.
func runPacing(o options, stormtest, url, prof string, preconnect, floor int) (pacingRun, error) {
	st, cpu, _, err := attackOnce(o, stormtest, url, prof, filepath.Join(o.work, "pacing.st"), o.engine,
		"--preconnect", strconv.Itoa(preconnect), "--heap-floor-mib", strconv.Itoa(floor))
	if err != nil {
		return pacingRun{}, err
	}
	slices.Sort(st.lags)
	slices.Sort(st.services)
	r := pacingRun{firsts: st.firsts, attempts: st.attempts, cpu: cpu,
		p50: quantile(st.lags, 0.50), p99: quantile(st.lags, 0.99), max: st.lags[len(st.lags)-1],
		svc99: quantile(st.services, 0.99)}
	ss := stalls(st.late)
	r.stalls = len(ss)
	for _, x := range ss {
		r.longest = max(r.longest, x.span)
	}
	return r, nil
}

// counts parses a comma-separated list of non-negative integers given to flag.
func counts(list, flag, expected string) ([]int, error) {
	var ns []int
	for _, v := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad %s value %q (expected %s)", flag, v, expected)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// referenceClient runs one of the event-loop references against one target: bench/openloop
// (C, built by buildOpenloop) or bench/goloop (Go, built by buildGoloop). Both take the same
// arguments and print the same line.
type referenceClient struct {
	name  string
	bin   string
	port  string
	conns int // the reference's connections: the run's max workers, up to their limit of 256
}

// referenceConns is the most connections openloop and goloop open.
const referenceConns = 256

// loopbackPort is the port of a target's loopback URL, which the references dial.
func loopbackPort(url string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil || u.Port() == "" {
		return "", fmt.Errorf("no port in the target's URL %q for the event-loop references", url)
	}
	return u.Port(), nil
}

// buildOpenloop compiles bench/openloop with the machine's C compiler (Debian's gcc, installed
// when missing) into the work directory.
func buildOpenloop(o options) (string, error) {
	cc, err := aptTool("cc", "gcc")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(o.work, "openloop")
	cmd := exec.Command(cc, "-O2", "-o", bin, "bench/openloop/openloop.c")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building bench/openloop/openloop.c with %s (run from the repository's root, or pass -reference=false): %w", cc, err)
	}
	return bin, nil
}

// buildGoloop builds bench/goloop, the same event loop in Go, into the work directory.
func buildGoloop(o options) (string, error) {
	bin := filepath.Join(o.work, "goloop")
	if err := goBuild("", bin, "./bench/goloop"); err != nil {
		return "", fmt.Errorf("%w (run from the repository's root; -reference=false leaves it out of -pacing, and -generators without goloop out of max rate)", err)
	}
	return bin, nil
}

// references builds both event-loop references for the target at url.
func references(o options, url string) ([]referenceClient, error) {
	port, err := loopbackPort(url)
	if err != nil {
		return nil, err
	}
	conns := min(o.workers, referenceConns)
	c, err := buildOpenloop(o)
	if err != nil {
		return nil, err
	}
	g, err := buildGoloop(o)
	if err != nil {
		return nil, err
	}
	return []referenceClient{
		{name: fmt.Sprintf("C openloop, %d conns", conns), bin: c, port: port, conns: conns},
		{name: fmt.Sprintf("Go goloop, %d conns", conns), bin: g, port: port, conns: conns},
	}, nil
}

// runOnce runs the reference (RATE SECONDS CONNS PORT) and reads the line it printed, with
// the CPU and peak memory it took.
func (r referenceClient) runOnce(rate float64, d time.Duration) (res openloopRun, cpu time.Duration, rssMB float64, err error) {
	var stdout strings.Builder
	cmd := exec.Command(r.bin, strconv.FormatFloat(rate, 'f', -1, 64), strconv.FormatFloat(d.Seconds(), 'f', -1, 64), strconv.Itoa(r.conns), r.port)
	cmd.Stdout = &stdout
	if cpu, rssMB, err = runChild(cmd); err != nil {
		return openloopRun{}, 0, 0, err
	}
	res, err = parseOpenloop(stdout.String())
	return res, cpu, rssMB, err
}

// openloopRun is what one openloop run printed: responses, the lag and service percentiles.
type openloopRun struct {
	n             int
	p50, p99, max time.Duration // lag: scheduled time to send
	svc99, svcMax time.Duration // service time: send to whole response
}

// run runs the reference once at rate for d (0: as fast as its connections go). Every
// request it schedules is sent once: its responses are its first attempts and all of them.
func (r referenceClient) run(rate float64, d time.Duration) (pacingRun, error) {
	res, cpu, _, err := r.runOnce(rate, d)
	if err != nil {
		return pacingRun{}, err
	}
	return pacingRun{firsts: res.n, attempts: res.n, p50: res.p50, p99: res.p99, max: res.max, svc99: res.svc99, cpu: cpu}, nil
}

// parseOpenloop reads openloop's one line of output:
//
//	rate 10000: n=50000 service p50 90us p99 317us max 2.0ms | lag p50 39us p99 187us max 1.7ms
func parseOpenloop(out string) (openloopRun, error) {
	var rate, s50, s99, sMax, l50, l99, lMax float64
	var r openloopRun
	_, err := fmt.Sscanf(strings.TrimSpace(out), "rate %g: n=%d service p50 %gus p99 %gus max %gms | lag p50 %gus p99 %gus max %gms",
		&rate, &r.n, &s50, &s99, &sMax, &l50, &l99, &lMax)
	if err != nil || r.n <= 0 {
		return openloopRun{}, fmt.Errorf("openloop printed %q, not its summary line: %v", out, err)
	}
	us := func(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
	r.p50, r.p99, r.max = us(l50), us(l99), us(lMax*1e3)
	r.svc99, r.svcMax = us(s99), us(sMax*1e3)
	return r, nil
}

// hiccupMeter starts sleeping 1 ms at a time (nanosleep, on a thread of its own) and
// recording how much later than that each sleep ended; the function it returns stops it and
// gives the delays, sorted (at least one).
func hiccupMeter() func() []time.Duration {
	stop := make(chan struct{})
	done := make(chan []time.Duration)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var delays []time.Duration
		ts := syscall.NsecToTimespec(int64(time.Millisecond))
		for {
			select {
			case <-stop:
				if len(delays) == 0 {
					delays = append(delays, 0)
				}
				slices.Sort(delays)
				done <- delays
				return
			default:
			}
			t0 := time.Now()
			_ = syscall.Nanosleep(&ts, nil)
			delays = append(delays, max(time.Since(t0)-time.Millisecond, 0))
		}
	}()
	return func() []time.Duration {
		close(stop)
		return <-done
	}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// profileRun runs one max-rate attack in this process, with CPU and allocation profiles, so
// that pprof sees the generator's hot path (the target is a separate process).
func profileRun(o options, stormtest string) error {
	tgt := target{url: o.profileURL, stop: func() {}}
	if tgt.url == "" {
		var err error
		if tgt, err = startTarget("minimal", stormtest, o.work); err != nil {
			return err
		}
	}
	defer tgt.stop()
	yaml := maxProfile(o.duration)
	if o.profileRate > 0 {
		yaml = pacingProfile(float64(o.profileRate), o.duration)
	}
	p, err := profiles.Parse([]byte(yaml), "bench-max.yaml")
	if err != nil {
		return err
	}
	if p, err = p.WithTransport(profiles.Transport{Engine: o.engine}); err != nil {
		return err
	}
	cfg := attack.Config{Target: tgt.url, Profile: p, MaxWorkers: uint64(o.workers), Connections: o.connections}
	out := attack.Output{Path: filepath.Join(o.work, "profile.st"), Overwrite: true}
	if o.memprofile != "" {
		runtime.MemProfileRate = 4096
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	sum, err := attack.Run(context.Background(), cfg, attack.NewFileSink(out))
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	fmt.Printf("profiled run (engine %s): %d attempts in %s: %.0f/s\n", sum.Engine, sum.Attempts, o.duration, float64(sum.Attempts)/o.duration.Seconds())
	if o.memprofile != "" {
		f, err := os.Create(o.memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}
