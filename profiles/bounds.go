package profiles

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Bounds on every knob a profile takes. They live in one place so that README.md
// ("Bounds"), docs/profiles.md and docs/profile.schema.json can list them, and so that no
// profile, scaled or not, can make a run, its results file or its analysis overflow, wrap a
// counter or grow without limit. Each is checked at the exact value (accepted) and one step
// past it (refused) by TestBounds.
const (
	// MaxRate bounds every rate field (rate, from, to, amplitude, spike, points), after
	// --rate-scale: far above what one generator sends (~15 k/s on 2 cores), and small enough
	// that a day at this rate (8.64e10 first attempts) is an exact float64.
	MaxRate = 1_000_000
	// MinExponentialRate is the least from and to of an exponential ramp: the curve is
	// computed from to/from, which underflows or overflows for rates near 0.
	MinExponentialRate = 0.001
	// MaxUsers bounds a closed-loop phase's users, after --rate-scale: every user is a
	// goroutine with its own state.
	MaxUsers = 100_000
	// MaxDuration bounds every duration in a profile (phase durations, periods, spikes,
	// points, timeouts, deadlines, think times, retry delays, the SLO) and the run's total
	// length with its repeats, after --time-scale. The analysis keeps counters for every
	// window of the run, so the run's length is what its memory grows with.
	MaxDuration = Duration(24 * time.Hour)
	// MaxPhases bounds the phases of a profile: a results record names its phase in one
	// byte. Repeats do not count, since a repeated phase keeps its one index.
	MaxPhases = 255
	// MaxAttempts bounds client.retry.max_attempts: a results record counts attempts in one
	// byte (up to 255), and no real client retries a hundred times.
	MaxAttempts = 100
	// MaxBodyBytes bounds request.body_file, which is held in memory and sent with every
	// attempt.
	MaxBodyBytes = 10 << 20
	// MaxProfileBytes bounds a profile file: its YAML tree is held in memory while it is
	// read. A week of per-minute points takes about 150 KiB.
	MaxProfileBytes = 1 << 20
)

// boundsNote ends every bound error's hint, so that the message names the bound and where
// the bounds are listed.
const boundsNote = ", see \"Bounds\" in README.md"

// tooLong checks one duration against MaxDuration.
func tooLong(path string, d Duration) *fieldError {
	if d <= MaxDuration {
		return nil
	}
	return errAt(path, fmt.Sprintf("%s is longer than the maximum %s", d, MaxDuration),
		"a duration up to "+MaxDuration.String()+": MaxDuration"+boundsNote)
}

// tooFast checks one rate against MaxRate. NaN is left to checkRate, which says "not finite".
func tooFast(path string, v *float64) *fieldError {
	if v == nil || !(*v > MaxRate) {
		return nil
	}
	return errAt(path, fmt.Sprintf("%v is above the maximum rate %d", *v, MaxRate),
		fmt.Sprintf("a rate up to %d first attempts per second: MaxRate", MaxRate)+boundsNote)
}

// CheckBounds reports the first field of p past one of the bounds above, as one line. It is
// less than Validate: the results reader uses it on the profile a file's header carries, so
// that a file written before the bounds existed (say with --time-scale 1e300) is refused with
// a message instead of making analyze, report, gate or compare overflow, panic or run out of
// memory, while a file that is merely unusual still reads.
func (p *Profile) CheckBounds() error {
	if err := p.checkBounds(); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return nil
}

// checkBounds is CheckBounds returning a *fieldError, so that Parse can place it on a line.
// validate calls it first, so a profile past a bound gets the message naming the bound
// rather than whatever an overflow would make of it further on.
func (p *Profile) checkBounds() *fieldError {
	if n := len(p.Phases); n > MaxPhases {
		return tooManyPhases(n)
	}
	var total time.Duration
	for i, ph := range p.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		if err := ph.checkBounds(path); err != nil {
			return err
		}
		// Each phase is at most MaxDuration and there are at most MaxPhases of them, so
		// the sum cannot overflow.
		total += ph.Length()
		if total > time.Duration(MaxDuration) {
			return errAt(path+".duration", fmt.Sprintf("the run's total length reaches %s, longer than the maximum %s", Duration(total), MaxDuration),
				"a run of at most "+MaxDuration.String()+" in all, repeats included: MaxDuration"+boundsNote)
		}
	}
	if n := len(p.Clients); n > MaxGroups {
		return errAt("clients", fmt.Sprintf("%d groups", n), fmt.Sprintf("at most %d groups (a results record names its group in one byte): MaxGroups", MaxGroups)+boundsNote)
	}
	if err := p.Client.checkBounds("client"); err != nil {
		return err
	}
	for i, c := range p.Clients {
		if err := c.checkBounds(fmt.Sprintf("clients[%d]", i)); err != nil {
			return err
		}
	}
	return tooLong("slo.latency", p.SLO.Latency)
}

