package attack

// minHeap is a binary heap ordered by before. The scheduler keeps its retries and its idle
// closed-loop users in one each; unlike container/heap it stores values, not interfaces, so a
// push does not allocate once the slice has grown.
type minHeap[T any] struct {
	items  []T
	before func(a, b T) bool
}

func (h *minHeap[T]) push(x T) {
	h.items = append(h.items, x)
	for i := len(h.items) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.before(h.items[i], h.items[parent]) {
			break
		}
		h.items[i], h.items[parent] = h.items[parent], h.items[i]
		i = parent
	}
}

// pop removes and returns the first item; the heap must not be empty.
func (h *minHeap[T]) pop() T {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items = h.items[:n]
	for i := 0; ; {
		l, r, first := 2*i+1, 2*i+2, i
		if l < n && h.before(h.items[l], h.items[first]) {
			first = l
		}
		if r < n && h.before(h.items[r], h.items[first]) {
			first = r
		}
		if first == i {
			return top
		}
		h.items[i], h.items[first] = h.items[first], h.items[i]
		i = first
	}
}
