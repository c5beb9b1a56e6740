// Command compare measures stormtest's generator against plain vegeta at maximum rate, on
// loopback, in alternating runs, and prints medians and stormtest/vegeta ratios; with -pacing
// it measures stormtest's pacing accuracy at fixed rates instead.
//
// Both generators run as child processes, so each one's CPU time is its own (user+sys from
// the child's rusage). The vegeta CLI is built once from the Go module cache, outside this
// module (so go.mod gains nothing), and cached. The targets are a minimal Go HTTP server (this
// binary re-executed with -serve, so it has its own process and CPU) and `stormtest serve
// --query-time 0`. Runs alternate which generator goes first, because the machine is shared
// and its load drifts; medians of several runs and ratios are what to read, not absolutes.
//
//	go run ./bench/compare                   # max rate: vegeta vs stormtest, both targets
//	go run ./bench/compare -pacing           # fixed rates: achieved rate and lag p99
//	go run ./bench/compare -cpuprofile cpu.pprof -memprofile mem.pprof -runs 0
//	                                         # one in-process max-rate attack, profiled
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
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
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

const vegetaModule = "github.com/tsenart/vegeta/v12@v12.13.0"

type options struct {
	runs        int
	duration    time.Duration
	workers     int
	connections int
	targets     string
	work        string
	pacing      bool
	rates       string
	pacingDur   time.Duration
	cpuprofile  string
	memprofile  string
	profileURL  string
}

func main() {
	var o options
	serve := flag.Bool("serve", false, "internal: run the minimal target and print its URL")
	flag.IntVar(&o.runs, "runs", 5, "alternating runs per generator and target")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "length of each max-rate run")
	flag.IntVar(&o.workers, "workers", 64, "max workers, for both generators")
	flag.IntVar(&o.connections, "connections", 64, "idle keep-alive connections per host, for both")
	flag.StringVar(&o.targets, "targets", "minimal,serve", "targets to measure: minimal, serve")
	flag.StringVar(&o.work, "work", "", "directory for binaries and results (default: a cache directory)")
	flag.BoolVar(&o.pacing, "pacing", false, "measure pacing accuracy at fixed rates instead")
	flag.StringVar(&o.rates, "rates", "100,1000,5000,10000,15000,20000,25000", "fixed rates for -pacing")
	flag.DurationVar(&o.pacingDur, "pacing-duration", 5*time.Second, "length of each -pacing run")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "profile one in-process max-rate stormtest attack (CPU) to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "and its allocations to this file")
	flag.StringVar(&o.profileURL, "profile-target", "", "with -cpuprofile: attack this URL (e.g. a running nginx) instead of starting the minimal server")
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
	vegetaBin, err := buildVegeta(o.work)
	if err != nil {
		return err
	}
	fmt.Printf("max rate, loopback, %d cores: %d alternating runs of %s per generator and target, max-workers %d, connections %d\n",
		runtime.NumCPU(), o.runs, o.duration, o.workers, o.connections)
	fmt.Printf("stormtest: rate: max, retries on (immediate, 3 attempts), recording to a results file; vegeta: -rate=0, -output to a file\n\n")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tgenerator\treq/s median\tmin–max\tCPU µs/req median\tmin–max\tmax RSS MB\tnon-2xx\t")
	for _, name := range strings.Split(o.targets, ",") {
		tgt, err := startTarget(name, stormtest)
		if err != nil {
			return err
		}
		var veg, st []sample
		for i := range o.runs {
			// Alternate who goes first, so a drift in the machine's load hits both alike.
			order := []string{"vegeta", "stormtest"}
			if i%2 == 1 {
				order = []string{"stormtest", "vegeta"}
			}
			for _, gen := range order {
				var s sample
				var err error
				if gen == "vegeta" {
					s, err = runVegeta(o, vegetaBin, tgt.url)
					veg = append(veg, s)
				} else {
					s, err = runStormtest(o, stormtest, tgt.url)
					st = append(st, s)
				}
				if err != nil {
					tgt.stop()
					return fmt.Errorf("%s against %s: %w", gen, name, err)
				}
				fmt.Fprintf(os.Stderr, "  %s %s run %d: %.0f req/s, %.1f µs CPU/req\n", name, gen, i+1, s.rate, s.cpuPerReq*1e6)
			}
		}
		tgt.stop()
		vr, sr := summarize(veg), summarize(st)
		row := func(gen string, m summary) {
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f–%.0f\t%.1f\t%.1f–%.1f\t%.0f\t%d\t\n", name, gen,
				m.rate, m.rateMin, m.rateMax, m.cpu*1e6, m.cpuMin*1e6, m.cpuMax*1e6, m.rss, m.failed)
		}
		row("vegeta", vr)
		row("stormtest", sr)
		fmt.Fprintf(tw, "%s\tstormtest/vegeta\t%.2f×\t(pairs %.2f–%.2f)\t%.2f×\t(pairs %.2f–%.2f)\t\t\t\n", name,
			sr.rate/vr.rate, pairMin(st, veg, rateOf), pairMax(st, veg, rateOf),
			sr.cpu/vr.cpu, pairMin(st, veg, cpuOf), pairMax(st, veg, cpuOf))
	}
	return tw.Flush()
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

