package results

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// Reader streams the records of a results file. Its memory is one block and the error
// table, whatever the length of the file.
type Reader struct {
	in     *bufio.Reader
	closer io.Closer
	header Header
	base   int64

	off     int64  // file offset of the next unread byte
	blkOff  int64  // file offset of the block in buf
	buf     []byte // the current block's payload
	pos     int    // next record in buf
	state   blockState
	table   []string
	records uint64

	// The scrape blocks (scrape.go): the series defined so far, the scrape being handed to
	// onScrape (its Samples reused), and the handler, nil when nobody asked for scrapes.
	series   []Series
	scrape   Scrape
	onScrape func(*Scrape) error

	done       bool // Next returns io.EOF from now on
	trailer    Trailer
	hasTrailer bool
}

// Open opens the results file at path and reads its header. If the file was closed
// cleanly its trailer is available at once, before any record is read.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err) // *PathError names the path
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	r.closer = f
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if t, ok := readFooterTrailer(f, st.Size()); ok {
			r.trailer, r.hasTrailer = t, true
		}
	}
	return r, nil
}

// NewReader reads a results file from in, starting with its preamble and header. The
// trailer, if any, is known once Next has returned io.EOF.
func NewReader(in io.Reader) (*Reader, error) {
	r := &Reader{
		in:  bufio.NewReaderSize(in, 64<<10),
		buf: make([]byte, 0, blockTarget+maxRecordLen),
	}
	if err := r.readPreamble(); err != nil {
		return nil, err
	}
	typ, err := r.readBlock()
	if err != nil {
		if err == io.EOF {
			return nil, &DamageError{Offset: r.off, Reason: "file ends before the header"}
		}
		return nil, err
	}
	if typ != blockHeader {
		return nil, &DamageError{Offset: r.blkOff, Reason: fmt.Sprintf("first block has type %d, not a header", typ)}
	}
	if err := json.Unmarshal(r.buf, &r.header); err != nil {
		return nil, &DamageError{Offset: r.blkOff, Reason: "header: " + err.Error()}
	}
	if err := checkHeader(r.header); err != nil {
		return nil, err
	}
	r.base = startBase(r.header)
	r.buf = r.buf[:0]
	return r, nil
}

// ErrOutOfBounds is returned (wrapped) for a results file whose header describes a run past
// the bounds of package profiles: written by a stormtest that did not check them (with
// --time-scale 1e300, say). Analysing it would overflow, panic or run out of memory.
var ErrOutOfBounds = errors.New("header out of bounds (written by an older stormtest without bound checks; record the run again)")

// checkHeader refuses a header the readers of a run cannot handle safely: a profile past
// the bounds, or more client groups than a record's one-byte group index can name. It checks
// the bounds only, not the whole profile, so that a file that is merely unusual still reads.
func checkHeader(h Header) error {
	if err := h.Profile.CheckBounds(); err != nil {
		return fmt.Errorf("%w: %v", ErrOutOfBounds, err)
	}
	if len(h.Groups) > profiles.MaxGroups {
		return fmt.Errorf("%w: %d client groups, at most %d (MaxGroups)", ErrOutOfBounds, len(h.Groups), profiles.MaxGroups)
	}
	if len(h.Scrape) > MaxEndpoints {
		return fmt.Errorf("%w: %d scraped endpoints, at most %d (MaxEndpoints)", ErrOutOfBounds, len(h.Scrape), MaxEndpoints)
	}
	return nil
}

func (r *Reader) readPreamble() error {
	var p [preambleLen]byte
	n, err := io.ReadFull(r.in, p[:])
	r.off = int64(n)
	switch {
	case n == 0 && err == io.EOF:
		return fmt.Errorf("%w: the file is empty", ErrNotResults)
	case n < len(magic):
		if err != nil && err != io.ErrUnexpectedEOF {
			return fmt.Errorf("reading preamble: %w", err)
		}
		if string(p[:n]) == magic[:n] {
			return &DamageError{Offset: 0, Reason: "file ends inside the magic bytes"}
		}
		return ErrNotResults
	case string(p[:len(magic)]) != magic:
		return ErrNotResults
	case err != nil:
		if err == io.ErrUnexpectedEOF {
			return &DamageError{Offset: 0, Reason: "file ends inside the preamble"}
		}
		return fmt.Errorf("reading preamble: %w", err)
	}
	version := binary.LittleEndian.Uint16(p[len(magic):])
	flags := binary.LittleEndian.Uint16(p[len(magic)+2:])
	switch {
	case version > FormatVersion:
		return fmt.Errorf("%w: file is format version %d, this stormtest reads up to %d", ErrNewerFormat, version, FormatVersion)
	case version == 0:
		return &DamageError{Offset: int64(len(magic)), Reason: "format version 0"}
	case flags != 0:
		return &DamageError{Offset: int64(len(magic)) + 2, Reason: fmt.Sprintf("unknown preamble flags %#x", flags)}
	}
	return nil
}

