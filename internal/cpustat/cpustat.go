// Package cpustat samples how busy the machine's CPUs and this process are while an attack
// runs. A load generator that saturates its own machine measures itself, not the target; the
// samples let the analysis say so.
package cpustat

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Sample is one interval's CPU use.
type Sample struct {
	// T is the interval's end, in seconds from the run's start.
	T float64 `json:"t"`
	// Machine is the fraction of all CPUs' time spent busy (0–1); -1 when the system does
	// not say (no /proc/stat).
	Machine float64 `json:"machine"`
	// Process is CPU time this process used, in cores (1.5 = one and a half cores busy).
	Process float64 `json:"process"`
}

// Sampler takes a Sample every interval until Stop.
type Sampler struct {
	stop    chan struct{}
	done    chan struct{}
	samples []Sample
}

// Start samples every interval, counting T from start.
func Start(start time.Time, interval time.Duration) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(start, interval)
	return s
}

// Stop ends sampling and returns the samples taken.
func (s *Sampler) Stop() []Sample {
	close(s.stop)
	<-s.done
	return s.samples
}

func (s *Sampler) loop(start time.Time, interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	prevWall := time.Now()
	prevBusy, prevTotal, machineOK := machineTimes()
	prevProc := processTime()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			busy, total, ok := machineTimes()
			proc := processTime()
			smp := Sample{T: now.Sub(start).Seconds(), Machine: -1}
			if ok && machineOK && total > prevTotal {
				smp.Machine = float64(busy-prevBusy) / float64(total-prevTotal)
			}
			if wall := now.Sub(prevWall); wall > 0 {
				smp.Process = float64(proc-prevProc) / float64(wall)
			}
			s.samples = append(s.samples, smp)
			prevWall, prevBusy, prevTotal, prevProc, machineOK = now, busy, total, proc, ok
		}
	}
}

// processTime is the user plus system CPU time this process has used.
func processTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineTimes reads the aggregate CPU line of /proc/stat: busy and total jiffies.
func machineTimes() (busy, total uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		return 0, 0, false
	}
	busy, total, err = parseCPULine(line)
	return busy, total, err == nil
}

// parseCPULine reads "cpu  user nice system idle iowait irq softirq steal …": idle and iowait
// are the idle time, the rest busy.
func parseCPULine(line []byte) (busy, total uint64, err error) {
	fields := bytes.Fields(line)
	if len(fields) < 5 || string(fields[0]) != "cpu" {
		return 0, 0, fmt.Errorf("not an aggregate cpu line: %q", line)
	}
	var idle uint64
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("cpu field %d: %w", i+1, err)
		}
		// guest and guest_nice (fields 9, 10) are already counted in user and nice.
		if i >= 8 {
			break
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return total - idle, total, nil
}