func runStormtest(o options, bin, url string) (sample, error) {
	prof := filepath.Join(o.work, "bench-max.yaml")
	if err := os.WriteFile(prof, []byte(maxProfile(o.duration)), 0o644); err != nil {
		return sample{}, err
	}
	out := filepath.Join(o.work, "stormtest.st")
	cmd := exec.Command(bin, "attack", "--target", url, "--profile", prof, "--out", out, "--overwrite",
		"--max-workers", strconv.Itoa(o.workers), "--connections", strconv.Itoa(o.connections))
	cpu, rss, err := runChild(cmd)
	if err != nil {
		return sample{}, err
	}
	st, err := readStormtest(out)
	if err != nil {
		return sample{}, err
	}
	return newSample(st.attempts, st.attempts-st.ok, o.duration, cpu, rss)
}

type runStats struct {
	attempts, firsts, ok int
	lags                 []time.Duration // first attempts' send lag
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
		}
	}
}

type target struct {
	url  string
	stop func()
}

// startTarget starts a target as a child process on a free loopback port.
func startTarget(name, stormtest string) (target, error) {
	var cmd *exec.Cmd
	switch name {
	case "minimal":
		self, err := os.Executable()
		if err != nil {
			return target{}, err
		}
		cmd = exec.Command(self, "-serve")
	case "serve":
		cmd = exec.Command(stormtest, "serve", "--addr", "127.0.0.1:0", "--query-time", "0")
	default:
		return target{}, fmt.Errorf("unknown target %q (want minimal or serve)", name)
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

// pacing runs stormtest at fixed rates against the minimal target and reports how close the
// first-attempt rate came to the intended one and how late first attempts were sent.
func pacing(o options, stormtest string) error {
	tgt, err := startTarget("minimal", stormtest)
	if err != nil {
		return err
	}
	defer tgt.stop()
	fmt.Printf("pacing, minimal target, %s per rate, max-workers %d, connections %d (medians of %d runs)\n\n",
		o.pacingDur, o.workers, o.connections, o.runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "intended/s\tachieved first/s\terror %\tlag p50 µs\tlag p99 µs\tlag max µs\tCPU µs/req\t≤1 % and p99<1ms\t")
	for _, rs := range strings.Split(o.rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil {
			return fmt.Errorf("bad rate %q", rs)
		}
		var ach, p50, p99, pmax, cpus []float64
		for range o.runs {
			prof := filepath.Join(o.work, "bench-pacing.yaml")
			doc := fmt.Sprintf("name: bench-pacing\nphases: [{name: fixed, duration: %s, rate: %g}]\n"+
				"client:\n  timeout: 10s\n  retry: {policy: immediate, max_attempts: 3}\n", o.pacingDur, rate)
			if err := os.WriteFile(prof, []byte(doc), 0o644); err != nil {
				return err
			}
			out := filepath.Join(o.work, "pacing.st")
			cmd := exec.Command(stormtest, "attack", "--target", tgt.url, "--profile", prof, "--out", out, "--overwrite",
				"--max-workers", strconv.Itoa(o.workers), "--connections", strconv.Itoa(o.connections))
			cpu, _, err := runChild(cmd)
			if err != nil {
				return err
			}
			st, err := readStormtest(out)
			if err != nil {
				return err
			}
			slices.Sort(st.lags)
			ach = append(ach, float64(st.firsts)/o.pacingDur.Seconds())
			p50 = append(p50, float64(quantile(st.lags, 0.50))/1e3)
			p99 = append(p99, float64(quantile(st.lags, 0.99))/1e3)
			pmax = append(pmax, float64(st.lags[len(st.lags)-1])/1e3)
			cpus = append(cpus, cpu.Seconds()/float64(st.attempts)*1e6)
		}
		a := median(ach)
		errPct := (a - rate) / rate * 100
		ok := "yes"
		if math.Abs(errPct) > 1 || median(p99) >= 1000 {
			ok = "no"
		}
		fmt.Fprintf(tw, "%.0f\t%.0f\t%+.2f\t%.0f\t%.0f\t%.0f\t%.1f\t%s\t\n", rate, a, errPct, median(p50), median(p99), median(pmax), median(cpus), ok)
	}
	return tw.Flush()
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
		if tgt, err = startTarget("minimal", stormtest); err != nil {
			return err
		}
	}
	defer tgt.stop()
	p, err := profiles.Parse([]byte(maxProfile(o.duration)), "bench-max.yaml")
	if err != nil {
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
	fmt.Printf("profiled run: %d attempts in %s: %.0f/s\n", sum.Attempts, o.duration, float64(sum.Attempts)/o.duration.Seconds())
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