// readBlock reads the next block into r.buf and returns its type. It returns io.EOF when
// the input ends exactly at a block boundary and *DamageError for anything torn or corrupt.
func (r *Reader) readBlock() (byte, error) {
	r.blkOff = r.off
	var frame [frameLen]byte
	n, err := io.ReadFull(r.in, frame[:])
	r.off += int64(n)
	if err != nil {
		switch err {
		case io.EOF:
			return 0, io.EOF
		case io.ErrUnexpectedEOF:
			return 0, r.damage(fmt.Sprintf("file ends inside a block frame (%d of %d bytes)", n, frameLen))
		}
		return 0, r.damage("reading block frame: " + err.Error())
	}
	size := binary.LittleEndian.Uint32(frame[1:5])
	if size > maxBlockLen {
		return 0, r.damage(fmt.Sprintf("block length %d exceeds the limit of %d", size, maxBlockLen))
	}
	if int(size) > cap(r.buf) {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	n, err = io.ReadFull(r.in, r.buf)
	r.off += int64(n)
	if err != nil {
		r.buf = r.buf[:0]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, r.damage(fmt.Sprintf("file ends inside a block (%d of %d bytes)", n, size))
		}
		return 0, r.damage("reading block: " + err.Error())
	}
	if got, want := frameCRC(frame[:], r.buf), binary.LittleEndian.Uint32(frame[5:9]); got != want {
		r.buf = r.buf[:0]
		return 0, r.damage(fmt.Sprintf("checksum mismatch (stored %08x, computed %08x)", want, got))
	}
	return frame[0], nil
}

// damage ends the stream at the current block; the caller returns the error once.
func (r *Reader) damage(reason string) error {
	r.done = true
	return &DamageError{Offset: r.blkOff, Records: r.records, Reason: reason}
}

// Header is the file's header.
func (r *Reader) Header() Header { return r.header }

// OnScrape implements ScrapeSource: Next calls f for every scrape block it passes.
func (r *Reader) OnScrape(f func(*Scrape) error) { r.onScrape = f }

// Trailer is the file's trailer; ok is false when the file has none because it was cut
// short. A reader from NewReader learns it only when Next reaches it.
func (r *Reader) Trailer() (Trailer, bool) { return r.trailer, r.hasTrailer }

// Next reads the next record into rec. It returns io.EOF at the end; if the file is cut
// short or corrupt it first returns one *DamageError, after every record of the intact
// blocks before the damage. rec.Error shares strings with the reader's table, so Next
// does not allocate.
func (r *Reader) Next(rec *Record) error {
	for r.pos >= len(r.buf) {
		if r.done {
			return io.EOF
		}
		if err := r.nextRecordBlock(); err != nil {
			return err
		}
	}
	if err := r.decodeRecord(rec); err != nil {
		r.done = true
		r.buf, r.pos = r.buf[:0], 0
		return err
	}
	r.records++
	return nil
}

// nextRecordBlock advances to the next record block, handling the trailer and skipping
// block types this version does not know.
func (r *Reader) nextRecordBlock() error {
	for {
		typ, err := r.readBlock()
		if err != nil {
			r.done = true
			return err
		}
		switch typ {
		case blockRecords:
			r.pos = 0
			r.state.reset(r.base)
			return nil
		case blockTrailer:
			var t Trailer
			if err := json.Unmarshal(r.buf, &t); err != nil {
				r.buf = r.buf[:0]
				return r.damage("trailer: " + err.Error())
			}
			r.trailer, r.hasTrailer = t, true
			// The writer writes nothing after the trailer but the footer; stop here.
			r.buf, r.done = r.buf[:0], true
			return io.EOF
		case blockHeader:
			r.buf = r.buf[:0]
			return r.damage("a second header block")
		case blockScrape:
			// Decoded even without a handler: the series table must stay complete, and a
			// damaged scrape block is damage like any other.
			err := r.decodeScrape()
			r.buf = r.buf[:0]
			if err != nil {
				return err
			}
			if r.onScrape != nil {
				if err := r.onScrape(&r.scrape); err != nil {
					return err
				}
			}
			continue
		}
		r.buf = r.buf[:0]
	}
}

