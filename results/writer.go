package results

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CreateOptions tunes a Writer.
type CreateOptions struct {
	// Overwrite allows Create to replace an existing file; without it Create refuses, so a
	// rerun cannot silently destroy the results of an earlier one.
	Overwrite bool
	// FlushInterval is how often the background flusher writes out the block being filled,
	// and so how much a kill -9 can lose at most. Zero or negative means one second.
	FlushInterval time.Duration
	// Sync makes every periodic flush fsync the file, so that an OS crash or power loss
	// also loses at most FlushInterval. A killed process loses nothing written without it.
	// Close always syncs.
	Sync bool
}

// DefaultCreateOptions is what a run uses unless told otherwise: flush every second, fsync
// each flush, never overwrite. (The zero CreateOptions does not fsync periodic flushes,
// because a bool cannot tell "unset" from "false".)
func DefaultCreateOptions() CreateOptions {
	return CreateOptions{FlushInterval: time.Second, Sync: true}
}

// numBuffers is how many block buffers a Writer cycles through: one being filled while the
// others wait for or undergo IO. Write blocks only when all of them are waiting for IO,
// which bounds memory when the disk cannot keep up.
const numBuffers = 4

// errClosed is returned by Write and Flush after Close.
var errClosed = errors.New("results: writer is closed")

// Writer streams records to a results file. Write is meant for one goroutine; a background
// goroutine does all the IO, so Write never waits on the disk unless every buffer is full.
type Writer struct {
	name   string // "results: <path>" or "results": the prefix of every error
	out    io.Writer
	syncer interface{ Sync() error } // nil when out cannot be synced
	closer io.Closer                 // the file Create opened; nil for NewWriter
	opt    CreateOptions
	base   int64 // Header.Start in Unix ns: Intended deltas start from it in every block

	// mu guards everything the hot path touches. It is never held during IO.
	mu      sync.Mutex
	cur     []byte // the record block being filled, frame first; nil between blocks
	state   blockState
	table   map[string]uint32 // error message -> index
	series  map[Series]uint32 // scraped series -> index (scrape.go)
	closed  bool
	err     error // first IO error; once set, nothing more is written
	records atomic.Uint64
	curRecs uint64 // records in cur
	// written counts the records of the blocks written out whole: what a reader finds in
	// the file. After an IO error it is the true count of what was kept, where records
	// counts what was accepted (the two differ by the blocks that were lost).
	written atomic.Uint64

	free chan []byte // empty buffers
	full chan sealed // sealed blocks, oldest first, for the flusher to write

	flushReq chan chan error
	stop     chan struct{}
	done     chan struct{}

	// Owned by the flusher goroutine (and by Close once the flusher has stopped).
	off     int64 // bytes written so far
	dirty   bool  // written since the last sync
	pending [numBuffers]sealed
}

// sealed is a block handed to the flusher, with the number of records in it.
type sealed struct {
	buf     []byte
	records uint64
}

// Create creates the results file at path and writes its header. The file is created
// with O_EXCL unless opt.Overwrite is set.
func Create(path string, h Header, opt CreateOptions) (*Writer, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opt.Overwrite {
		// Only a regular file may be replaced: opening a FIFO blocks until a reader comes,
		// and a device such as /dev/full must never be truncated, let alone removed below.
		if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("results: %s is not a regular file; refusing to overwrite it", path)
		}
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("results: %s already exists; refusing to overwrite it: %w", path, err)
		}
		return nil, fmt.Errorf("results: creating %s: %w", path, err)
	}
	w, err := newWriter("results: "+path, f, h, opt, f)
	if err != nil {
		f.Close()
		if !opt.Overwrite {
			// O_EXCL made it ours, and it holds no records, only a partial header. A file
			// opened with Overwrite may have been someone else's: it stays.
			os.Remove(path)
		}
		return nil, err
	}
	return w, nil
}

// NewWriter writes a results file to out. If out has a Sync method (an *os.File) it is
// used for opt.Sync and by Close; Close does not close out.
func NewWriter(out io.Writer, h Header, opt CreateOptions) (*Writer, error) {
	return newWriter("results", out, h, opt, nil)
}

