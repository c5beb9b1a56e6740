package analyze

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stormtest/stormtest/results"
)

// DefaultMaxSkew bounds how far apart the shards of one run may have started, measured on
// the target's clock: a quarter of the default window, so that no attempt is put into a
// window more than a quarter away from where the target saw it.
const DefaultMaxSkew = 250 * time.Millisecond

// MergeOptions say how strictly Open merges files into one run.
type MergeOptions struct {
	// AllowPartial analyses a run some of whose shards are missing, saying which and what
	// share of the load the analysis covers; without it a missing shard is an error.
	AllowPartial bool
	// MaxSkew bounds the disagreement between the shards' t=0 on the target's clock (see
	// ShardSummary.SkewMS); 0 means DefaultMaxSkew, a negative value no bound.
	MaxSkew time.Duration
}

// ShardSummary says which shards of a run an analysis merged. It is part of the JSON report
// (docs/analyze-json.md), present when the run was split over several generators or several
// files were merged.
type ShardSummary struct {
	RunID string `json:"run_id"`
	// Count is N, the shards the run was split into; Present of them were analysed.
	Count   int `json:"count"`
	Present int `json:"present"`
	// Missing lists the indices of absent shards; Coverage is Present/Count, the share of
	// the run's load the analysis covers.
	Missing  []int   `json:"missing"`
	Coverage float64 `json:"coverage"`
	// SkewMS is how far apart the shards' t=0 were on the target's clock (each shard's start
	// plus its clock offset, measured from the Date header of its first responses), ±
	// SkewUncertaintyMS; SkewSource is "date-header", or "start" when some shard had no
	// clock estimate and only the recorded starts could be compared. Null for one shard.
	SkewMS            *float64    `json:"skew_ms"`
	SkewUncertaintyMS float64     `json:"skew_uncertainty_ms"`
	SkewSource        string      `json:"skew_source"`
	Files             []ShardFile `json:"files"`
	// Ignored are files left out because another copy of the same shard was more complete.
	Ignored []string `json:"ignored"`
}

// ShardFile is one merged file.
type ShardFile struct {
	Index    int    `json:"index"`
	Path     string `json:"path"`
	Complete bool   `json:"complete"` // it has a trailer
	// LateStartMS is how late the shard was ready after t=0; ClockOffsetMS the target's clock
	// minus the shard's (null when not measured).
	LateStartMS   float64  `json:"late_start_ms"`
	ClockOffsetMS *float64 `json:"clock_offset_ms"`
}

// Line says in one line what the analysis covers, for the text and Markdown reports.
func (s *ShardSummary) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %d of %d shards", s.RunID, s.Present, s.Count)
	if len(s.Missing) > 0 {
		fmt.Fprintf(&b, " (missing %s): the analysis covers %d/%d of the load", indexList(s.Missing), s.Present, s.Count)
	}
	if s.SkewMS != nil {
		fmt.Fprintf(&b, "; t=0 skew %s ms", num(*s.SkewMS, 1))
		if s.SkewSource == skewFromDate {
			fmt.Fprintf(&b, " (±%s ms, target's Date header)", num(s.SkewUncertaintyMS, 1))
		} else {
			b.WriteString(" (recorded starts only: no Date header to measure clocks by)")
		}
	}
	return b.String()
}

const (
	skewFromDate  = "date-header"
	skewFromStart = "start"
)

// Expand turns the command line's arguments into results files: a file as it is, a
// directory as every results file directly in it (by content, so that a shard's .partial
// counts and a JUnit file beside them does not), and a glob as its matches. The list is
// sorted within each argument; a path given twice counts once.
func Expand(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		switch {
		case err == nil && st.IsDir():
			ents, err := os.ReadDir(arg)
			if err != nil {
				return nil, fmt.Errorf("analyze: %w", err)
			}
			n := 0
			for _, e := range ents {
				p := filepath.Join(arg, e.Name())
				if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
					continue
				}
				if ok, err := results.IsResultsFile(p); err != nil {
					return nil, fmt.Errorf("analyze: %w", err)
				} else if ok {
					add(p)
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("analyze: directory %s holds no results files", arg)
			}
		case err == nil:
			add(arg)
		case strings.ContainsAny(arg, "*?["):
			matches, gerr := filepath.Glob(arg)
			if gerr != nil {
				return nil, fmt.Errorf("analyze: bad pattern %q: %w", arg, gerr)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("analyze: no file matches %q", arg)
			}
			sort.Strings(matches)
			for _, m := range matches {
				add(m)
			}
		default:
			add(arg) // Open names it in its error
		}
	}
	return out, nil
}

