package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// The tests change the process's GOGC, so none of them runs in parallel.

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name              string
		floor, live, root uint64
		want              int
	}{
		{"small heap: the next collection at the floor", 128 * mib, 8 * mib, 0, 1500},
		{"stacks and globals count toward the goal", 128 * mib, 8 * mib, 8 * mib, 750},
		{"tiny heap: Go's minimum goal, scaled, is the floor", 128 * mib, mib, 0, 3200},
		{"live heap at the floor: Go's default", 128 * mib, 128 * mib, 0, 100},
		{"live heap above the floor: Go's default", 128 * mib, 512 * mib, mib, 100},
		{"just under the floor: never below the default", 128 * mib, 100 * mib, 0, 100},
		{"nothing measured yet: the minimum goal at the floor", 128 * mib, 0, 0, 3200},
		{"a floor under Go's minimum: the default", 2 * mib, 0, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percent(tt.floor, tt.live, tt.root); got != tt.want {
				t.Errorf("Percent(%d, %d, %d) = %d, want %d", tt.floor, tt.live, tt.root, got, tt.want)
			}
		})
	}
}

func readUint(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// churn allocates n bytes of short-lived garbage and reports how many collections ran
// meanwhile and the largest heap goal seen.
func churn(n int) (cycles, maxGoal uint64) {
	start := readUint("/gc/cycles/total:gc-cycles")
	var keep []byte
	for i := 0; i < n/4096; i++ {
		keep = make([]byte, 4096)
		keep[0] = byte(i)
		if i%256 == 0 {
			maxGoal = max(maxGoal, readUint("/gc/heap/goal:bytes"))
		}
	}
	runtime.KeepAlive(keep)
	return readUint("/gc/cycles/total:gc-cycles") - start, maxGoal
}

func TestFloorSpacesCollections(t *testing.T) {
	const floor = 64 << 20
	const garbage = 512 << 20
	runtime.GC()
	without, _ := churn(garbage)

	f := Start(floor)
	defer f.Stop()
	runtime.GC() // the first tune after a collection
	with, goal := churn(garbage)

	t.Logf("collections over %d MiB of garbage: %d with Go's default, %d with a %d MiB floor (largest goal %d MiB)",
		garbage>>20, without, with, floor>>20, goal>>20)
	// 512 MiB over a 64 MiB floor is 8 collections; Go's default on this test's few MB of live
	// heap runs one per 4 MB or so.
	if with > 12 {
		t.Errorf("%d collections with the floor, want at most 12", with)
	}
	if without < 3*with {
		t.Errorf("%d collections without the floor and %d with it: the floor did not space them", without, with)
	}
	// A collection's goal is set by the runtime at mark termination, with the GOGC tuned after
	// the collection before it; what the churn allocated while this one marked counts as live.
	// On a loaded machine (the race detector, every package's tests at once in CI) marking is
	// slow, and one goal passed the floor by half (98 MiB over 64). Go's default would have let
	// this churn's heap reach 4 MiB per collection; the bound here is the floor's own scale.
	if goal > floor*7/4 {
		t.Errorf("heap goal reached %d MiB, want about the floor (%d MiB)", goal>>20, floor>>20)
	}
}

func TestFloorFollowsALargeLiveHeap(t *testing.T) {
	const floor = 16 << 20
	live := make([][]byte, 48)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	f := Start(floor)
	defer f.Stop()
	waitPercent(t, 100)
	runtime.KeepAlive(live)
}

func TestStopPutsGOGCBack(t *testing.T) {
	old := debug.SetGCPercent(150)
	defer debug.SetGCPercent(old)

	f := Start(256 << 20)
	waitPercent(t, -150) // anything but 150: the floor set its own
	f.Stop()
	if got := readUint("/gc/gogc:percent"); got != 150 {
		t.Fatalf("GOGC after Stop = %d, want 150", got)
	}
	// The sentinel armed last is finalized after this collection; it must not tune again.
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if got := readUint("/gc/gogc:percent"); got != 150 {
		t.Fatalf("GOGC after Stop and two collections = %d, want 150", got)
	}
	f.Stop() // twice is harmless
}

func TestZeroFloorLeavesGOGC(t *testing.T) {
	old := debug.SetGCPercent(170)
	defer debug.SetGCPercent(old)
	f := Start(0)
	runtime.GC()
	if got := readUint("/gc/gogc:percent"); got != 170 {
		t.Fatalf("GOGC with a zero floor = %d, want 170", got)
	}
	f.Stop()
	if got := readUint("/gc/gogc:percent"); got != 170 {
		t.Fatalf("GOGC after stopping a zero floor = %d, want 170", got)
	}
}

// waitPercent collects until GOGC is want (or, for a negative want, anything but -want): the
// floor tunes on the finalizer goroutine after a collection.
func waitPercent(t *testing.T, want int) {
	t.Helper()
	var got uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		got = readUint("/gc/gogc:percent")
		if want >= 0 && got == uint64(want) || want < 0 && got != uint64(-want) {
			return
		}
	}
	t.Fatalf("GOGC = %d after 5 s of collections, want %d", got, want)
}