func newWriter(name string, out io.Writer, h Header, opt CreateOptions, closer io.Closer) (*Writer, error) {
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	h.Format = FormatVersion
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding header: %w", name, err)
	}
	if len(hj) > maxBlockLen {
		return nil, fmt.Errorf("%s: header is %d bytes, more than the %d a block may hold", name, len(hj), maxBlockLen)
	}
	w := &Writer{
		name:     name,
		out:      out,
		closer:   closer,
		opt:      opt,
		base:     startBase(h),
		table:    make(map[string]uint32),
		series:   make(map[Series]uint32),
		free:     make(chan []byte, numBuffers),
		full:     make(chan sealed, numBuffers),
		flushReq: make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	w.syncer, _ = out.(interface{ Sync() error })
	for range numBuffers {
		w.free <- make([]byte, 0, frameLen+blockTarget+maxRecordLen)
	}

	buf := make([]byte, 0, preambleLen+frameLen+len(hj))
	buf = append(buf, magic...)
	buf = binary.LittleEndian.AppendUint16(buf, FormatVersion)
	buf = binary.LittleEndian.AppendUint16(buf, 0)
	buf = appendBlock(buf, blockHeader, hj)
	if err := w.writeOut(buf); err != nil {
		return nil, err
	}
	// Sync the header now so that even a run killed in its first second leaves a file
	// that is recognisably ours.
	if err := w.sync(); err != nil {
		return nil, err
	}
	go w.flusher()
	return w, nil
}

// startBase is the Intended value every record block's deltas start from.
func startBase(h Header) int64 {
	if h.Start.IsZero() {
		return 0
	}
	return h.Start.UnixNano()
}

// appendBlock appends one framed block holding payload.
func appendBlock(dst []byte, typ byte, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, typ, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = append(dst, payload...)
	sealFrame(dst[start:])
	return dst
}

// sealFrame fills in the length and checksum of the block in b (frame, then payload).
func sealFrame(b []byte) {
	payload := b[frameLen:]
	binary.LittleEndian.PutUint32(b[1:5], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[5:9], frameCRC(b[:frameLen], payload))
}

// Write records one attempt. It copies what it needs from r and does no IO, so it costs
// an encoding and an uncontended lock. It fails after Close or after the flusher failed
// to write, so that a full disk stops the run instead of silently dropping records.
func (w *Writer) Write(r *Record) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	if w.cur == nil {
		if err := w.acquireLocked(); err != nil {
			w.mu.Unlock()
			return err
		}
	}
	w.cur = w.appendRecord(w.cur, r)
	w.records.Add(1)
	w.curRecs++
	if len(w.cur)-frameLen >= blockTarget {
		w.sealLocked()
	}
	w.mu.Unlock()
	return nil
}

// acquireLocked gives the writer a fresh block buffer. If none is free every buffer is
// waiting for IO: it then waits for one without holding mu, so the flusher can proceed.
func (w *Writer) acquireLocked() error {
	var b []byte
	select {
	case b = <-w.free:
	default:
		w.mu.Unlock()
		b = <-w.free
		w.mu.Lock()
		if w.closed || w.err != nil || w.cur != nil {
			w.free <- b
			if w.closed {
				return errClosed
			}
			return w.err // nil when another caller installed cur meanwhile
		}
	}
	w.cur = append(b[:0], blockRecords, 0, 0, 0, 0, 0, 0, 0, 0)
	w.curRecs = 0
	w.state.reset(w.base)
	return nil
}

// sealLocked hands the current block to the flusher. It never blocks: full has room for
// every buffer there is.
func (w *Writer) sealLocked() {
	w.full <- sealed{w.cur, w.curRecs}
	w.cur, w.curRecs = nil, 0
}

// appendRecord encodes r at the end of b; the layout is in docs/results-format.md.
func (w *Writer) appendRecord(b []byte, r *Record) []byte {
	s := &w.state
	var flags byte
	if r.Kind < kindEscape {
		flags = byte(r.Kind)
	} else {
		flags = kindEscape
	}
	if r.Error != "" {
		flags |= flagError
	}
	if r.Code == defaultCode(r.Kind) {
		flags |= flagCodeDflt
	}
	if r.Attempt == 1 && r.RequestAge == 0 {
		flags |= flagFirst
	}
	if r.Group == s.prevGroup && r.Phase == s.prevPhase {
		flags |= flagSameGroup
	}
	b = append(b, flags)
	if flags&flagKindMask == kindEscape {
		b = append(b, byte(r.Kind))
	}
	// Unsigned subtraction wraps, so ids near 0 and near max uint64 both delta-code.
	b = binary.AppendUvarint(b, zigzag(int64(r.RequestID-s.prevID)))
	if flags&flagCodeDflt == 0 {
		b = binary.AppendUvarint(b, uint64(r.Code))
	}
	if flags&flagFirst == 0 {
		b = append(b, r.Attempt)
		b = binary.AppendUvarint(b, zigzag(int64(r.RequestAge)))
	}
	if flags&flagSameGroup == 0 {
		b = append(b, r.Group, r.Phase)
	}
	b = binary.AppendUvarint(b, zigzag(int64(uint64(r.Intended)-uint64(s.prevIntended))))
	b = binary.AppendUvarint(b, zigzag(int64(r.SendLag)))
	b = binary.AppendUvarint(b, zigzag(int64(r.ServiceTime)))
	if r.Error != "" {
		b = w.appendErrorRef(b, r.Error)
	}
	s.prevID, s.prevIntended = r.RequestID, r.Intended
	s.prevGroup, s.prevPhase = r.Group, r.Phase
	return b
}

