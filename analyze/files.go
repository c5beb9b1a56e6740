package analyze

import (
	"errors"
	"fmt"
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

	a := New(h, opt)
	srcs := make([]source, len(readers))
	for i, r := range readers {
		srcs[i] = r
	}
	var damage []error
	err = merge(srcs, a.Add, func(i int, err error) error {
		var de *results.DamageError
		if errors.As(err, &de) {
			damage = append(damage, fmt.Errorf("%s: %w", paths[i], err))
			return nil
		}
		return fmt.Errorf("analyze: reading %s: %w", paths[i], err)
	})
	if err != nil {
		return nil, err
	}
	t := mergeTrailers(a, paths, readers)
	return a.Finish(t, errors.Join(damage...)), nil
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

// mergeTrailers sums the trailers of the files. It returns nil when no file has one; when
// only some have, it warns about the others and tells the Analyzer not to check counts.
func mergeTrailers(a *Analyzer, paths []string, readers []*results.Reader) *results.Trailer {
	var t results.Trailer
	var reasons []string
	have := 0
	for i, r := range readers {
		ti, ok := r.Trailer()
		if !ok {
			if len(readers) > 1 {
				a.warnings = append(a.warnings, fmt.Sprintf("%s has no trailer: it was cut short (crash, kill -9 or a truncated copy)", paths[i]))
			}
			continue
		}
		have++
		a.AddCPU(paths[i], ti.CPU)
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
	}
	if have == 0 {
		return nil
	}
	t.Reason = strings.Join(reasons, "; ")
	a.trailerPartial = have < len(readers)
	return &t
}
