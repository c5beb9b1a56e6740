package attack

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"time"
)

// errBodyOverrun fails the body of a response that ran past its Content-Length. It has no
// ": ", so errorMessage keeps it whole, and it classifies as KindOther.
var errBodyOverrun = errors.New("response body longer than its Content-Length (the surplus was dropped, the connection closed)")

// errUnsolicited ends a connection that received bytes no request asked for. The Transport
// sees it only while the connection is idle, and closes the connection without a word.
var errUnsolicited = errors.New("unsolicited bytes on an idle connection")

// maxHead bounds the response head a framedConn keeps to find where the body starts; a
// longer head is passed through unchecked.
const maxHead = 64 << 10

// frameDialer wraps every connection of a transport in a framedConn.
func frameDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &framedConn{Conn: c}, nil
	}
}

// Response framing states of a framedConn.
const (
	frameIdle   = iota // no request outstanding: any byte is surplus
	frameHead          // a request was sent; reading the response head
	frameBody          // reading a body of known length
	frameBroken        // surplus seen: every Read fails
	frameOff           // not checked: TLS, a body without a Content-Length, an upgrade…
)

// framedConn keeps a response's surplus bytes away from net/http's Transport. A body longer
// than its Content-Length leaves the surplus on the kept-alive connection, and the Transport,
// finding bytes on an idle connection, logs "Unsolicited response received on idle HTTP
// channel" on the standard logger: one line on the attack's stderr per attempt, and the
// attempt still counted a success. The Transport has no ErrorLog to silence, and redirecting
// the standard logger would be global. So the connection follows HTTP/1 framing itself
// (requests are never pipelined, so a response follows each request): when a response's
// bytes end inside a read and more follow, it withholds the body's last byte and the
// surplus, and fails the next read with errBodyOverrun. The Transport then reports the body
// read as failed (the attempt is recorded as that error) and closes the connection instead
// of pooling it. Surplus after an empty body, or arriving after the body was read, cannot
// fail a response already handed over; it is dropped and the connection closed quietly.
// Only plain HTTP/1 responses with a Content-Length are checked; others pass untouched.
type framedConn struct {
	net.Conn

	mu        sync.Mutex // Write (the Transport's writeLoop) and Read (its readLoop) race
	state     int
	head      []byte // the response head so far, in frameHead
	headReq   bool   // the outstanding request is a HEAD: its response has no body
	remaining int64  // body bytes still due, in frameBody
	hasBody   bool   // the response being read has a body of at least one byte
	err       error  // what every Read returns once broken

	// oneDeadline (the fast engine's connections, which fasthttp uses from one goroutine
	// at a time) sets the write deadline for both directions, and skips the read deadline
	// when it is the same: see SetWriteDeadline.
	oneDeadline bool
	both        time.Time // the deadline last set for both directions; zero: none known
}

// errBrokenConn refuses a request on a connection a framedConn found surplus bytes on: no
// byte of it was sent, so the client may send it again on a fresh connection. net/http
// never gets here (its readLoop sees the surplus while the connection is idle and closes
// it); fasthttp, which reads only while a request is outstanding, does, and resends the
// request only for this error (see fastHostClient).
var errBrokenConn = errors.New("connection dropped: surplus bytes after the last response")

