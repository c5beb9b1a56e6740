package simservice

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stormtest/stormtest/internal/testfix"
)

// fixedService is a serviceModel with a constant service time.
type fixedService time.Duration

func (f fixedService) ServiceTime(int) time.Duration { return time.Duration(f) }

// enqueue starts acquirers one at a time, each only once the previous one is queued, so their
// arrival order is known. Each records its id once granted and runs then(id).
func enqueue(t *testing.T, db *database, ctxs []context.Context, then func(id int, err error)) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for id, ctx := range ctxs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			then(id, db.acquire(ctx))
		}()
		testfix.WaitUntil(t, 5*time.Second, "the waiter to queue", func() bool { return db.stats().queueDepth == id+1 })
	}
	return &wg
}

func TestDatabaseFIFO(t *testing.T) {
	tests := []struct {
		name      string
		waiters   int
		cancelled []int // waiters whose context ends while queued
	}{
		{"plain", 10, nil},
		{"with departures", 10, []int{0, 4, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newDatabase(1, 0, fixedService(0))
			defer db.close()
			if err := db.acquire(context.Background()); err != nil { // hold the only connection
				t.Fatal(err)
			}
			ctxs := make([]context.Context, tt.waiters)
			cancels := make([]context.CancelFunc, tt.waiters)
			for i := range ctxs {
				ctxs[i], cancels[i] = context.WithCancel(context.Background())
				defer cancels[i]()
			}
			var mu sync.Mutex
			var order []int
			var canceled []int
			wg := enqueue(t, db, ctxs, func(id int, err error) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					order = append(order, id)
					db.release()
				case errors.Is(err, context.Canceled):
					canceled = append(canceled, id)
				default:
					t.Errorf("waiter %d: acquire = %v", id, err)
				}
			})
			for _, id := range tt.cancelled {
				cancels[id]()
			}
			want := tt.waiters - len(tt.cancelled)
			testfix.WaitUntil(t, 5*time.Second, "departed waiters to leave the queue", func() bool { return db.stats().queueDepth == want })
			db.release()
			wg.Wait()

			var wantOrder []int
			for i := range tt.waiters {
				if !slices.Contains(tt.cancelled, i) {
					wantOrder = append(wantOrder, i)
				}
			}
			slices.Sort(canceled)
			if !slices.Equal(order, wantOrder) {
				t.Errorf("grant order = %v, want %v", order, wantOrder)
			}
			if !slices.Equal(canceled, tt.cancelled) {
				t.Errorf("canceled waiters = %v, want %v", canceled, tt.cancelled)
			}
			if st := db.stats(); st.inUse != 0 || st.queueDepth != 0 {
				t.Errorf("after all releases in_use=%d queue=%d, want 0 and 0", st.inUse, st.queueDepth)
			}
		})
	}
}

func TestDatabaseCloseReleasesEveryone(t *testing.T) {
	db := newDatabase(2, 0, fixedService(time.Hour))
	const n = 50
	errs := make(chan error, n)
	for range n {
		go func() { errs <- db.Do(context.Background()) }()
	}
	testfix.WaitUntil(t, 5*time.Second, "2 queries running and 48 queued", func() bool {
		st := db.stats()
		return st.inUse == 2 && st.queueDepth == n-2
	})
	if st := db.stats(); st.oldestWait <= 0 {
		t.Errorf("oldest wait = %v with a queue, want > 0", st.oldestWait)
	}
	db.close()
	db.close() // idempotent
	timeout := time.After(5 * time.Second)
	for i := range n {
		select {
		case err := <-errs:
			if !errors.Is(err, errClosed) {
				t.Errorf("Do after close = %v, want errClosed", err)
			}
		case <-timeout:
			t.Fatalf("only %d of %d requests returned after close", i, n)
		}
	}
	if st := db.stats(); st.inUse != 0 || st.queueDepth != 0 || st.oldestWait != 0 {
		t.Errorf("after close in_use=%d queue=%d oldest=%v, want all 0", st.inUse, st.queueDepth, st.oldestWait)
	}
	if err := db.Do(context.Background()); !errors.Is(err, errClosed) {
		t.Errorf("Do on a closed database = %v, want errClosed", err)
	}
}
