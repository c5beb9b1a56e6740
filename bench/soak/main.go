// Command soak runs one long attack in this process and watches it for leaks: every -every
// (a minute) it prints the process's resident memory, goroutines, open files and the
// generator's lag (how late attempts started, p99 and max over the interval), and at the end
// a verdict: "flat" when the floor of every figure over the last third of the run stayed
// within 10 % (plus a small absolute slack, see flatWithin) of its floor over the first third
// after warm-up, "growing" otherwise (exit 1). See judge for why floors.
//
// The target is the built-in service, run in a child process (this binary again, with
// -serve) so that its memory and goroutines are not counted as the generator's: 64
// connections of 5 ms queries (12 800 req/s of capacity) with the reset fault in 2 % of
// requests, so that retries fire all the time without overloading anything. The attack is
// 2000 first attempts/s with exponential retries (3 attempts), recorded to a results file in
// a temporary directory (removed at the end unless -keep).
//
// Usage: go run ./bench/soak [-duration 60m] [-rate 2000] [-every 1m] [-warmup 2m] [-keep]
// (make soak SOAK=60m). Traffic goes only to the child on 127.0.0.1.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
	"github.com/stormtest/stormtest/simservice"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
}

func run() error {
	duration := flag.Duration("duration", 60*time.Minute, "how long the attack runs")
	rate := flag.Float64("rate", 2000, "first attempts per second")
	every := flag.Duration("every", time.Minute, "sampling interval")
	warmup := flag.Duration("warmup", 2*time.Minute, "samples before this are not judged (capped at a third of -duration)")
	keep := flag.Bool("keep", false, "keep the results file")
	engine := flag.String("engine", "", "the engine to send with (std, fast, loop or auto; empty: the default, std)")
	serve := flag.String("serve", "", "internal: run the target on this address and print its URL")
	flag.Parse()
	if *serve != "" {
		return serveTarget(*serve)
	}
	if *duration <= 0 || *every <= 0 || *rate <= 0 {
		return errors.New("-duration, -every and -rate must be positive")
	}
	*warmup = min(*warmup, *duration/3)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url, child, err := startTarget()
	if err != nil {
		return err
	}
	defer func() { _ = child.stdin.Close(); _ = child.cmd.Wait() }()

	dir, err := os.MkdirTemp("", "stormtest-soak-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	prof, err := profiles.Parse([]byte(fmt.Sprintf(`name: soak
phases: [{name: steady, duration: %s, rate: %g}]
client: {timeout: 2s, retry: {policy: exponential, max_attempts: 3, base: 50ms, cap: 1s}}
`, *duration, *rate)), "soak.yaml")
	if err != nil {
		return err
	}
	if prof, err = prof.WithTransport(profiles.Transport{Engine: *engine}); err != nil {
		return err
	}
	out := attack.Output{Path: filepath.Join(dir, "soak.st")}
	lag := &lagObserver{}
	progress := new(attack.Progress)
	cfg := attack.Config{Target: url, Profile: prof, Observer: lag, Progress: progress}
	if err := cfg.Validate(); err != nil {
		return err
	}
	fmt.Printf("soak: %g attempts/s with retries for %s against the built-in service at %s (reset fault in 2%% of requests), engine %s; results in %s\n",
		*rate, *duration, url, *engine, out.Path)
	fmt.Printf("%8s %9s %10s %6s %9s %9s %10s %9s\n", "minute", "RSS MiB", "goroutines", "fds", "lag p99", "lag max", "attempts/s", "retries/s")

	var samples []sample
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(*every)
		defer tick.Stop()
		start := time.Now()
		var lastAttempts, lastRetries uint64
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				s, err := take(lag)
				if err != nil {
					fmt.Fprintln(os.Stderr, "soak: sampling:", err)
					continue
				}
				s.at = now.Sub(start)
				a, r := progress.Attempts.Load(), progress.Retries.Load()
				secs := every.Seconds()
				fmt.Printf("%8.1f %9.1f %10d %6d %9s %9s %10.0f %9.0f\n", s.at.Minutes(), float64(s.rss)/(1<<20), s.goroutines, s.fds,
					s.lagP99.Round(10*time.Microsecond), s.lagMax.Round(10*time.Microsecond), float64(a-lastAttempts)/secs, float64(r-lastRetries)/secs)
				lastAttempts, lastRetries = a, r
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}
	}()
	sum, err := attack.Run(ctx, cfg, attack.NewFileSink(out))
	close(done)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("attack: %w", err)
	}
	fmt.Printf("soak: %d requests, %d attempts (%d retries) in %s%s\n", sum.Requests, sum.Attempts, progress.Retries.Load(),
		sum.End.Sub(sum.Start).Round(time.Second), map[bool]string{true: ", interrupted", false: ""}[sum.Interrupted])
	verdict, why := judge(samples, *warmup)
	fmt.Printf("verdict: %s (%s)\n", verdict, why)
	if verdict != "flat" {
		os.Exit(1)
	}
	return nil
}

// serveTarget runs the built-in service until stdin closes (the parent died) or a signal.
func serveTarget(addr string) error {
	cfg := simservice.DefaultConfig()
	cfg.DBConns, cfg.CapacityFraction, cfg.QueryTime = 64, 1, 5*time.Millisecond
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	running, err := simservice.Start(ctx, addr, cfg)
	if err != nil {
		return err
	}
	if err := running.Server.SetFaults(simservice.FaultSpec{Kinds: []simservice.Fault{simservice.FaultReset}, Share: 0.02}); err != nil {
		return err
	}
	fmt.Println(running.URL)
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	<-running.Done()
	return nil
}

// target is the child process serving the built-in service. Closing stdin stops it; the
// pipe is kept referenced here, since a collected pipe would be closed by its finalizer.
type target struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startTarget starts this binary with -serve and reads the target's URL from its first line.
func startTarget() (string, *target, error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-serve", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closed when we exit: the child stops then
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting the target: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return "", nil, fmt.Errorf("the target did not start: %w", err)
	}
	return strings.TrimSpace(line), &target{cmd: cmd, stdin: stdin}, nil
}

// lagObserver keeps the send lag of the attempts completed since the last sample. The
// attack's consumer goroutine calls Attempt; the sampler calls take.
type lagObserver struct {
	mu   sync.Mutex
	lags []time.Duration
}

func (o *lagObserver) Begin(time.Time) {}

func (o *lagObserver) Attempt(rec *results.Record, _ bool) {
	o.mu.Lock()
	o.lags = append(o.lags, rec.SendLag)
	o.mu.Unlock()
}

// drain returns the p99 and maximum of the lags since the last call, and forgets them.
func (o *lagObserver) drain() (p99, maxLag time.Duration) {
	o.mu.Lock()
	lags := o.lags
	o.lags = make([]time.Duration, 0, len(lags))
	o.mu.Unlock()
	if len(lags) == 0 {
		return 0, 0
	}
	// A partial selection would do; a sort of one minute's lags (~130 000) is cheap enough.
	slices.Sort(lags)
	return lags[int(math.Ceil(0.99*float64(len(lags))))-1], lags[len(lags)-1]
}

type sample struct {
	at             time.Duration
	rss            uint64
	goroutines     int
	fds            int
	lagP99, lagMax time.Duration
}

// take reads this process's figures from /proc.
func take(lag *lagObserver) (sample, error) {
	var s sample
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			s.rss = kb << 10
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	s.goroutines = runtime.NumGoroutine()
	s.lagP99, s.lagMax = lag.drain()
	return s, nil
}

// flatWithin is the growth allowed between the floors (see judge): 10 % of the early floor
// plus an absolute slack, because 10 % of 40 goroutines or 12 file descriptors is less than
// the run's ordinary jitter (a retry burst opens a few).
var flatWithin = struct {
	rss             uint64
	goroutines, fds int
	lag             time.Duration
}{rss: 4 << 20, goroutines: 20, fds: 10, lag: time.Millisecond}

// judge says "flat" or "growing", and why. It compares floors, not single samples: the
// lowest value of each figure over the last third of the judged minutes against the lowest
// over the first third. Goroutines and open files follow the attempts in flight, so they
// peak whenever the target or the machine slows down for a minute (a neighbour's build);
// a leak raises the floor, and that is what must stay within 10 % (plus flatWithin).
func judge(samples []sample, warmup time.Duration) (string, string) {
	var judged []sample
	for _, s := range samples {
		if s.at >= warmup {
			judged = append(judged, s)
		}
	}
	if len(judged) < 2 {
		return "too short", fmt.Sprintf("%d samples after the %s warm-up; need 2", len(judged), warmup)
	}
	third := max(len(judged)/3, 1)
	early, late := floor(judged[:third]), floor(judged[len(judged)-third:])
	var grew []string
	if late.rss > early.rss+early.rss/10+flatWithin.rss {
		grew = append(grew, fmt.Sprintf("RSS floor %.1f → %.1f MiB", mib(early.rss), mib(late.rss)))
	}
	if late.goroutines > early.goroutines+early.goroutines/10+flatWithin.goroutines {
		grew = append(grew, fmt.Sprintf("goroutines floor %d → %d", early.goroutines, late.goroutines))
	}
	if late.fds > early.fds+early.fds/10+flatWithin.fds {
		grew = append(grew, fmt.Sprintf("open files floor %d → %d", early.fds, late.fds))
	}
	if late.lagP99 > early.lagP99+early.lagP99/10+flatWithin.lag {
		grew = append(grew, fmt.Sprintf("lag p99 floor %s → %s", early.lagP99.Round(10*time.Microsecond), late.lagP99.Round(10*time.Microsecond)))
	}
	if len(grew) > 0 {
		return "growing", strings.Join(grew, "; ")
	}
	return "flat", fmt.Sprintf("after %s warm-up, floors of the first and last %d samples: RSS %.1f → %.1f MiB, goroutines %d → %d, open files %d → %d, lag p99 %s → %s",
		warmup, third, mib(early.rss), mib(late.rss), early.goroutines, late.goroutines, early.fds, late.fds,
		early.lagP99.Round(10*time.Microsecond), late.lagP99.Round(10*time.Microsecond))
}

// floor is the lowest RSS, goroutines, open files and lag p99 over ss, each on its own.
func floor(ss []sample) sample {
	f := ss[0]
	for _, s := range ss[1:] {
		f.rss, f.goroutines, f.fds = min(f.rss, s.rss), min(f.goroutines, s.goroutines), min(f.fds, s.fds)
		f.lagP99 = min(f.lagP99, s.lagP99)
	}
	return f
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