func tooManyPhases(n int) *fieldError {
	return errAt("phases", fmt.Sprintf("%d phases", n),
		fmt.Sprintf("at most %d phases (a results record names its phase in one byte; repeat plays a phase again): MaxPhases", MaxPhases)+boundsNote)
}

func (ph Phase) checkBounds(path string) *fieldError {
	if err := tooLong(path+".duration", ph.Duration); err != nil {
		return err
	}
	if ph.Repeat > 1 && ph.Duration > 0 {
		// Length saturates at MaxInt64 rather than overflowing, so this also catches
		// repeats that would overflow.
		if l := Duration(ph.Length()); l > MaxDuration {
			return errAt(path+".repeat", fmt.Sprintf("%d plays of %s last %s, longer than the maximum %s", ph.Repeat, ph.Duration, l, MaxDuration),
				"a phase of at most "+MaxDuration.String()+" with its repeats: MaxDuration"+boundsNote)
		}
	}
	if err := tooLong(path+".period", ph.Period); err != nil {
		return err
	}
	var err *fieldError
	ph.rates(func(key string, v **float64) {
		if err == nil {
			err = tooFast(path+"."+key, *v)
		}
	})
	if err != nil {
		return err
	}
	if ph.Rate != nil && ph.Amplitude != nil && *ph.Rate+*ph.Amplitude > MaxRate {
		return errAt(path+".amplitude", fmt.Sprintf("the wave peaks at %v, above the maximum rate %d", *ph.Rate+*ph.Amplitude, MaxRate),
			fmt.Sprintf("rate + amplitude up to %d first attempts per second: MaxRate", MaxRate)+boundsNote)
	}
	for i, pt := range ph.Points {
		if err := tooFast(fmt.Sprintf("%s.points[%d]", path, i), &pt.Rate); err != nil {
			return err
		}
	}
	if ph.Users != nil && *ph.Users > MaxUsers {
		return errAt(path+".users", fmt.Sprintf("%d is above the maximum %d", *ph.Users, MaxUsers),
			fmt.Sprintf("up to %d closed-loop users: MaxUsers", MaxUsers)+boundsNote)
	}
	return nil
}

func (c Client) checkBounds(path string) *fieldError {
	for _, f := range []struct {
		key string
		d   Duration
	}{{"timeout", c.Timeout}, {"deadline", c.Deadline}, {"think", c.Think}, {"retry.base", c.Retry.Base}, {"retry.cap", c.Retry.Cap}} {
		if err := tooLong(path+"."+f.key, f.d); err != nil {
			return err
		}
	}
	if n := c.Retry.MaxAttempts; n > MaxAttempts {
		return errAt(path+".retry.max_attempts", fmt.Sprintf("%d is above the maximum %d", n, MaxAttempts),
			fmt.Sprintf("up to %d tries including the first (a results record counts attempts in one byte): MaxAttempts", MaxAttempts)+boundsNote)
	}
	return nil
}

// ReadBody reads a request body file, refusing anything but a regular file of at most
// MaxBodyBytes. It reads through a limit, so a file that grew after Load checked it (or a
// device such as /dev/zero) cannot make it read forever.
func ReadBody(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	defer f.Close() // read-only: a close error loses nothing
	if problem := bodyProblem(f); problem != nil {
		return nil, fmt.Errorf("request body: %s (expected %s)", problem.problem, problem.expected)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	if len(b) > MaxBodyBytes {
		return nil, fmt.Errorf("request body: %s grew past the maximum %d bytes (expected a body of at most %d bytes: MaxBodyBytes)", path, MaxBodyBytes, MaxBodyBytes)
	}
	return b, nil
}

// bodyProblem says what is wrong with an open body file, or nil.
func bodyProblem(f *os.File) *fieldError {
	info, err := f.Stat()
	if err != nil {
		return errAt("", err.Error(), "a readable file")
	}
	return bodyInfoProblem(f.Name(), info)
}

// bodyInfoProblem checks a body file's kind and size before anything reads it.
func bodyInfoProblem(name string, info os.FileInfo) *fieldError {
	expected := fmt.Sprintf("a regular file of at most %d bytes: MaxBodyBytes", MaxBodyBytes) + boundsNote
	switch {
	case !info.Mode().IsRegular():
		return errAt("", name+" is not a regular file: a device or a pipe may never end", expected)
	case info.Size() > MaxBodyBytes:
		return errAt("", fmt.Sprintf("%s is %d bytes, above the maximum %d", name, info.Size(), MaxBodyBytes), expected)
	}
	return nil
}
