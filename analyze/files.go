package analyze

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stormtest/stormtest/results"
)

// maxShardSkew is how far apart the start times of files without a run id (written before
// shards had one) may be. Files further apart are separate runs of the same profile.
const maxShardSkew = time.Minute

// Files analyses one run from its results files with the strict merge rules of Merge: one
// file, or every shard of one run.
func Files(paths []string, opt Options) (*Report, error) {
	return Merge(paths, opt, MergeOptions{})
}

// Merge analyses one run from args, each a results file, a directory of them or a glob
// (Expand), merged by Open into one stream: N shards are, for the analysis, exactly one run. A
// damaged or cut-short file yields warnings, not an error; a file that cannot be read, or
// that Open refuses (another run, a missing shard without AllowPartial, clocks too far apart),
// is an error of one line naming it.
func Merge(args []string, opt Options, m MergeOptions) (*Report, error) {
	if len(args) == 0 {
		return nil, errors.New("analyze: no results files given")
	}
	// Checked before any file is opened; zero fields take their defaults first.
	if err := opt.withDefaults().Validate(); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	run, err := Open(args, m)
	if err != nil {
		return nil, err
	}
	defer run.Close()
	a := NewAnalyzer(opt)
	_, damage, err := results.Copy(a, run)
	if err != nil {
		return nil, err
	}
	run.annotate(a)
	a.warnings = append(a.warnings, run.Warnings()...)
	rep := a.Report(damage)
	rep.Shards = run.Summary
	return rep, nil
}

// shards is the merge of the results files of one run: a results.Source whose records come
// in End order across the files. Damage ends one file, not the stream: it is returned, joined
// with the other files' and each naming its file, once every intact record has been read.
// Its trailer sums the files' (see Trailer); what concerns one file (its CPU samples, a
// missing trailer) is added to the analysis by annotate.
type shards struct {
	paths   []string
	readers []*results.Reader
	header  results.Header
	m       *merger
	damage  []error
	done    bool
}

func newShards(paths []string, readers []*results.Reader, h results.Header) *shards {
	s := &shards{paths: paths, readers: readers, header: h}
	srcs := make([]source, len(readers))
	for i, r := range readers {
		srcs[i] = r
	}
	s.m = newMerger(srcs, func(i int, err error) error {
		var de *results.DamageError
		if errors.As(err, &de) {
			s.damage = append(s.damage, fmt.Errorf("%s: %w", paths[i], err))
			return nil
		}
		return fmt.Errorf("analyze: reading %s: %w", paths[i], err)
	})
	return s
}

// Header is the header the files are analysed under (mergeHeaders).
func (s *shards) Header() results.Header { return s.header }

// Next implements results.Source.
func (s *shards) Next(rec *results.Record) error {
	if s.done {
		return io.EOF
	}
	ok, err := s.m.next(rec)
	if err != nil {
		s.done = true
		return err
	}
	if ok {
		return nil
	}
	s.done = true
	if len(s.damage) > 0 {
		return errors.Join(s.damage...)
	}
	return io.EOF
}

// OnScrape implements results.ScrapeSource: every file's scrapes reach f, their endpoint
// renumbered into the merged header's list (the union of the files', mergeHeaders).
func (s *shards) OnScrape(f func(*results.Scrape) error) {
	for _, r := range s.readers {
		own := r.Header().Scrape
		remap := make([]uint8, len(own))
		for k, ep := range own {
			if j := slices.Index(s.header.Scrape, ep); j >= 0 {
				remap[k] = uint8(j)
			}
		}
		r.OnScrape(func(sc *results.Scrape) error {
			if int(sc.Endpoint) >= len(remap) {
				return f(sc) // an endpoint the header does not list: named by its number
			}
			sc.Endpoint = remap[sc.Endpoint]
			for i := range sc.Samples {
				sc.Samples[i].Series.Endpoint = sc.Endpoint
			}
			return f(sc)
		})
	}
}

// Trailer sums the trailers of the files, without their CPU samples (annotate adds those per
// file). ok is false when no file has one.
func (s *shards) Trailer() (results.Trailer, bool) {
	var t results.Trailer
	var reasons []string
	have := 0
	for _, r := range s.readers {
		ti, ok := r.Trailer()
		if !ok {
			continue
		}
		have++
		if ti.End.After(t.End) {
			t.End = ti.End
		}
		if ti.Interrupted {
			t.Interrupted = true
			if ti.Reason != "" && !slices.Contains(reasons, ti.Reason) {
				reasons = append(reasons, ti.Reason)
			}
		}
		t.Requests += ti.Requests
		t.Attempts += ti.Attempts
		t.UnsentRetries += ti.UnsentRetries
		t.RedirectHops += ti.RedirectHops
		t.Connections += ti.Connections
		for k, v := range ti.Protocols {
			if t.Protocols == nil {
				t.Protocols = map[string]uint64{}
			}
			t.Protocols[k] += v
		}
		// Only the first generator makes trigger calls; the union is the run's.
		t.Triggers = append(t.Triggers, ti.Triggers...)
	}
	t.Reason = strings.Join(reasons, "; ")
	return t, have > 0
}

// annotate adds to the analysis what concerns one file: its generator machine's CPU samples,
// named after it, and, for several files, a warning for each without a trailer. When only
// some have one, it tells the Analyzer not to check the summed counts. Call it after Copy.
func (s *shards) annotate(a *Analyzer) {
	have := 0
	for i, r := range s.readers {
		ti, ok := r.Trailer()
		if !ok {
			if len(s.readers) > 1 {
				a.warnings = append(a.warnings, fmt.Sprintf("%s has no trailer: it was cut short (crash, kill -9 or a truncated copy)", s.paths[i]))
			}
			continue
		}
		have++
		a.AddCPU(s.paths[i], ti.CPU)
	}
	a.trailerPartial = have > 0 && have < len(s.readers)
}
