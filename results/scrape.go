package results

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
)

// The target's side of a run: attack --scrape reads the target's own Prometheus metrics
// during the run, and each scrape is stored in the results file as a scrape block (type 4,
// format version 2), between the record blocks, on the same clock as the records. The layout
// is in docs/results-format.md.

// MetricType is what kind of Prometheus series a sample belongs to. Counters only go up (a
// reset aside) and are read as rates; gauges are read as they are.
type MetricType uint8

// Metric types. The numbers are part of the file format: append only.
const (
	MetricGauge   MetricType = 0
	MetricCounter MetricType = 1
	// MetricUntyped is a series the endpoint did not type; it is read as a gauge.
	MetricUntyped MetricType = 2
	metricTypeCount
)

var metricTypeNames = [...]string{"gauge", "counter", "untyped"}

// String is the type's name as reports print it.
func (t MetricType) String() string {
	if int(t) < len(metricTypeNames) {
		return metricTypeNames[t]
	}
	return "unknown"
}

// Series names one scraped time series: the endpoint it came from (an index into
// Header.Scrape), its metric name and its labels in Prometheus text form, sorted by label name
// (`{instance="a", pool="db"}`, as model.LabelSet prints them; "" when it has none).
type Series struct {
	Endpoint uint8
	Type     MetricType
	Name     string
	Labels   string
}

// String is the series as PromQL would select it: name{labels}.
func (s Series) String() string { return s.Name + s.Labels }

// Sample is one value of one series in a scrape.
type Sample struct {
	Series Series
	Value  float64
}

// Scrape is one scrape of one endpoint. A failed scrape (a timeout, a refused connection, a
// 500, a body that does not parse) is a gap: Error says what happened and there are no
// samples. A scrape with more samples than fit one block spans several blocks; every block
// after the first is Continued, with the same Endpoint and At.
type Scrape struct {
	Endpoint uint8
	// At is when the scrape was sent, Unix nanoseconds on the run's clock (the records'
	// Intended times use the same one).
	At int64
	// Took is how long the scrape took, until its body was read or it failed.
	Took      time.Duration
	Error     string
	Continued bool
	Samples   []Sample
}

// ScrapeSink is implemented by a Sink that also takes the target's scraped metrics. Scrape is
// called on the Sink's one goroutine (the attack's consumer, or the goroutine running Copy),
// between Begin and End and interleaved with Write, in the order the scrapes completed. s is
// only valid during the call. A Sink that does not implement it never sees scrapes.
type ScrapeSink interface {
	Scrape(s *Scrape) error
}

// ScrapeSource is implemented by a Source whose stream carries scrapes (a *Reader, a merge of
// shards). OnScrape registers f; from then on Next calls f, on the goroutine calling Next, for
// every scrape it passes, before it returns the record that follows it in the stream; an error
// from f is returned by Next as is. Copy wires it to a ScrapeSink.
type ScrapeSource interface {
	OnScrape(f func(*Scrape) error)
}

// Limits of the scrape blocks, which bound the reader's memory whatever the file.
const (
	// MaxSeries is how many distinct series a file may define. The scraper keeps far fewer
	// (its cap per endpoint), so this only guards the reader against crafted files.
	MaxSeries = 1 << 16
	// MaxSeriesLen bounds a series' name and its labels, each. Longer series are not stored.
	MaxSeriesLen = 1024
	// MaxEndpoints is how many endpoints one run may scrape (the index is one byte).
	MaxEndpoints = 255
)

// Scrape block flag bits.
const (
	scrapeFlagError     = 0x01
	scrapeFlagContinued = 0x02
)

// scrapeTarget is the payload size at which the writer ends a scrape block and continues the
// scrape in the next one, like blockTarget for records.
const scrapeTarget = blockTarget

// maxSampleLen bounds one encoded sample: a series reference with an inline definition (type,
// two lengths and two strings of at most MaxSeriesLen), an endpoint byte and the value.
const maxSampleLen = 2*binary.MaxVarintLen32 + 2 + 2*binary.MaxVarintLen16 + 2*MaxSeriesLen + 8

// WriteScrape stores one scrape in its own block(s), after every record written before it. It
// copies what it needs from s and does no IO, like Write. Samples whose series is too long
// (MaxSeriesLen) or that would define more than MaxSeries series are left out: the scraper
// keeps far fewer, and a run never fails over the target's metrics.
func (w *Writer) WriteScrape(s *Scrape) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.cur != nil && len(w.cur) > frameLen {
		w.sealLocked() // the records before the scrape go first
	}
	samples := s.Samples
	continued := s.Continued
	for {
		if w.cur == nil {
			if err := w.acquireLocked(); err != nil {
				return err
			}
		}
		w.cur[0] = blockScrape
		w.cur, samples = w.appendScrape(w.cur, s, continued, samples)
		w.sealLocked()
		if len(samples) == 0 {
			return nil
		}
		continued = true
	}
}

