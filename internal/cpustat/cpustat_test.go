package cpustat

import (
	"runtime"
	"testing"
	"time"
)

func TestParseCPULine(t *testing.T) {
	cases := []struct {
		line        string
		busy, total uint64
		wantErr     bool
	}{
		{"cpu  100 0 50 800 50 0 0 0 0 0\n", 150, 1000, false},
		{"cpu  10 5 5 70 10 0 0 0 30 30\n", 20, 100, false}, // guest time is not counted twice
		{"cpu0 1 2 3 4 5\n", 0, 0, true},
		{"cpu  x 2 3 4 5\n", 0, 0, true},
		{"intr 1\n", 0, 0, true},
	}
	for _, tc := range cases {
		busy, total, err := parseCPULine([]byte(tc.line))
		if (err != nil) != tc.wantErr || busy != tc.busy || total != tc.total {
			t.Errorf("parseCPULine(%q) = %d, %d, %v; want %d, %d, error %v", tc.line, busy, total, err, tc.busy, tc.total, tc.wantErr)
		}
	}
}

func TestSamplerSeesThisProcessBurnCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time sampling")
	}
	s := Start(time.Now(), 50*time.Millisecond)
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++ // keep one core busy
	}
	runtime.KeepAlive(x)
	samples := s.Stop()
	if len(samples) < 3 {
		t.Fatalf("%d samples in 300 ms at 50 ms intervals", len(samples))
	}
	var peak float64
	for _, smp := range samples {
		peak = max(peak, smp.Process)
		if smp.Machine > 1.0001 || (smp.Machine < 0 && smp.Machine != -1) {
			t.Fatalf("machine busy fraction %v out of range", smp.Machine)
		}
	}
	if peak < 0.5 {
		t.Fatalf("a busy loop on one core showed at most %.2f cores of process CPU", peak)
	}
}