// Run is the results files of one run opened as one results.Source (the k-way merge of
// shards on attempt end time), with what the merge found: its ShardSummary and warnings.
// Memory is one block per file, whatever the files' length. Read it from one goroutine, then
// Close it.
type Run struct {
	*shards
	// Summary is nil for one file of an unsplit run.
	Summary  *ShardSummary
	warnings []string
	all      []*results.Reader // every file opened, ignored copies included, for Close
}

// Warnings are the merge's remarks: ignored duplicates, missing shards (with AllowPartial),
// late starts. Per-file damage comes from the stream itself.
func (r *Run) Warnings() []string { return r.warnings }

// Close closes every file.
func (r *Run) Close() error {
	for _, rd := range r.all {
		rd.Close() // read-only: a close error loses nothing
	}
	r.all = nil
	return nil
}

// Open opens args (Expand) as one run and checks that they are one: every file of the same
// run id and profile; each shard once (a shard present twice, as when Kubernetes re-runs a
// failed pod with the same index, keeps its more complete copy and names the other); every
// shard present unless m.AllowPartial; and the shards' t=0 within m.MaxSkew of each other on
// the target's clock. Each refusal is one line naming the files.
func Open(args []string, m MergeOptions) (*Run, error) {
	paths, err := Expand(args)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, errors.New("analyze: no results files given")
	}
	run := &Run{}
	files := make([]shardFile, 0, len(paths))
	for _, p := range paths {
		r, err := results.Open(p)
		if err != nil {
			run.Close()
			return nil, fmt.Errorf("analyze: %w", err)
		}
		run.all = append(run.all, r)
		t, ok := r.Trailer()
		f := shardFile{path: p, r: r, h: r.Header(), t: t, complete: ok}
		if st, err := os.Stat(p); err == nil {
			f.size = st.Size()
		}
		files = append(files, f)
	}
	kept, err := run.check(files, m)
	if err != nil {
		run.Close()
		return nil, err
	}
	keptPaths := make([]string, len(kept))
	readers := make([]*results.Reader, len(kept))
	h := kept[0].h
	h.Scrape = slices.Clone(h.Scrape) // extended below with the other files' endpoints
	for i, f := range kept {
		keptPaths[i], readers[i] = f.path, f.r
		if f.h.Start.Before(h.Start) {
			h.Start = f.h.Start // the earliest start is the analysis's time zero
		}
		// The scrape endpoints are the union of the files' (OnScrape renumbers them).
		for _, ep := range f.h.Scrape {
			if !slices.Contains(h.Scrape, ep) && len(h.Scrape) < results.MaxEndpoints {
				h.Scrape = append(h.Scrape, ep)
			}
		}
	}
	run.shards = newShards(keptPaths, readers, h)
	return run, nil
}

type shardFile struct {
	path     string
	r        *results.Reader
	h        results.Header
	t        results.Trailer
	complete bool
	size     int64
}

// better reports whether f is a more complete copy of a shard than g: a trailer beats none,
// then more attempts (the trailer's count, or the file's size without one).
func (f shardFile) better(g shardFile) bool {
	if f.complete != g.complete {
		return f.complete
	}
	if f.complete && f.t.Attempts != g.t.Attempts {
		return f.t.Attempts > g.t.Attempts
	}
	return f.size > g.size
}

