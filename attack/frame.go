package attack

import (
	"bytes"
	"errors"
)

// respFramer follows one HTTP/1 response through the bytes read for it, for the loop engine,
// which reads a connection's bytes itself and drops every body: it finds where the response
// ends (Content-Length, chunked, or the connection's close; none for HEAD, 1xx, 204, 304),
// keeps from the head only what the outcome needs (status, Retry-After, Date, whether the
// connection may carry another request), and counts the body against the run's cap. It never
// holds a body, and holds a head only while it is split across reads.
//
// The loop's goroutine owns it: reset before each request, feed with each read, eof when the
// connection ends.
type respFramer struct {
	maxBody  int64 // the body cap; 0: none
	headReq  bool  // the request was a HEAD: the response has no body
	wantDate bool  // keep the Date header (the clock estimate's first minute)

	state     uint8
	partial   []byte // a head, chunk-size line or trailer line split across reads
	remaining int64  // body or chunk bytes still due
	body      int64  // body bytes read

	// The final response's head, once read.
	code       int
	http10     bool
	closeConn  bool   // the connection carries no further request (Connection: close, HTTP/1.0)
	text       string // the status error ("503 Service Unavailable") for a status below 200 or from 400
	retryAfter []byte // the Retry-After value, when hasRetry (its own copy)
	date       []byte // the Date value, when hasDate (its own copy)
	hasRetry   bool
	hasDate    bool
	hasBody    bool // the response has at least one body byte due
}

// Framing states.
const (
	frHead       = iota // reading a head (an interim response's, or the final one's)
	frLength            // a body of known length
	frChunkSize         // a chunk-size line
	frChunkData         // a chunk's data
	frChunkEnd          // the line break after a chunk's data
	frTrailer           // trailer lines, up to the blank one
	frUntilClose        // a body delimited by the connection's close
	frDone
)

// maxFrameLine bounds a chunk-size or trailer line.
const maxFrameLine = 4 << 10

// Errors of a response that is not HTTP/1 as the loop engine reads it: each classifies as
// malformed (classify), and names the problem without quoting the bytes.
var (
	errMalformedStatus  = errors.New("malformed HTTP response: the status line is not HTTP/1.x with a three-digit status")
	errMalformedHeader  = errors.New("malformed HTTP response: a header line without a colon")
	errMalformedLength  = errors.New("malformed HTTP response: an invalid or repeated Content-Length")
	errMalformedChunk   = errors.New("malformed HTTP response: invalid chunked encoding")
	errHeadTooLong      = errors.New("malformed HTTP response: head longer than 64 KiB")
	errUnexpectedSwitch = errors.New("malformed HTTP response: 101 Switching Protocols to a request that asked for no upgrade")
	// errClosedEarly is what both other engines record (classified as reset) when the
	// connection ends before the response does.
	errClosedEarly = errors.New("server closed the connection before the response was complete")
)

// reset prepares f for the response to the next request.
func (f *respFramer) reset(headReq, wantDate bool, maxBody int64) {
	*f = respFramer{maxBody: maxBody, headReq: headReq, wantDate: wantDate, partial: f.partial[:0],
		retryAfter: f.retryAfter[:0], date: f.date[:0]}
}

// done reports whether the response is complete.
func (f *respFramer) done() bool { return f.state == frDone }

