// Package hlog writes a stormtest results file as an HdrHistogram interval log (.hlog),
// the text format that HdrHistogram's Java HistogramLogProcessor, hdr-histogram-js,
// HdrHistogramVisualizer and similar tools read: one compressed latency histogram per time
// interval, tagged with the profile phase it belongs to, plus an untagged one per interval
// for the whole run.
//
// The lines are written here rather than with hdrhistogram-go's HistogramLogWriter: in
// v1.4.0 its StartTime and BaseTime lines carry whole seconds only and it scales
// Interval_Max by a fixed nanoseconds-to-milliseconds ratio through options that cannot be
// set from outside the package, while stormtest records microseconds. The histogram
// payload is hdrhistogram-go's own V2 compressed encoding.
//
// The log is written by a results.Sink (Sink), so it can be fed a run as it is recorded as
// well as a recorded one (Write, through results.Copy).
package hlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormtest/stormtest/results"
)

// The histograms' range and precision: latencies are recorded in microseconds from 1 µs to
// one hour with 3 significant digits. Latencies outside are clamped to the range so that
// every attempt is counted.
const (
	LowestMicros  = 1
	HighestMicros = int64(time.Hour / time.Microsecond)
	SigFigs       = 3
)

// maxOpenIntervals bounds how many intervals are kept open waiting for stragglers, which
// bounds memory (each open interval holds up to one ~190 KB histogram per phase plus one
// for the whole run) whatever the run's length or the interval.
const maxOpenIntervals = 64

// maxGapLines bounds the empty lines written for one gap between intervals with attempts.
// FuzzRoundTrip found that three records days apart made Write emit ~200 000 lines (two
// minutes of work); a run's own gaps are seconds long.
const maxGapLines = 3600

// lateness is how far out of completion order a record may arrive and still land in an
// interval that has not been written yet. Records reach a results file as attempts
// complete, so they are out of order only by scheduling jitter between completing and
// recording: milliseconds.
const lateness = 10 * time.Second

// NewHistogram returns a histogram with the range and precision the log uses.
func NewHistogram() *hdr.Histogram { return hdr.New(LowestMicros, HighestMicros, SigFigs) }

// Micros is the value a latency is recorded as: microseconds, rounded up so that a
// sub-microsecond latency still counts as 1 µs, and clamped to the histogram's range.
func Micros(d time.Duration) int64 {
	us := (int64(d) + int64(time.Microsecond) - 1) / int64(time.Microsecond)
	return min(max(us, LowestMicros), HighestMicros)
}

// Tag is the tag a phase's lines carry: the phase name with the characters the format
// forbids in a tag (commas, whitespace) replaced by '_', or "phase<N>" for a phase the
// header does not name.
func Tag(h results.Header, phase uint8) string {
	name := ""
	if int(phase) < len(h.Profile.Phases) {
		name = h.Profile.Phases[phase].Name
	}
	if name == "" {
		return fmt.Sprintf("phase%d", phase)
	}
	return strings.Map(func(r rune) rune {
		if r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\v' || r == '\f' {
			return '_'
		}
		return r
	}, name)
}