// check applies Open's rules and returns the files to merge, ordered by shard index.
func (run *Run) check(files []shardFile, m MergeOptions) ([]shardFile, error) {
	first := files[0]
	legacy := first.h.RunID == ""
	for _, f := range files[1:] {
		if (f.h.RunID == "") != legacy || f.h.RunID != first.h.RunID {
			return nil, fmt.Errorf("analyze: %s is run %s but %s is run %s: files of different runs cannot be merged (compare two runs with stormtest compare)",
				f.path, orDash(f.h.RunID), first.path, orDash(first.h.RunID))
		}
		if f.h.Profile.Name != first.h.Profile.Name {
			return nil, fmt.Errorf("analyze: %s ran profile %q but %s ran %q: not shards of one run",
				f.path, f.h.Profile.Name, first.path, first.h.Profile.Name)
		}
		if !slices.Equal(f.h.Groups, first.h.Groups) {
			return nil, fmt.Errorf("analyze: %s has client groups %v but %s has %v: not shards of one run",
				f.path, f.h.Groups, first.path, first.h.Groups)
		}
	}
	if legacy {
		return run.checkLegacy(files)
	}
	n := first.h.Shards
	for _, f := range files {
		if !sameProfile(f.h, first.h) {
			return nil, fmt.Errorf("analyze: %s and %s are both run %s but ran different profiles (settings or scaling differ): not shards of one run",
				f.path, first.path, first.h.RunID)
		}
		if f.h.Shards != n {
			return nil, fmt.Errorf("analyze: %s is a shard of %d but %s of %d: not shards of one run", f.path, f.h.Shards, first.path, n)
		}
		if f.h.Shard < 0 || f.h.Shard >= max(n, 1) {
			return nil, fmt.Errorf("analyze: %s claims shard %d of %d: its header is damaged", f.path, f.h.Shard, n)
		}
	}

	// One copy per index: the most complete.
	best := map[int]int{}
	for i, f := range files {
		j, dup := best[f.h.Shard]
		if !dup {
			best[f.h.Shard] = i
			continue
		}
		keep, drop := files[j], f
		if f.better(files[j]) {
			keep, drop = f, files[j]
			best[f.h.Shard] = i
		}
		run.warnings = append(run.warnings, fmt.Sprintf("shard %d of run %s is present twice (a re-run pod or a copied file): kept %s (%s), ignored %s (%s)",
			f.h.Shard, f.h.RunID, keep.path, copyState(keep), drop.path, copyState(drop)))
	}
	var kept []shardFile
	for i := range max(n, 1) {
		if j, ok := best[i]; ok {
			kept = append(kept, files[j])
		}
	}
	sum := &ShardSummary{RunID: first.h.RunID, Count: max(n, 1), Present: len(kept), Missing: []int{}, Ignored: []string{}}
	for i := range sum.Count {
		if _, ok := best[i]; !ok {
			sum.Missing = append(sum.Missing, i)
		}
	}
	for i, f := range files {
		if best[f.h.Shard] != i {
			sum.Ignored = append(sum.Ignored, f.path)
		}
	}
	sum.Coverage = float64(sum.Present) / float64(sum.Count)
	if len(sum.Missing) > 0 {
		cover := fmt.Sprintf("%d/%d", sum.Present, sum.Count)
		if !m.AllowPartial {
			return nil, fmt.Errorf("analyze: run %s is missing shard%s %s (%s present): give every shard's file (a directory or a glob takes them all), or --allow-partial to analyse %s of the load",
				sum.RunID, plural(len(sum.Missing)), indexList(sum.Missing), cover, cover)
		}
		run.warnings = append(run.warnings, fmt.Sprintf("shard%s %s of run %s missing: the analysis covers %s of the load (--allow-partial)",
			plural(len(sum.Missing)), indexList(sum.Missing), sum.RunID, cover))
	}
	for _, f := range kept {
		sf := ShardFile{Index: f.h.Shard, Path: f.path, Complete: f.complete, LateStartMS: msOf(f.h.LateStart)}
		if f.complete && f.t.Clock != nil {
			off := msOf(f.t.Clock.Offset)
			sf.ClockOffsetMS = &off
		}
		sum.Files = append(sum.Files, sf)
		if f.h.LateStart >= lateStartWarn {
			run.warnings = append(run.warnings, fmt.Sprintf("shard %d (%s) started %s late: the first attempts it owed were sent at once, and their latency counts from when they were due",
				f.h.Shard, f.path, f.h.LateStart.Round(time.Millisecond)))
		}
	}
	if err := skew(sum, kept, m.MaxSkew); err != nil {
		return nil, err
	}
	if sum.Count > 1 || len(files) > 1 {
		run.Summary = sum
	}
	return kept, nil
}

