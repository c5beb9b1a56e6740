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

// maxShardSkew is how far apart the start times of shards of one run may be. Files further
// apart are separate runs of the same profile, and merging them would be meaningless.
const maxShardSkew = time.Minute

// Files analyses one run from its results files: one file, or several shards of the same run
// (same profile name), merged on attempt end time. A damaged or cut-short file yields
// warnings, not an error; a file that cannot be read at all, or does not belong to the same
// run as the first, is an error naming it.
func Files(paths []string, opt Options) (*Report, error) {
	if len(paths) == 0 {
		return nil, errors.New("analyze: no results files given")
	}
	// Checked before any file is opened; zero fields take their defaults first.
	if err := opt.withDefaults().Validate(); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	readers := make([]*results.Reader, 0, len(paths))
	defer func() {
		for _, r := range readers {
			r.Close() // read-only: a close error loses nothing
		}
	}()
	for _, p := range paths {
		r, err := results.Open(p)
		if err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		readers = append(readers, r)
	}
	h, err := mergeHeaders(paths, readers)
	if err != nil {
		return nil, err
	}

	src := newShards(paths, readers, h)
	a := NewAnalyzer(opt)
	_, damage, err := results.Copy(a, src)
	if err != nil {
		return nil, err
	}
	src.annotate(a)
	return a.Report(damage), nil
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

// mergeHeaders checks that the files are shards of one run and returns the header to
// analyse them under: the first file's, with the earliest start as time zero.
func mergeHeaders(paths []string, readers []*results.Reader) (results.Header, error) {
	h := readers[0].Header()
	shards := map[int]string{}
	for i, r := range readers {
		hi := r.Header()
		if hi.Profile.Name != h.Profile.Name {
			return h, fmt.Errorf("analyze: %s ran profile %q but %s ran %q: not shards of one run",
				paths[i], hi.Profile.Name, paths[0], h.Profile.Name)
		}
		if d := hi.Start.Sub(h.Start).Abs(); d > maxShardSkew {
			return h, fmt.Errorf("analyze: %s started %s apart from %s: not shards of one run",
				paths[i], d.Round(time.Second), paths[0])
		}
		if !slices.Equal(hi.Groups, h.Groups) {
			return h, fmt.Errorf("analyze: %s has client groups %v but %s has %v: not shards of one run",
				paths[i], hi.Groups, paths[0], h.Groups)
		}
		if len(readers) > 1 {
			if prev, dup := shards[hi.Shard]; dup {
				return h, fmt.Errorf("analyze: %s and %s are both shard %d: the same shard twice would count its requests twice",
					prev, paths[i], hi.Shard)
			}
			shards[hi.Shard] = paths[i]
		}
		if hi.Start.Before(h.Start) {
			h.Start = hi.Start
		}
	}
	return h, nil
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