// appendScrape encodes one scrape block's payload at the end of b: the scrape's header and
// as many samples as fit scrapeTarget. It returns the samples left for a continuation block.
func (w *Writer) appendScrape(b []byte, s *Scrape, continued bool, samples []Sample) ([]byte, []Sample) {
	start := len(b)
	var flags byte
	if s.Error != "" && !continued {
		flags |= scrapeFlagError
	}
	if continued {
		flags |= scrapeFlagContinued
	}
	b = append(b, flags, s.Endpoint)
	b = binary.AppendUvarint(b, zigzag(s.At-w.base))
	b = binary.AppendUvarint(b, zigzag(int64(s.Took)))
	if flags&scrapeFlagError != 0 {
		msg := clipError(s.Error)
		b = binary.AppendUvarint(b, uint64(len(msg)))
		b = append(b, msg...)
	}
	// The count goes in a fixed 4-byte slot, filled in once the samples that fit are known.
	countAt := len(b)
	b = append(b, 0, 0, 0, 0)
	n := 0
	for len(samples) > 0 && len(b)-start < scrapeTarget {
		smp := &samples[0]
		samples = samples[1:]
		sr := smp.Series
		if len(sr.Name) > MaxSeriesLen || len(sr.Labels) > MaxSeriesLen || sr.Type >= metricTypeCount {
			continue
		}
		idx, ok := w.series[sr]
		if !ok && len(w.series) >= MaxSeries {
			continue
		}
		if ok {
			b = binary.AppendUvarint(b, uint64(idx)+1)
		} else {
			w.series[Series{Endpoint: sr.Endpoint, Type: sr.Type, Name: strings.Clone(sr.Name), Labels: strings.Clone(sr.Labels)}] = uint32(len(w.series))
			b = binary.AppendUvarint(b, 0)
			b = append(b, sr.Endpoint, byte(sr.Type))
			b = binary.AppendUvarint(b, uint64(len(sr.Name)))
			b = append(b, sr.Name...)
			b = binary.AppendUvarint(b, uint64(len(sr.Labels)))
			b = append(b, sr.Labels...)
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(smp.Value))
		n++
	}
	binary.LittleEndian.PutUint32(b[countAt:], uint32(n))
	return b, samples
}

// decodeScrape decodes a scrape block's payload (r.buf) into r.scrape, adding the series it
// defines to the reader's table. Errors are damage, as for records.
func (r *Reader) decodeScrape() error {
	b := r.buf
	bad := func(p int, reason string) error {
		return r.damage(fmt.Sprintf("scrape block: %s (block byte %d)", reason, p))
	}
	if len(b) < 2 {
		return bad(0, "cut short")
	}
	flags, endpoint := b[0], b[1]
	if flags&^(scrapeFlagError|scrapeFlagContinued) != 0 {
		return bad(0, fmt.Sprintf("unknown flags %#x", flags))
	}
	p := 2
	at, p, ok := uvarint(b, p)
	if !ok {
		return bad(p, "bad time")
	}
	took, p, ok := uvarint(b, p)
	if !ok {
		return bad(p, "bad duration")
	}
	s := &r.scrape
	*s = Scrape{Endpoint: endpoint, At: r.base + unzigzag(at), Took: time.Duration(unzigzag(took)),
		Continued: flags&scrapeFlagContinued != 0, Samples: s.Samples[:0]}
	if flags&scrapeFlagError != 0 {
		n, q, ok := uvarint(b, p)
		if !ok || n > MaxErrorLen || n > uint64(len(b)-q) {
			return bad(p, "bad error message")
		}
		s.Error = string(b[q : q+int(n)])
		p = q + int(n)
	}
	if len(b)-p < 4 {
		return bad(p, "cut short")
	}
	count := binary.LittleEndian.Uint32(b[p:])
	p += 4
	// Every sample takes at least 9 bytes, so a count the payload cannot hold is damage, and
	// the slice below stays bounded by the block.
	if uint64(count)*9 > uint64(len(b)-p) {
		return bad(p, fmt.Sprintf("%d samples cannot fit the block", count))
	}
	for range count {
		ref, q, ok := uvarint(b, p)
		if !ok {
			return bad(p, "bad series reference")
		}
		p = q
		var sr Series
		if ref > 0 {
			if ref > uint64(len(r.series)) {
				return bad(p, fmt.Sprintf("series %d used before it is defined", ref-1))
			}
			sr = r.series[ref-1]
		} else {
			if len(r.series) >= MaxSeries {
				return bad(p, "more series than a file may hold")
			}
			if len(b)-p < 2 {
				return bad(p, "cut short")
			}
			sr.Endpoint, sr.Type = b[p], MetricType(b[p+1])
			p += 2
			if sr.Type >= metricTypeCount {
				return bad(p, fmt.Sprintf("unknown metric type %d", sr.Type))
			}
			var name, labels string
			if name, p, ok = lenString(b, p); !ok {
				return bad(p, "bad series name")
			}
			if labels, p, ok = lenString(b, p); !ok {
				return bad(p, "bad series labels")
			}
			sr.Name, sr.Labels = name, labels
			r.series = append(r.series, sr)
		}
		if len(b)-p < 8 {
			return bad(p, "cut short")
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[p:]))
		p += 8
		s.Samples = append(s.Samples, Sample{Series: sr, Value: v})
	}
	if p != len(b) {
		return bad(p, "bytes after the last sample")
	}
	return nil
}

// lenString decodes a varint length (at most MaxSeriesLen) and that many bytes.
func lenString(b []byte, p int) (string, int, bool) {
	n, q, ok := uvarint(b, p)
	if !ok || n > MaxSeriesLen || n > uint64(len(b)-q) {
		return "", p, false
	}
	return string(b[q : q+int(n)]), q + int(n), true
}
