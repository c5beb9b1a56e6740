package results

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unicode/utf8"
)

// The on-disk layout is described in docs/results-format.md; the constants below are the
// numbers that document refers to, so change them only together with FormatVersion.

// magic opens every results file. The leading 0x89 keeps text tools from taking the file
// for text, and the "\r\n" catches copies that translated line endings.
const magic = "\x89STRES\r\n"

// preambleLen is the magic, a uint16 format version and uint16 flags (zero in version 1).
const preambleLen = 12 // len(magic) + 4

// Block types. A reader skips block types it does not know (their checksum still has to
// match), so optional blocks can be added later without a format version bump.
const (
	blockHeader  byte = 1
	blockRecords byte = 2
	blockTrailer byte = 3
	// blockScrape holds one scrape of the target's metrics (scrape.go); since version 2.
	blockScrape byte = 4
)

// frameLen is the frame before each block's payload: type (1), payload length (uint32 LE)
// and CRC-32C (uint32 LE) of the type, the length and the payload.
const frameLen = 9

// blockTarget is the payload size at which the writer seals a record block. 64 KiB keeps a
// write cheap and bounds what a torn write can take with it to a few thousand records.
const blockTarget = 64 << 10

// maxBlockLen caps the payload length a reader accepts, so that a corrupted length field
// cannot make it allocate gigabytes. The writer never comes near it: a record block is at
// most blockTarget+maxRecordLen, and the header and trailer are small JSON documents.
const maxBlockLen = 1 << 20

// footerMagic ends a cleanly closed file, after the trailer block: a uint32 LE length of
// the trailer block (frame included) and then these four bytes. It lets Open find the
// trailer without reading the whole file.
const footerMagic = "\x89END"

const footerLen = 8 // the uint32 length and footerMagic

// MaxErrorMessages is how many distinct error messages a file's table holds. Once it is
// full, any new message is recorded as OverflowError, so a client that puts ids or
// addresses into its errors cannot grow the table (and the reader's memory) without bound.
const MaxErrorMessages = 1024

// OverflowError stands in for error messages first seen after the table filled up.
const OverflowError = "other error (too many distinct messages)"

// MaxErrorLen is the longest error message stored; longer ones are cut (at a UTF-8
// boundary). Normalised client errors are far shorter; the cap bounds a record's size.
const MaxErrorLen = 1024

// maxTableLen is the reader's limit: the messages plus the overflow message itself.
const maxTableLen = MaxErrorMessages + 1

// maxRecordLen bounds one encoded record: flags, escaped kind, six varints of at most 10
// bytes, code, attempt, group, phase and an error reference with an inline definition.
const maxRecordLen = 2 + 6*binary.MaxVarintLen64 + binary.MaxVarintLen16 + 3 +
	2*binary.MaxVarintLen32 + MaxErrorLen

// Record flag bits: the first byte of every record.
const (
	flagKindMask  = 0x0f // the kind; kindEscape means a full kind byte follows
	flagError     = 0x10 // an error reference follows
	flagCodeDflt  = 0x20 // Code is the kind's usual code (defaultCode): not stored
	flagFirst     = 0x40 // Attempt == 1 and RequestAge == 0: neither stored
	flagSameGroup = 0x80 // Group and Phase as in the previous record of the block
	kindEscape    = 0x0f
)

// defaultCode is the status code most attempts of a kind carry, so that it need not be
// stored; it only matters for size, any code round-trips.
func defaultCode(k Kind) uint16 {
	switch k {
	case KindOK:
		return 200
	case Kind5xx:
		return 503
	case Kind429:
		return 429
	case Kind4xx:
		return 400
	}
	return 0
}

// castagnoli is CRC-32C, which has hardware support on amd64 and arm64. It is computed once
// and only ever read.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameCRC is the checksum stored in a frame: over the type and length bytes as well as the
// payload, so that a flipped type or length is caught too.
func frameCRC(frame []byte, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, frame[:5])
	return crc32.Update(c, castagnoli, payload)
}

// ErrNotResults is returned (wrapped) when a file is not a stormtest results file at all.
var ErrNotResults = errors.New("not a stormtest results file")

// ErrNewerFormat is returned (wrapped) for a results file written by a newer stormtest.
var ErrNewerFormat = errors.New("results file format is newer than this stormtest supports")

// DamageError reports a results file that is cut short or corrupted. Every record before
// Offset was read intact; nothing at or after it is trusted.
type DamageError struct {
	Offset  int64  // byte offset of the first damaged block
	Records uint64 // records returned before the damage
	Reason  string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("damaged at byte %d after %d records: %s", e.Offset, e.Records, e.Reason)
}

// zigzag maps signed to unsigned so that small negative numbers stay small varints.
func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// clipError cuts msg to MaxErrorLen bytes without splitting a UTF-8 sequence.
func clipError(msg string) string {
	if len(msg) <= MaxErrorLen {
		return msg
	}
	n := MaxErrorLen
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}

// blockState is the delta-coding context, reset at the start of every record block so that
// a block can be decoded knowing only the header and earlier blocks' error definitions.
type blockState struct {
	prevID       uint64
	prevIntended int64
	prevGroup    uint8
	prevPhase    uint8
}

func (s *blockState) reset(base int64) { *s = blockState{prevIntended: base} }
