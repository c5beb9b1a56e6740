package analyze

import (
	"container/heap"
	"errors"
	"io"

	"github.com/stormtest/stormtest/results"
)

// source is what a merger reads from: a *results.Reader, or a fake in tests.
type source interface {
	Next(*results.Record) error
}

// merger yields the records of several sources in End order (a k-way merge: each source is
// assumed to be roughly in End order already, as the writer produces it). When a source fails
// with anything but io.EOF, stopped decides: nil drops that source and carries on (damage
// ends one file, not the analysis), an error aborts the merge with it.
type merger struct {
	srcs    []source
	h       heads
	stopped func(i int, err error) error
	started bool
	last    int // the source whose record next returned last; -1 before the first
}

func newMerger(srcs []source, stopped func(i int, err error) error) *merger {
	return &merger{srcs: srcs, h: heads{recs: make([]results.Record, len(srcs))}, stopped: stopped, last: -1}
}

// next fills rec with the next record in End order; ok is false once every source is done.
func (m *merger) next(rec *results.Record) (ok bool, err error) {
	h := &m.h
	if !m.started {
		m.started = true
		for i, s := range m.srcs {
			ok, err := pull(s, &h.recs[i], i, m.stopped)
			if err != nil {
				return false, err
			}
			if ok {
				h.order = append(h.order, i)
			}
		}
		heap.Init(h)
	} else if m.last >= 0 {
		// The record returned last is consumed: advance its source.
		i := m.last
		m.last = -1
		ok, err := pull(m.srcs[i], &h.recs[i], i, m.stopped)
		if err != nil {
			return false, err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	if h.Len() == 0 {
		return false, nil
	}
	m.last = h.order[0]
	*rec = h.recs[m.last]
	return true, nil
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