// lateStartWarn is how late a shard may start without a warning: less than a scheduler tick
// on a busy machine is no news.
const lateStartWarn = 10 * time.Millisecond

// skew estimates how far apart the kept shards' t=0 were on the target's clock and refuses
// the merge past maxSkew. A shard's t=0 on the target's clock is its header's start plus its
// clock offset (target − generator, from the Date header of its first responses); when some
// shard has no offset, only the starts are compared, and the summary says so.
func skew(sum *ShardSummary, kept []shardFile, maxSkew time.Duration) error {
	if len(kept) < 2 {
		return nil
	}
	if maxSkew == 0 {
		maxSkew = DefaultMaxSkew
	}
	dated := true
	for _, f := range kept {
		if !f.complete || f.t.Clock == nil {
			dated = false
		}
	}
	sum.SkewSource = skewFromStart
	if dated {
		sum.SkewSource = skewFromDate
	}
	t0 := func(f shardFile) int64 {
		t := f.h.Start.UnixNano()
		if dated {
			t += int64(f.t.Clock.Offset)
		}
		return t
	}
	lo, hi := kept[0], kept[0]
	var uncs []time.Duration
	for _, f := range kept {
		if t0(f) < t0(lo) {
			lo = f
		}
		if t0(f) > t0(hi) {
			hi = f
		}
		if dated {
			uncs = append(uncs, f.t.Clock.Uncertainty)
		}
	}
	spread := time.Duration(t0(hi) - t0(lo))
	var unc time.Duration
	if dated {
		slices.Sort(uncs)
		unc = uncs[len(uncs)-1] + uncs[len(uncs)-2]
	}
	v := msOf(spread)
	sum.SkewMS, sum.SkewUncertaintyMS = &v, msOf(unc)
	if maxSkew > 0 && spread-unc > maxSkew {
		how := "on the target's clock (±" + unc.Round(time.Millisecond).String() + ", from its Date header)"
		if !dated {
			how = "by their recorded starts"
		}
		return fmt.Errorf("analyze: clock skew: shard %d (%s) started %s after shard %d (%s) %s, more than --max-skew %s: synchronise the generators' clocks (NTP) and give every shard the same --start-at, or raise --max-skew",
			hi.h.Shard, hi.path, spread.Round(time.Millisecond), lo.h.Shard, lo.path, how, maxSkew)
	}
	return nil
}

// checkLegacy merges files written before run ids, by the rules of then: same profile and
// client groups, starts within maxShardSkew, and no shard index twice.
func (run *Run) checkLegacy(files []shardFile) ([]shardFile, error) {
	first := files[0]
	seen := map[int]string{}
	for _, f := range files {
		if d := f.h.Start.Sub(first.h.Start).Abs(); d > maxShardSkew {
			return nil, fmt.Errorf("analyze: %s started %s apart from %s: not shards of one run",
				f.path, d.Round(time.Second), first.path)
		}
		if len(files) > 1 {
			if prev, dup := seen[f.h.Shard]; dup {
				return nil, fmt.Errorf("analyze: %s and %s are both shard %d: the same shard twice would count its requests twice",
					prev, f.path, f.h.Shard)
			}
			seen[f.h.Shard] = f.path
		}
	}
	if len(files) > 1 {
		sum := &ShardSummary{Count: len(files), Present: len(files), Missing: []int{}, Ignored: []string{}, Coverage: 1}
		for _, f := range files {
			sum.Files = append(sum.Files, ShardFile{Index: f.h.Shard, Path: f.path, Complete: f.complete})
		}
		run.Summary = sum
	}
	return files, nil
}

// sameProfile compares the profiles as run (after scaling, with the seed used).
func sameProfile(a, b results.Header) bool {
	ja, err1 := json.Marshal(a.Profile)
	jb, err2 := json.Marshal(b.Profile)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func copyState(f shardFile) string {
	if f.complete {
		return fmt.Sprintf("complete, %d attempts", f.t.Attempts)
	}
	return fmt.Sprintf("cut short, %d bytes", f.size)
}

func indexList(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