// appendErrorRef appends index+1 of msg in the table, or 0 and the message itself the
// first time it is used, which defines the next index.
func (w *Writer) appendErrorRef(b []byte, msg string) []byte {
	msg = clipError(msg)
	idx, ok := w.table[msg]
	if !ok && len(w.table) >= MaxErrorMessages {
		msg = OverflowError
		idx, ok = w.table[msg]
	}
	if ok {
		return binary.AppendUvarint(b, uint64(idx)+1)
	}
	// Clone: the caller's string may share a large or reused backing array.
	w.table[strings.Clone(msg)] = uint32(len(w.table))
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

// Records is how many records Write has accepted.
func (w *Writer) Records() uint64 { return w.records.Load() }

// Written is how many records are in the file: those of every block written out whole. It
// lags Records by up to a flush interval while all is well; after an IO error it is the
// number of records kept, the one to report. Safe to call from any goroutine.
func (w *Writer) Written() uint64 { return w.written.Load() }

// Flush writes out every record accepted so far, and fsyncs if opt.Sync is set.
func (w *Writer) Flush() error {
	reply := make(chan error, 1)
	select {
	case w.flushReq <- reply:
		return <-reply
	case <-w.done:
		return errClosed
	}
}

// Close ends the file: it writes out every pending record, then the trailer and footer,
// fsyncs and closes the file (if Create opened it). Records written after Close fail.
func (w *Writer) Close(t Trailer) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.closed = true
	w.mu.Unlock()

	close(w.stop)
	<-w.done // the flusher wrote out everything sealed or pending; we own the IO now

	err := w.ioErr()
	if err == nil {
		err = w.writeTrailer(t)
	}
	if err == nil {
		err = w.sync()
	}
	if w.closer != nil {
		if cerr := w.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: closing: %w", w.name, cerr)
		}
	}
	return err
}

func (w *Writer) writeTrailer(t Trailer) error {
	tj, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("%s: encoding trailer: %w", w.name, err)
	}
	buf := appendBlock(make([]byte, 0, frameLen+len(tj)+footerLen), blockTrailer, tj)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(frameLen+len(tj)))
	buf = append(buf, footerMagic...)
	return w.writeOut(buf)
}

func (w *Writer) ioErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// flusher does all IO while the writer is open: it writes blocks Write sealed as they come,
// and on every tick or Flush also seals and writes the block being filled.
func (w *Writer) flusher() {
	defer close(w.done)
	tick := time.NewTicker(w.opt.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case b := <-w.full:
			w.writeBlock(b)
		case <-tick.C:
			w.flushPending(w.opt.Sync)
		case reply := <-w.flushReq:
			reply <- w.flushPending(w.opt.Sync)
		case <-w.stop:
			w.flushPending(false) // Close syncs once, after the trailer
			return
		}
	}
}

// flushPending writes every sealed block and the partly filled one, in order.
func (w *Writer) flushPending(sync bool) error {
	// Collect under mu so that no block sealed later can overtake these: a later block may
	// reference error messages defined in an earlier one.
	w.mu.Lock()
	blocks := w.pending[:0]
	for len(w.full) > 0 {
		blocks = append(blocks, <-w.full)
	}
	if w.cur != nil && len(w.cur) > frameLen {
		blocks = append(blocks, sealed{w.cur, w.curRecs})
		w.cur, w.curRecs = nil, 0 // the next Write starts a new block (and a new delta context)
	}
	w.mu.Unlock()

	for i, b := range blocks {
		w.writeBlock(b)
		blocks[i] = sealed{}
	}
	if sync && w.dirty {
		if err := w.sync(); err != nil {
			w.setErr(err)
		}
	}
	return w.ioErr()
}

// writeBlock writes one sealed record block and returns its buffer to the free list.
func (w *Writer) writeBlock(b sealed) {
	if w.ioErr() == nil {
		sealFrame(b.buf)
		if err := w.writeOut(b.buf); err != nil {
			w.setErr(err)
		} else {
			w.written.Add(b.records)
		}
	}
	w.free <- b.buf[:0]
}

func (w *Writer) writeOut(b []byte) error {
	n, err := w.out.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("%s: writing at byte %d: %w", w.name, w.off, err)
	}
	w.off += int64(n)
	w.dirty = true
	return nil
}

func (w *Writer) sync() error {
	if w.syncer == nil || !w.dirty {
		return nil
	}
	if err := w.syncer.Sync(); err != nil {
		return fmt.Errorf("%s: syncing: %w", w.name, err)
	}
	w.dirty = false
	return nil
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}