func (c *framedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.state == frameBroken {
		c.mu.Unlock()
		return 0, errBrokenConn
	}
	switch c.state {
	case frameIdle:
		if !looksLikeRequest(p) {
			c.state = frameOff // TLS (https) or anything else: not ours to frame
			break
		}
		c.state, c.head, c.headReq = frameHead, c.head[:0], bytes.HasPrefix(p, []byte("HEAD "))
	case frameHead:
		if len(c.head) > 0 {
			c.state = frameOff // request bytes after the response began: cannot tell them apart
		}
		// else: more of the same request (its body, or after a 100 Continue)
	case frameBody:
		c.state = frameOff
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *framedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	broken := c.state == frameBroken
	err := c.err
	c.mu.Unlock()
	if broken {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	keep, overrun := c.frame(p[:n])
	if !overrun {
		return n, err
	}
	c.state = frameBroken
	if keep > 0 && c.hasBody {
		// Hold back the body's last byte so that the body read fails with the next Read.
		c.err = errBodyOverrun
		return keep - 1, nil
	}
	// The response is already whole (or has no body to fail): drop the surplus, end the
	// connection. The Transport is between responses and closes it without logging.
	c.err = errUnsolicited
	if keep > 0 {
		return keep, nil
	}
	return 0, c.err
}

// frame follows the response framing over b, the bytes just read. It returns how many of
// them belong to the response, and whether more followed.
func (c *framedConn) frame(b []byte) (keep int, overrun bool) {
	i := 0
	for i < len(b) {
		switch c.state {
		case frameOff:
			return len(b), false
		case frameIdle:
			return i, true
		case frameHead:
			if len(c.head) == 0 {
				// The usual case: the whole head in one read, parsed where it lies.
				if end := headEnd(b[i:], 0); end >= 0 {
					i += end
					c.startBody(b[i-end : i])
					continue
				}
			}
			old := len(c.head)
			if old+len(b)-i > maxHead {
				c.state = frameOff
				return len(b), false
			}
			c.head = append(c.head, b[i:]...)
			end := headEnd(c.head, max(old-2, 0))
			if end < 0 {
				return len(b), false
			}
			i += end - old
			c.startBody(c.head[:end])
			c.head = c.head[:0]
		case frameBody:
			take := int(min(c.remaining, int64(len(b)-i)))
			c.remaining -= int64(take)
			i += take
			if c.remaining == 0 {
				c.state = frameIdle
			}
		}
	}
	return len(b), false
}

// startBody reads a complete response head and sets what comes next.
func (c *framedConn) startBody(head []byte) {
	code, length, ok := parseHead(head)
	switch {
	case !ok || code == 101:
		c.state = frameOff
	case code < 200:
		c.state = frameHead // an interim response: the real one follows
	case c.headReq || code == 204 || code == 304:
		c.state, c.hasBody = frameIdle, false
	case length < 0:
		c.state = frameOff // chunked, or delimited by the connection's close
	case length == 0:
		c.state, c.hasBody = frameIdle, false
	default:
		c.state, c.hasBody, c.remaining = frameBody, true, length
	}
}

// headEnd is the index just past the blank line ending a response head, or -1. It looks
// from from on; lines may end in "\r\n" or, as net/http also accepts, "\n". It runs on every
// response, so it jumps from line end to line end with IndexByte rather than byte by byte.
func headEnd(b []byte, from int) int {
	for k := from; k < len(b); k++ {
		i := bytes.IndexByte(b[k:], '\n')
		if i < 0 {
			return -1
		}
		k += i
		if k >= 1 && b[k-1] == '\n' {
			return k + 1
		}
		if k >= 2 && b[k-1] == '\r' && b[k-2] == '\n' {
			return k + 1
		}
	}
	return -1
}

// parseHead reads the status code and Content-Length of a response head; length is -1 when
// the body's length is not given by one Content-Length (Transfer-Encoding, none, or
// conflicting values). ok is false when the head is not HTTP/1. It runs on every response
// (the max-rate profile had it at 5 % of the fast engine's CPU when it compared every
// header name case-insensitively), so it looks closer only at names of the right length.
func parseHead(head []byte) (code int, length int64, ok bool) {
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.")) || len(line) < 12 || line[8] != ' ' {
		return 0, 0, false
	}
	code, ok = digits3(line[9:12])
	if !ok {
		return 0, 0, false
	}
	length = -1
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := line[:colon]
		switch {
		case len(name) == len("Transfer-Encoding") && bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return code, -1, true
		case len(name) == len("Content-Length") && bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := contentLength(bytes.TrimSpace(bytes.TrimSuffix(line[colon+1:], []byte("\r"))))
			if !ok || (length >= 0 && n != length) {
				return code, -1, true
			}
			length = n
		}
	}
	return code, length, true
}

// cutLine splits b at its first "\n": the line before it (with any "\r"), and the rest.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// digits3 reads a three-digit status code.
func digits3(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// contentLength reads a Content-Length value: decimal digits up to the largest int64, as
// strconv.ParseInt would accept them without a sign.
func contentLength(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// looksLikeRequest reports whether p starts an HTTP/1 request line: a method token of
// capitals and a space. A TLS ClientHello does not.
func looksLikeRequest(p []byte) bool {
	for i, b := range p {
		switch {
		case b == ' ':
			return i > 0
		case b < 'A' || b > 'Z' || i >= 16:
			return false
		}
	}
	return false
}

// SetWriteDeadline, on a oneDeadline connection, sets the deadline for reading too, and
// SetReadDeadline then skips the same deadline. fasthttp sets one deadline per attempt
// (DoTimeout's) twice, before writing the request and before reading the answer: two
// updates of the poller's timers per attempt (setDeadlineImpl, 4 % of the fast engine's
// CPU at max rate). Set for both directions at once, the runtime keeps it in one timer.
// The read deadline is set a little early, to the value it was about to get.
func (c *framedConn) SetWriteDeadline(t time.Time) error {
	if !c.oneDeadline {
		return c.Conn.SetWriteDeadline(t)
	}
	if err := c.Conn.SetDeadline(t); err != nil {
		c.both = time.Time{}
		return err
	}
	c.both = t
	return nil
}

func (c *framedConn) SetReadDeadline(t time.Time) error {
	if !c.oneDeadline {
		return c.Conn.SetReadDeadline(t)
	}
	if !c.both.IsZero() && t.Equal(c.both) {
		return nil
	}
	c.both = time.Time{}
	return c.Conn.SetReadDeadline(t)
}

func (c *framedConn) SetDeadline(t time.Time) error {
	if !c.oneDeadline {
		return c.Conn.SetDeadline(t)
	}
	c.both = time.Time{}
	if err := c.Conn.SetDeadline(t); err != nil {
		return err
	}
	c.both = t
	return nil
}