// Write reads every record from src and writes an interval log to w: after the header lines,
// for each interval of the given length (aligned to the run's start, Header.Start) one
// untagged line for all attempts that ended in it and one line tagged Tag=<phase> per phase
// that has attempts in it. An attempt belongs to the interval its End falls in and to the
// phase in force at its intended start. Values are Record.Latency() in microseconds;
// Interval_Max is in milliseconds. Line timestamps are absolute seconds since the epoch
// (BaseTime 0).
//
// Intervals between the first and the last with attempts get an untagged line even when
// empty, so that a reader plotting counts over time sees the gaps as zeros, up to
// maxGapLines of them per gap: a longer gap (a record stamped days away, in a damaged or
// merged file) is left as a jump in the timestamps rather than filled with one line per
// interval.
//
// Only intervals near the latest completion are kept open; an attempt that arrives after
// its interval was written (more than ~10 s out of completion order, which a results file
// does not produce) is written as a line of its own for its interval, so counts and times
// stay exact.
//
// If the file is damaged, Write logs every record before the damage and returns an error
// wrapping the *results.DamageError. src is a *results.Reader or any other results.Source;
// Write feeds it into a Sink through results.Copy.
func Write(w io.Writer, src results.Source, interval time.Duration) error {
	s, err := NewSink(w, interval)
	if err != nil {
		return err
	}
	_, damage, err := results.Copy(s, src)
	if err != nil {
		if err != s.err { // the sink's errors say what failed; a read error does not
			err = fmt.Errorf("hlog: reading results: %w", err)
		}
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if damage != nil {
		return fmt.Errorf("hlog: results file %w (logged the records before the damage)", damage)
	}
	return nil
}

// Sink writes a run's attempt stream as an interval log while it comes, as Write describes:
// a results.Sink. Begin writes the log's header lines, Write adds an attempt, End writes the
// intervals still open and flushes. A stream that ends without End (cut short) must be
// finished with Close.
type Sink struct {
	w        io.Writer
	interval time.Duration
	lw       *logWriter
	closed   bool
	err      error // the first error the sink returned
}

// NewSink returns a Sink that logs to w in intervals of the given length (at least 1 ms).
func NewSink(w io.Writer, interval time.Duration) (*Sink, error) {
	if interval < time.Millisecond {
		return nil, fmt.Errorf("hlog: interval %s is shorter than the log's 1 ms resolution", interval)
	}
	return &Sink{w: w, interval: interval}, nil
}

// Begin writes the header lines for a run with header h.
func (s *Sink) Begin(h results.Header) error {
	lw := &logWriter{
		out:      bufio.NewWriterSize(s.w, 64<<10),
		hdr:      h,
		interval: s.interval,
		base:     h.Start.UnixNano(),
		open:     map[int64]*window{},
		tags:     map[uint8]string{},
	}
	// Keep intervals open for `lateness`, but never more than maxOpenIntervals of them and
	// never fewer than two (the current and the one before).
	lw.keep = min(max(int64(lateness/s.interval), 1), maxOpenIntervals-1)
	s.lw = lw
	return s.fail(lw.header())
}

// Write adds one attempt.
func (s *Sink) Write(rec *results.Record) error {
	if s.lw == nil {
		return s.fail(errors.New("hlog: Write before Begin"))
	}
	return s.fail(s.lw.add(rec))
}

// End writes out the log: the trailer has no place in it.
func (s *Sink) End(results.Trailer) error { return s.Close() }

// Close writes the intervals still open and flushes; it does so once.
func (s *Sink) Close() error {
	if s.closed || s.lw == nil {
		return nil
	}
	s.closed = true
	if err := s.lw.closeUpTo(math.MaxInt64); err != nil {
		return s.fail(err)
	}
	if err := s.lw.out.Flush(); err != nil {
		return s.fail(fmt.Errorf("hlog: writing: %w", err))
	}
	return nil
}

func (s *Sink) fail(err error) error {
	if err != nil && s.err == nil {
		s.err = err
	}
	return err
}

// window is one open interval.
type window struct {
	all    *hdr.Histogram
	phases map[uint8]*hdr.Histogram
}

type logWriter struct {
	out      *bufio.Writer
	hdr      results.Header
	interval time.Duration
	base     int64 // Unix ns of interval 0's start
	keep     int64 // intervals kept open behind the newest

	open    map[int64]*window
	newest  int64 // the highest interval index seen
	written int64 // the highest interval index written
	started bool  // whether newest and written mean anything yet

	free []*hdr.Histogram // reset histograms, reused instead of allocating ~190 KB each
	// emptyPayload is the encoding of an empty histogram, computed once for the gaps.
	emptyPayload []byte
	tags         map[uint8]string // phase → tag, computed once
}

func (lw *logWriter) header() error {
	start := lw.hdr.Start
	fmt.Fprintf(lw.out, "#[Histogram log format version 1.3]\n")
	fmt.Fprintf(lw.out, "#[StartTime: %s (seconds since epoch), %s]\n",
		seconds(start.UnixNano()), start.UTC().Format("Mon Jan 02 15:04:05 MST 2006"))
	fmt.Fprintf(lw.out, "#[BaseTime: 0.000 (seconds since epoch)]\n")
	fmt.Fprintf(lw.out, "#[stormtest: profile %s, target %s; values are latency from the intended start in microseconds, Interval_Max in milliseconds]\n",
		oneLine(lw.hdr.Profile.Name), oneLine(lw.hdr.Target))
	_, err := fmt.Fprintf(lw.out, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n")
	if err != nil {
		return fmt.Errorf("hlog: writing: %w", err)
	}
	return nil
}

// index is the interval a record belongs to: the one its End falls in.
func (lw *logWriter) index(rec *results.Record) int64 {
	d := rec.End() - lw.base
	iv := int64(lw.interval)
	i := d / iv
	if d%iv < 0 { // floor, for attempts that ended before the run's start
		i--
	}
	return i
}

func (lw *logWriter) add(rec *results.Record) error {
	i := lw.index(rec)
	v := Micros(rec.Latency())
	if lw.started && i <= lw.written {
		return lw.late(i, rec.Phase, v)
	}
	win := lw.open[i]
	if win == nil {
		win = &window{all: lw.histogram(), phases: map[uint8]*hdr.Histogram{}}
		lw.open[i] = win
	}
	ph := win.phases[rec.Phase]
	if ph == nil {
		ph = lw.histogram()
		win.phases[rec.Phase] = ph
	}
	// v is clamped into the histograms' range, so recording cannot fail.
	_ = win.all.RecordValue(v)
	_ = ph.RecordValue(v)
	if !lw.started {
		lw.started, lw.newest, lw.written = true, i, i-1
	}
	if i > lw.newest {
		lw.newest = i
		return lw.closeUpTo(i - lw.keep)
	}
	return nil
}

// late writes a record whose interval was already written as lines of its own.
func (lw *logWriter) late(i int64, phase uint8, v int64) error {
	hist := lw.histogram()
	defer lw.release(hist)
	_ = hist.RecordValue(v)
	if err := lw.line(i, "", hist); err != nil {
		return err
	}
	return lw.line(i, lw.tag(phase), hist)
}

// closeUpTo writes and forgets every open interval before index end, in order.
func (lw *logWriter) closeUpTo(end int64) error {
	if !lw.started {
		return nil
	}
	idx := make([]int64, 0, len(lw.open))
	for i := range lw.open {
		if i < end {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	for _, i := range idx {
		for gap := max(lw.written+1, i-maxGapLines); gap < i; gap++ {
			if err := lw.line(gap, "", lw.empty()); err != nil {
				return err
			}
		}
		win := lw.open[i]
		if err := lw.line(i, "", win.all); err != nil {
			return err
		}
		phases := make([]uint8, 0, len(win.phases))
		for p := range win.phases {
			phases = append(phases, p)
		}
		slices.Sort(phases)
		for _, p := range phases {
			if err := lw.line(i, lw.tag(p), win.phases[p]); err != nil {
				return err
			}
			lw.release(win.phases[p])
		}
		lw.release(win.all)
		delete(lw.open, i)
		lw.written = i
	}
	return nil
}

// line writes one interval line.
func (lw *logWriter) line(i int64, tag string, hist *hdr.Histogram) error {
	var payload []byte
	var err error
	if hist.TotalCount() == 0 && lw.emptyPayload != nil {
		payload = lw.emptyPayload // a gap: every empty histogram encodes the same
	} else if payload, err = hist.Encode(hdr.V2CompressedEncodingCookieBase); err != nil {
		return fmt.Errorf("hlog: encoding a histogram: %w", err)
	} else if hist.TotalCount() == 0 {
		lw.emptyPayload = payload
	}
	if tag != "" {
		lw.out.WriteString("Tag=")
		lw.out.WriteString(tag)
		lw.out.WriteByte(',')
	}
	start := lw.base + i*int64(lw.interval)
	// Max is the histogram's (highest equivalent value, as HdrHistogram's own writers
	// report it), in milliseconds.
	_, err = fmt.Fprintf(lw.out, "%s,%s,%.3f,%s\n", seconds(start), seconds(int64(lw.interval)),
		float64(hist.Max())/1000, payload)
	if err != nil {
		return fmt.Errorf("hlog: writing: %w", err)
	}
	return nil
}

func (lw *logWriter) tag(phase uint8) string {
	t, ok := lw.tags[phase]
	if !ok {
		t = Tag(lw.hdr, phase)
		lw.tags[phase] = t
	}
	return t
}

func (lw *logWriter) histogram() *hdr.Histogram {
	if n := len(lw.free); n > 0 {
		h := lw.free[n-1]
		lw.free = lw.free[:n-1]
		return h
	}
	return NewHistogram()
}

// empty is an empty histogram for a gap's line; it stays on the free list.
func (lw *logWriter) empty() *hdr.Histogram {
	if len(lw.free) == 0 {
		lw.free = append(lw.free, NewHistogram())
	}
	return lw.free[len(lw.free)-1]
}

func (lw *logWriter) release(h *hdr.Histogram) {
	h.Reset()
	lw.free = append(lw.free, h)
}

// seconds formats Unix nanoseconds (or a duration in ns) as seconds with millisecond
// precision, the resolution of the format's timestamps, without going through a float64
// that would lose the milliseconds of a present-day timestamp's last digits.
func seconds(ns int64) string {
	ms := ns / int64(time.Millisecond)
	if ns%int64(time.Millisecond) < 0 {
		ms--
	}
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// oneLine keeps header text on its comment line.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ", "]", ")").Replace(s) }