// decodeRecord decodes the record at r.pos; see appendRecord for the layout. A checksum
// only fails to catch damage written by a faulty writer (or crafted input), so errors
// here are reported like any other damage.
func (r *Reader) decodeRecord(rec *Record) error {
	b, p, s := r.buf, r.pos, &r.state
	flags := b[p]
	p++
	kind := Kind(flags & flagKindMask)
	if kind == kindEscape {
		if p >= len(b) {
			return r.badRecord(p, "record cut short")
		}
		kind = Kind(b[p])
		p++
	}
	var u uint64
	var ok bool
	if u, p, ok = uvarint(b, p); !ok {
		return r.badRecord(p, "bad request id")
	}
	id := s.prevID + uint64(unzigzag(u))
	code := defaultCode(kind)
	if flags&flagCodeDflt == 0 {
		if u, p, ok = uvarint(b, p); !ok || u > 0xffff {
			return r.badRecord(p, "bad status code")
		}
		code = uint16(u)
	}
	attempt, age := uint8(1), int64(0)
	if flags&flagFirst == 0 {
		if p >= len(b) {
			return r.badRecord(p, "record cut short")
		}
		attempt = b[p]
		if u, p, ok = uvarint(b, p+1); !ok {
			return r.badRecord(p, "bad request age")
		}
		age = unzigzag(u)
	}
	group, phase := s.prevGroup, s.prevPhase
	if flags&flagSameGroup == 0 {
		if p+2 > len(b) {
			return r.badRecord(p, "record cut short")
		}
		group, phase = b[p], b[p+1]
		p += 2
	}
	var intended, lag, svc uint64
	if intended, p, ok = uvarint(b, p); !ok {
		return r.badRecord(p, "bad intended time")
	}
	if lag, p, ok = uvarint(b, p); !ok {
		return r.badRecord(p, "bad send lag")
	}
	if svc, p, ok = uvarint(b, p); !ok {
		return r.badRecord(p, "bad service time")
	}
	msg := ""
	if flags&flagError != 0 {
		var err error
		if msg, p, err = r.errorRef(b, p); err != nil {
			return err
		}
	}

	*rec = Record{
		RequestID:   id,
		Attempt:     attempt,
		Group:       group,
		Phase:       phase,
		Kind:        kind,
		Code:        code,
		Intended:    s.prevIntended + unzigzag(intended),
		SendLag:     time.Duration(unzigzag(lag)),
		ServiceTime: time.Duration(unzigzag(svc)),
		RequestAge:  time.Duration(age),
		Error:       msg,
	}
	s.prevID, s.prevIntended, s.prevGroup, s.prevPhase = id, rec.Intended, group, phase
	r.pos = p
	return nil
}

// errorRef decodes an error reference, adding an inline definition to the table.
func (r *Reader) errorRef(b []byte, p int) (string, int, error) {
	ref, p, ok := uvarint(b, p)
	if !ok {
		return "", p, r.badRecord(p, "bad error reference")
	}
	if ref > 0 {
		if ref > uint64(len(r.table)) {
			return "", p, r.badRecord(p, fmt.Sprintf("error message %d used before it is defined", ref-1))
		}
		return r.table[ref-1], p, nil
	}
	n, p, ok := uvarint(b, p)
	switch {
	case !ok || n > MaxErrorLen || n > uint64(len(b)-p):
		return "", p, r.badRecord(p, "bad error message definition")
	case len(r.table) >= maxTableLen:
		return "", p, r.badRecord(p, "more distinct error messages than a file may hold")
	}
	msg := string(b[p : p+int(n)])
	r.table = append(r.table, msg)
	return msg, p + int(n), nil
}

func (r *Reader) badRecord(p int, reason string) error {
	return r.damage(fmt.Sprintf("%s (record %d, block byte %d)", reason, r.records, p))
}

// uvarint decodes a varint at b[p:], reporting whether it was well formed.
func uvarint(b []byte, p int) (uint64, int, bool) {
	if p >= len(b) {
		return 0, p, false
	}
	v, n := binary.Uvarint(b[p:])
	if n <= 0 {
		return 0, p, false
	}
	return v, p + n, true
}

// Close closes the file Open opened; for a NewReader it does nothing.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	if err != nil {
		return fmt.Errorf("results: closing: %w", err)
	}
	return nil
}

// readFooterTrailer finds the trailer through the footer at the end of a cleanly closed
// file of the given size. Any doubt means "no trailer": the sequential read is the
// authority, this is only a shortcut.
func readFooterTrailer(f io.ReaderAt, size int64) (Trailer, bool) {
	var t Trailer
	if size < int64(preambleLen+frameLen+footerLen) {
		return t, false
	}
	var foot [footerLen]byte
	if _, err := f.ReadAt(foot[:], size-footerLen); err != nil || string(foot[4:]) != footerMagic {
		return t, false
	}
	blockLen := int64(binary.LittleEndian.Uint32(foot[:4]))
	start := size - footerLen - blockLen
	if blockLen < frameLen || blockLen > frameLen+maxBlockLen || start < preambleLen {
		return t, false
	}
	blk := make([]byte, blockLen)
	if _, err := f.ReadAt(blk, start); err != nil {
		return t, false
	}
	payload := blk[frameLen:]
	if blk[0] != blockTrailer || int64(binary.LittleEndian.Uint32(blk[1:5])) != blockLen-frameLen ||
		binary.LittleEndian.Uint32(blk[5:9]) != frameCRC(blk, payload) {
		return t, false
	}
	if err := json.Unmarshal(payload, &t); err != nil {
		return t, false
	}
	return t, true
}

// IsResultsFile reports whether the file at path starts like a results file (its magic), so
// that a directory of shards can be read without trying every file in it as one. A file too
// short to tell, or unreadable, is not one; only a failure to open is an error.
func IsResultsFile(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("results: %w", err)
	}
	defer f.Close() // read-only
	var p [len(magic)]byte
	if _, err := io.ReadFull(f, p[:]); err != nil {
		return false, nil
	}
	return string(p[:]) == magic, nil
}
