package analyze

import (
	"errors"
	"io"
	"testing"

	"github.com/stormtest/stormtest/results"
)

// fakeSource yields records with the given End times (Intended = end, no latency), then err
// (io.EOF when nil).
type fakeSource struct {
	ends []int64
	err  error
}

func (f *fakeSource) Next(r *results.Record) error {
	if len(f.ends) == 0 {
		if f.err != nil {
			err := f.err
			f.err = nil
			return err
		}
		return io.EOF
	}
	*r = results.Record{Intended: f.ends[0], RequestID: uint64(f.ends[0])}
	f.ends = f.ends[1:]
	return nil
}

// drain visits every record m yields, until it is done or fails.
func drain(m *merger, visit func(*results.Record)) error {
	var rec results.Record
	for {
		ok, err := m.next(&rec)
		if err != nil || !ok {
			return err
		}
		visit(&rec)
	}
}

func TestMerge(t *testing.T) {
	damage := &results.DamageError{Offset: 10, Records: 2, Reason: "torn block"}
	srcs := []source{
		&fakeSource{ends: []int64{1, 4, 9}},
		&fakeSource{ends: []int64{2, 3}, err: damage},
		&fakeSource{},
		&fakeSource{ends: []int64{0, 5, 6, 7}},
	}
	var got []int64
	var stoppedAt []int
	err := drain(newMerger(srcs, func(i int, err error) error {
		stoppedAt = append(stoppedAt, i)
		if !errors.Is(err, damage) {
			t.Errorf("source %d stopped with %v", i, err)
		}
		return nil
	}), func(r *results.Record) { got = append(got, r.End()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 9}
	if len(got) != len(want) {
		t.Fatalf("merged %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("merged %v, want %v", got, want)
		}
	}
	if len(stoppedAt) != 1 || stoppedAt[0] != 1 {
		t.Errorf("stopped sources %v, want [1]", stoppedAt)
	}
}

func TestMergeAborts(t *testing.T) {
	boom := errors.New("disk on fire")
	srcs := []source{&fakeSource{ends: []int64{1, 2}}, &fakeSource{ends: []int64{1}, err: boom}}
	n := 0
	err := drain(newMerger(srcs, func(i int, err error) error { return err }), func(*results.Record) { n++ })
	if !errors.Is(err, boom) {
		t.Errorf("merge returned %v, want the source's error", err)
	}
}
