package analyze

import (
	"container/heap"
	"errors"
	"io"

	"github.com/stormtest/stormtest/results"
)

// source is what merge reads from: a *results.Reader, or a fake in tests.
type source interface {
	Next(*results.Record) error
}

// merge feeds visit the records of every source in End order (a k-way merge: each source is
// assumed to be roughly in End order already, as the writer produces it). When a source fails
// with anything but io.EOF, stopped decides: nil drops that source and carries on (damage
// ends one file, not the analysis), an error aborts the merge with it.
func merge(srcs []source, visit func(*results.Record), stopped func(i int, err error) error) error {
	h := &heads{recs: make([]results.Record, len(srcs))}
	for i, s := range srcs {
		ok, err := pull(s, &h.recs[i], i, stopped)
		if err != nil {
			return err
		}
		if ok {
			h.order = append(h.order, i)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		i := h.order[0]
		visit(&h.recs[i])
		ok, err := pull(srcs[i], &h.recs[i], i, stopped)
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

// pull reads source i's next record; ok is false when the source is done.
func pull(s source, rec *results.Record, i int, stopped func(int, error) error) (ok bool, err error) {
	switch err := s.Next(rec); {
	case err == nil:
		return true, nil
	case errors.Is(err, io.EOF):
		return false, nil
	default:
		return false, stopped(i, err)
	}
}

// heads is a min-heap of source indices ordered by the End of each source's current record.
type heads struct {
	recs  []results.Record
	order []int
}

func (h *heads) Len() int { return len(h.order) }
func (h *heads) Less(a, b int) bool {
	ea, eb := h.recs[h.order[a]].End(), h.recs[h.order[b]].End()
	if ea != eb {
		return ea < eb
	}
	return h.order[a] < h.order[b] // equal ends: lower file first, so the order is deterministic
}
func (h *heads) Swap(a, b int) { h.order[a], h.order[b] = h.order[b], h.order[a] }
func (h *heads) Push(x any)    { h.order = append(h.order, x.(int)) }
func (h *heads) Pop() any {
	n := len(h.order) - 1
	x := h.order[n]
	h.order = h.order[:n]
	return x
}
