package analyze

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 µs to 1 h at 3 significant digits. Values outside are clamped rather
// than rejected, because a rejected value costs an error allocation on the hot path and an
// hour-long attempt is already off every chart.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// newHist allocates a histogram and counts it, so tests can check that the number of live
// histograms does not grow with the number of records.
func (a *Analyzer) newHist() *hdr.Histogram {
	a.liveHists++
	return hdr.New(histLowest, histHighest, histDigits)
}

// micros converts a duration to a recordable histogram value.
func micros(d time.Duration) int64 {
	v := int64(d / time.Microsecond)
	return min(max(v, 0), histHighest)
}

// record adds one value; the value is always in range (micros clamps), so the error that
// RecordValue returns for out-of-range values cannot happen.
func record(h *hdr.Histogram, us int64) { _ = h.RecordValue(us) }

// ms converts a histogram value (µs) to milliseconds.
func ms(us int64) float64 { return float64(us) / 1e3 }

func summarize(h *hdr.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count: uint64(h.TotalCount()),
		Mean:  h.Mean() / 1e3,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}