// feed follows the response over b, bytes just read. It returns how many of them belong to the
// response; when the response is complete (done) the rest of b is surplus. A non-nil error
// ends the attempt: the response is malformed, or its body passed the cap.
func (f *respFramer) feed(b []byte) (int, error) {
	i := 0
	for i < len(b) && f.state != frDone {
		switch f.state {
		case frHead:
			// An interim response's head leaves the state at frHead with bytes left to
			// read; an incomplete head uses all of b.
			n, err := f.readHead(b[i:])
			i += n
			if err != nil {
				return i, err
			}
		case frLength:
			var err error
			if i, err = f.take(b, i, frDone); err != nil {
				return i, err
			}
		case frUntilClose:
			take := int64(len(b) - i)
			i = len(b)
			if err := f.count(take); err != nil {
				return i, err
			}
		case frChunkSize, frTrailer:
			line, n, ok, err := f.line(b[i:])
			i += n
			if err != nil || !ok {
				return i, err
			}
			if f.state == frTrailer {
				if len(bytes.TrimRight(line, "\r")) == 0 {
					f.state = frDone
				}
				continue
			}
			size, ok := chunkSize(line)
			switch {
			case !ok:
				return i, errMalformedChunk
			case size == 0:
				f.state = frTrailer
			default:
				f.state, f.remaining = frChunkData, size
			}
		case frChunkData:
			var err error
			if i, err = f.take(b, i, frChunkEnd); err != nil {
				return i, err
			}
		case frChunkEnd:
			// "\r\n", or as net/http also accepts "\n"; the "\r" may end one read.
			switch c := b[i]; {
			case c == '\r' && f.remaining == 0:
				f.remaining = 1 // the "\r" seen
				i++
			case c == '\n':
				f.state, f.remaining = frChunkSize, 0
				i++
			default:
				return i, errMalformedChunk
			}
		}
	}
	return i, nil
}

// eof is the connection's end, with the response not yet done: a body delimited by the close
// is complete; anything else fails. What was read of a head that does not begin as a status
// line does is malformed (garbage, then a close), the rest closed early.
func (f *respFramer) eof() error {
	switch {
	case f.state == frUntilClose:
		f.state = frDone
		return nil
	case f.state == frHead && len(f.partial) > 0 && !statusPrefix(f.partial):
		return errMalformedStatus
	}
	return errClosedEarly
}

// take reads what b[i:] holds of the remaining body (or chunk) bytes, and moves to next once
// they are all read. It returns where the reading stopped.
func (f *respFramer) take(b []byte, i int, next uint8) (int, error) {
	n := min(f.remaining, int64(len(b)-i))
	f.remaining -= n
	if f.remaining == 0 {
		f.state = next
	}
	return i + int(n), f.count(n)
}

// count adds n body bytes and checks them against the cap.
func (f *respFramer) count(n int64) error {
	f.body += n
	if f.maxBody > 0 && f.body > f.maxBody {
		return errBodyTooLarge
	}
	return nil
}

// readHead reads head bytes from b: it returns how many it used, and leaves the state at the
// body's (or frDone) once the final response's head is complete.
func (f *respFramer) readHead(b []byte) (int, error) {
	var head []byte
	used := 0
	if len(f.partial) == 0 {
		// The usual case: the whole head in one read, parsed where it lies. A head past
		// maxHead goes the split way, to fail as it would in smaller reads.
		if end := headEnd(b, 0); end >= 0 && end <= maxHead {
			head, used = b[:end], end
		}
	}
	if head == nil {
		// Split across reads: carried in partial, up to maxHead.
		old := len(f.partial)
		f.partial = append(f.partial, b[:min(len(b), maxHead-old)]...)
		end := headEnd(f.partial, max(old-2, 0))
		switch {
		case end < 0 && !statusPrefix(f.partial):
			return len(b), errMalformedStatus
		case end < 0 && len(f.partial) >= maxHead:
			return len(b), errHeadTooLong
		case end < 0:
			return len(b), nil
		}
		head, used = f.partial[:end], end-old
	}
	err := f.parseHead(head)
	f.partial = f.partial[:0]
	return used, err
}

