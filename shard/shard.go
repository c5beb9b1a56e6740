// Package shard is how N generators divide one run between them so that, together, they are
// exactly the run one generator would have made, and how they agree on what that run is.
//
// The contract, relied on by attack (which sends a shard's share) and analyze (which merges
// the shards back):
//
//   - Part I/N owns the k-th first attempt of every client group's schedule when k mod N == I
//     (k counting from 0), and closed-loop user u when u mod N == I. The union of the N parts
//     is therefore the one-generator schedule, attempt for attempt and instant for instant.
//   - Every part shares the run's t=0 (StartAt), its run id (RunID) and its seed; the jitter
//     and path choices of part I come from Seed(run seed), so shards do not retry in lockstep.
//   - Request ids of part I are local*N + I, so they are unique across the whole run.
//
// Everything here is pure computation over its arguments: no globals, no clock reads except
// through the now passed in.
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxCount bounds N: far more generators than any run needs, small enough that a typo
// (--shard 3/40000) is caught.
const MaxCount = 1000

// EnvIndex is the variable a Kubernetes Indexed Job sets in each pod to its completion index.
const EnvIndex = "JOB_COMPLETION_INDEX"

// Part is one generator's share of a run: Index of Count. The zero value is not valid; One is
// the whole run.
type Part struct {
	Index, Count int
}

// One is the whole run on one generator.
var One = Part{Index: 0, Count: 1}

// String is the part as the --shard flag takes it: "2/4".
func (p Part) String() string { return fmt.Sprintf("%d/%d", p.Index, p.Count) }

// Valid reports whether 0 ≤ Index < Count ≤ MaxCount.
func (p Part) Valid() error {
	if p.Count < 1 || p.Count > MaxCount {
		return fmt.Errorf("shard count %d is out of range (1 to %d)", p.Count, MaxCount)
	}
	if p.Index < 0 || p.Index >= p.Count {
		return fmt.Errorf("shard index %d is out of range for %d shards (0 to %d)", p.Index, p.Count, p.Count-1)
	}
	return nil
}

// Parse reads "I/N" (0-based I), as --shard takes it.
func Parse(s string) (Part, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Part{}, fmt.Errorf("--shard %q: expected I/N, such as 0/4 (I counts from 0)", s)
	}
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Part{}, fmt.Errorf("--shard %q: expected I/N with whole numbers, such as 0/4", s)
	}
	p := Part{Index: idx, Count: cnt}
	if err := p.Valid(); err != nil {
		return Part{}, fmt.Errorf("--shard %q: %w", s, err)
	}
	return p, nil
}

// FromEnv is part ?/count with the index read from JOB_COMPLETION_INDEX through getenv
// (os.Getenv), so that a Kubernetes Indexed Job needs no wrapper script.
func FromEnv(count int, getenv func(string) string) (Part, error) {
	v := getenv(EnvIndex)
	if v == "" {
		return Part{}, fmt.Errorf("--shards %d: %s is not set (it is set in the pods of a Kubernetes Indexed Job); outside one, use --shard I/%d", count, EnvIndex, count)
	}
	idx, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return Part{}, fmt.Errorf("--shards %d: %s=%q is not a whole number", count, EnvIndex, v)
	}
	p := Part{Index: idx, Count: count}
	if err := p.Valid(); err != nil {
		return Part{}, fmt.Errorf("--shards %d with %s=%s: %w (is the Job's completions equal to --shards?)", count, EnvIndex, v, err)
	}
	return p, nil
}

// Sharded reports whether the run is split over more than one generator.
func (p Part) Sharded() bool { return p.Count > 1 }

// Owns reports whether the k-th item (first attempt of a schedule, or closed-loop user),
// counting from 0, belongs to this part.
func (p Part) Owns(k uint64) bool {
	return p.Count <= 1 || k%uint64(p.Count) == uint64(p.Index)
}

// FirstOwned is the index of this part's first item: Index.
func (p Part) FirstOwned() uint64 { return uint64(max(p.Index, 0)) }

// Stride is how far apart this part's items are: Count.
func (p Part) Stride() uint64 { return uint64(max(p.Count, 1)) }

// RequestID makes a generator-local request id (1, 2, …) unique across the run.
func (p Part) RequestID(local uint64) uint64 {
	if p.Count <= 1 {
		return local
	}
	return local*uint64(p.Count) + uint64(p.Index)
}

// Seed derives this part's seed for retry jitter and path choice from the run's seed. The
// whole run (N = 1) keeps the run seed, so a one-generator run repeats exactly as before; each
// shard of a split run gets a different, reproducible stream (SplitMix64 of seed and index),
// so the shards' retries do not move in lockstep.
func (p Part) Seed(run uint64) uint64 {
	if p.Count <= 1 {
		return run
	}
	z := run + uint64(p.Index+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 1 // 0 means "pick one" to the attack
	}
	return z
}

// RunSeed is the seed every shard of a run uses when the profile sets none: taken from the run
// id, so that shards started separately agree without talking to each other.
func RunSeed(runID string) uint64 {
	sum := sha256.Sum256([]byte("stormtest run seed\x00" + runID))
	return binary.LittleEndian.Uint64(sum[:8]) | 1
}

var runIDSafe = regexp.MustCompile(`[^a-z0-9-]+`)

// RunID is the default run id: the profile's name and the run's t=0 (UTC, to the second),
// plus a short hash of the exact instant, e.g. "monday-morning-20250106t093000z-3f2a". Shards
// given the same --start-at and profile derive the same id; it is also a valid Kubernetes
// name fragment (lower case letters, digits and dashes).
func RunID(profile string, start time.Time) string {
	name := strings.Trim(runIDSafe.ReplaceAllString(strings.ToLower(profile), "-"), "-")
	if name == "" {
		name = "run"
	}
	if len(name) > 30 {
		name = strings.TrimRight(name[:30], "-")
	}
	sum := sha256.Sum256([]byte(start.UTC().Format(time.RFC3339Nano)))
	return fmt.Sprintf("%s-%s-%s", name, strings.ToLower(start.UTC().Format("20060102t150405z")), hex.EncodeToString(sum[:2]))
}

// CheckRunID refuses a run id that cannot name files and Kubernetes objects safely.
func CheckRunID(id string) error {
	if id == "" || len(id) > 63 || runIDSafe.MatchString(id) || strings.HasPrefix(id, "-") || strings.HasSuffix(id, "-") {
		return fmt.Errorf("--run-id %q: use 1 to 63 lower-case letters, digits and dashes, not starting or ending with a dash", id)
	}
	return nil
}

// ParseStartAt reads --start-at: an RFC 3339 instant ("2025-01-06T09:30:00Z") or an offset
// from now ("+30s"). Every shard given the same instant starts its t=0 then.
func ParseStartAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("--start-at %q: expected +DURATION such as +30s, or an RFC 3339 time such as 2025-01-06T09:30:00Z", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at %q: expected an RFC 3339 time such as 2025-01-06T09:30:00Z, or +DURATION such as +30s", s)
	}
	return t, nil
}