// statusPrefix reports whether b could begin a status line ("HTTP/1.").
func statusPrefix(b []byte) bool {
	const p = "HTTP/1."
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

// parseHead reads a complete head and sets the state that follows it.
func (f *respFramer) parseHead(head []byte) error {
	status, rest, _ := bytes.Cut(head, []byte("\n"))
	status = bytes.TrimSuffix(status, []byte("\r"))
	if !bytes.HasPrefix(status, []byte("HTTP/1.")) || len(status) < 12 || status[8] != ' ' || (len(status) > 12 && status[12] != ' ') {
		return errMalformedStatus
	}
	code, ok := digits3(status[9:12])
	if !ok || code < 100 {
		return errMalformedStatus
	}
	http10 := status[7] == '0'
	var line []byte
	length, chunked, te := int64(-1), false, false
	closeConn, keepAlive := false, false
	var retryAfter, date []byte
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // the blank line, or an obsolete continuation
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errMalformedHeader
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch len(name) {
		case len("Content-Length"):
			if bytes.EqualFold(name, []byte("Content-Length")) {
				n, ok := contentLength(value)
				if !ok || (length >= 0 && n != length) {
					return errMalformedLength
				}
				length = n
			}
		case len("Transfer-Encoding"):
			if bytes.EqualFold(name, []byte("Transfer-Encoding")) {
				te = true
				// chunked is the last coding when it is there at all. (No bytes.Split: it
				// allocates, on every chunked response.)
				last := value[bytes.LastIndexByte(value, ',')+1:]
				chunked = bytes.EqualFold(bytes.TrimSpace(last), []byte("chunked"))
			}
		case len("Connection"):
			if bytes.EqualFold(name, []byte("Connection")) {
				// Token by token, without bytes.Split's allocation on every keep-alive response.
				for toks := value; len(toks) > 0; {
					var tok []byte
					tok, toks, _ = bytes.Cut(toks, []byte(","))
					tok = bytes.TrimSpace(tok)
					closeConn = closeConn || bytes.EqualFold(tok, []byte("close"))
					keepAlive = keepAlive || bytes.EqualFold(tok, []byte("keep-alive"))
				}
			}
		case len("Retry-After"):
			if bytes.EqualFold(name, []byte("Retry-After")) {
				retryAfter = value
			}
		case len("Date"):
			if f.wantDate && bytes.EqualFold(name, []byte("Date")) {
				date = value
			}
		}
	}
	switch {
	case code == 101:
		return errUnexpectedSwitch
	case code < 200:
		return nil // an interim response: the final one follows, in frHead
	}
	f.code, f.http10 = code, http10
	f.closeConn = closeConn || (http10 && !keepAlive)
	if code >= 400 {
		f.text = statusError(code, string(bytes.TrimSpace(status[min(len(status), 13):])))
	}
	f.hasRetry, f.hasDate = retryAfter != nil, date != nil
	f.retryAfter = append(f.retryAfter[:0], retryAfter...)
	f.date = append(f.date[:0], date...)
	switch {
	case f.headReq || code == 204 || code == 304:
		f.state = frDone
	case te && chunked:
		f.state, f.hasBody = frChunkSize, true
	case te:
		// A coding other than chunked last: the body ends with the connection (RFC 9112 6.3).
		f.state, f.hasBody, f.closeConn = frUntilClose, true, true
	case length == 0:
		f.state = frDone
	case length > 0:
		if f.maxBody > 0 && length > f.maxBody {
			return errBodyTooLarge
		}
		f.state, f.hasBody, f.remaining = frLength, true, length
	default:
		f.state, f.hasBody, f.closeConn = frUntilClose, true, true
	}
	return nil
}

// line reads one line (a chunk size or a trailer) from b, carrying a line split across reads
// in partial. ok is false while the line is incomplete.
func (f *respFramer) line(b []byte) (line []byte, used int, ok bool, err error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(f.partial)+len(b) > maxFrameLine {
			return nil, len(b), false, errMalformedChunk
		}
		f.partial = append(f.partial, b...)
		return nil, len(b), false, nil
	}
	line = b[:i]
	if len(f.partial) > 0 {
		if len(f.partial)+i > maxFrameLine {
			return nil, i + 1, false, errMalformedChunk
		}
		f.partial = append(f.partial, line...)
		line = f.partial
	}
	f.partial = f.partial[:0]
	return line, i + 1, true, nil
}

// chunkSize reads a chunk-size line: hexadecimal digits, then optional extensions after ";".
func chunkSize(line []byte) (int64, bool) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
