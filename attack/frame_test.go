package attack

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// frameOutcome is everything a respFramer run decides: the error, how many of the input's
// bytes belong to the response, and the final head's fields. It is comparable, so runs over
// different splits of one input can be checked for agreement with ==.
type frameOutcome struct {
	err        error
	used       int
	code       int
	http10     bool
	closeConn  bool
	text       string
	hasRetry   bool
	retryAfter string
	hasDate    bool
	date       string
	hasBody    bool
}

// String shows a failed run as its error alone: an error ends the run wherever it happened,
// so nothing else of it is compared.
func (o frameOutcome) String() string {
	if o.err != nil {
		return fmt.Sprintf("err %q", o.err)
	}
	return fmt.Sprintf("%+v", struct {
		used, code        int
		http10, closeConn bool
		text              string
		hasRetry          bool
		retryAfter        string
		hasDate           bool
		date              string
		hasBody           bool
	}{o.used, o.code, o.http10, o.closeConn, o.text, o.hasRetry, o.retryAfter, o.hasDate, o.date, o.hasBody})
}

// frameSplits returns every way the tests feed in: whole, byte by byte, and in two reads
// split at every position (the empty first or last read included). A framer must not depend
// on where the connection's reads happen to break a response.
func frameSplits(in string) (names []string, splits [][]string) {
	names = append(names, "whole")
	splits = append(splits, []string{in})
	bytewise := make([]string, len(in))
	for i := range in {
		bytewise[i] = in[i : i+1]
	}
	names = append(names, "byte by byte")
	splits = append(splits, bytewise)
	for k := 0; k <= len(in); k++ {
		names = append(names, fmt.Sprintf("split at %d", k))
		splits = append(splits, []string{in[:k], in[k:]})
	}
	return names, splits
}

// runFrame feeds reads to f (already reset) as the loop engine does, then the connection's
// end when closed. Every read lands in the same buffer, *buf, zeroed once feed returns, as the
// engine reuses its read buffer: whatever f keeps across reads must be its own copy. A feed
// that leaves the response incomplete must take every byte it was given, since the engine
// only looks past the returned count once the response is done.
func runFrame(t *testing.T, f *respFramer, buf *[]byte, reads []string, closed bool) frameOutcome {
	t.Helper()
	used := 0
	for _, r := range reads {
		*buf = append((*buf)[:0], r...)
		b := *buf
		n, err := f.feed(b)
		clear(b)
		if n < 0 || n > len(b) {
			t.Fatalf("feed of %d bytes returned %d", len(b), n)
		}
		used += n
		if err != nil {
			return frameOutcome{err: err}
		}
		if f.done() {
			break // the rest is surplus
		}
		if n != len(b) {
			t.Fatalf("feed took %d of %d bytes without completing the response", n, len(b))
		}
	}
	if !f.done() {
		if !closed {
			t.Fatalf("response incomplete after all of its bytes")
		}
		if err := f.eof(); err != nil {
			return frameOutcome{err: err}
		}
		if !f.done() {
			t.Fatalf("eof returned nil without completing the response")
		}
	}
	return frameOutcome{
		used: used, code: f.code, http10: f.http10, closeConn: f.closeConn, text: f.text,
		hasRetry: f.hasRetry, retryAfter: string(f.retryAfter), hasDate: f.hasDate,
		date: string(f.date), hasBody: f.hasBody,
	}
}

// TestRespFramer runs each response through every split of its bytes (frameSplits): each
// must give the expected outcome, so all agree.
func TestRespFramer(t *testing.T) {
	const ok5 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" // surplus: a response nobody asked for
	// A head of exactly maxHead bytes, which fits, and one a byte longer, which does not.
	padHead := func(size int) string {
		const pre, post = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: ", "\r\n\r\n"
		return pre + strings.Repeat("p", size-len(pre)-len(post)) + post
	}
	ok := func(code int) frameOutcome { return frameOutcome{code: code} } // used: all of in, filled in below
	with := func(o frameOutcome, set func(*frameOutcome)) frameOutcome { set(&o); return o }
	body := func(o frameOutcome) frameOutcome { o.hasBody = true; return o }
	untilClose := func(o frameOutcome) frameOutcome { o.hasBody, o.closeConn = true, true; return o }
	fail := func(err error) frameOutcome { return frameOutcome{err: err} }

	cases := []struct {
		name     string
		in       string // the response's bytes
		surplus  string // bytes read after it, which it must leave
		headReq  bool
		wantDate bool
		maxBody  int64
		closed   bool // the connection ends after in+surplus
		want     frameOutcome
	}{
		// Content-Length.
		{name: "content-length exact", in: ok5, want: body(ok(200))},
		{name: "content-length with surplus", in: ok5, surplus: next, want: body(ok(200))},
		{name: "content-length zero", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", surplus: ok5,
			want: ok(200)},
		{name: "content-length duplicated equal", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length:2\r\n\r\nhi",
			surplus: "x", want: body(ok(200))},
		{name: "content-length conflicting", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!",
			want: fail(errMalformedLength)},
		{name: "content-length not a number", in: "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nhi", want: fail(errMalformedLength)},
		{name: "content-length negative", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", want: fail(errMalformedLength)},
		{name: "content-length as a list", in: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhi", want: fail(errMalformedLength)},
		{name: "bare newlines", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", surplus: "!", want: body(ok(200))},
		{name: "obsolete line folding", in: "HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 1\r\n\r\n!",
			surplus: next, want: body(ok(200))},

		// No body, whatever the head says.
		{name: "HEAD with content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", surplus: next,
			headReq: true, want: ok(200)},
		{name: "HEAD with chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", surplus: "0\r\n\r\n",
			headReq: true, want: ok(200)},
		{name: "204", in: "HTTP/1.1 204 No Content\r\n\r\n", surplus: next, want: ok(204)},
		{name: "304 with content-length", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"a\"\r\n\r\n",
			surplus: next, want: ok(304)},

		// Interim responses are skipped; 101 was not asked for.
		{name: "100 then 200", in: "HTTP/1.1 100 Continue\r\n\r\n" + ok5, surplus: next, want: body(ok(200))},
		{name: "100 and 103 then 200", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\nRetry-After: 9\r\n\r\n" + ok5,
			want: body(ok(200))},
		{name: "101", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			surplus: "\x81\x00", want: fail(errUnexpectedSwitch)},
		{name: "100 then garbage", in: "HTTP/1.1 100 Continue\r\n\r\nnot a status line\r\n\r\n", want: fail(errMalformedStatus)},

		// Chunked.
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5;name=value;other\r\nhello\r\nA\r\n0123456789\r\n1f\r\n" + strings.Repeat("x", 31) + "\r\n" +
			"0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
			surplus: next, want: body(ok(200))},
		{name: "chunked with bare newlines and upper-case hex", in: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n" +
			"3\nabc\n1F\n" + strings.Repeat("y", 31) + "\n0 ; ext=1\n\n",
			surplus: "HTTP", want: body(ok(200))},
		{name: "chunked after another coding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n" +
			"2\r\nhi\r\n0\r\n\r\n", surplus: next, want: body(ok(200))},
		{name: "chunked empty", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", surplus: next,
			want: body(ok(200))},
		{name: "chunk size not hex", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
			want: fail(errMalformedChunk)},
		{name: "chunk size empty", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", want: fail(errMalformedChunk)},
		{name: "chunk data without its line break", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
			want: fail(errMalformedChunk)},
		{name: "chunk data with a lone CR", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\r\n0\r\n\r\n",
			want: fail(errMalformedChunk)},
		{name: "chunk size line too long", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", maxFrameLine),
			want: fail(errMalformedChunk)},

		// Bodies delimited by the close.
		{name: "transfer-encoding gzip", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcdef",
			closed: true, want: untilClose(ok(200))},
		{name: "no length", in: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body", closed: true,
			want: untilClose(ok(200))},
		{name: "no length no body", in: "HTTP/1.1 200 OK\r\n\r\n", closed: true, want: untilClose(ok(200))},

		// Whether the connection carries another request.
		{name: "HTTP/1.0", in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", surplus: "x",
			want: with(body(ok(200)), func(o *frameOutcome) { o.http10, o.closeConn = true, true })},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
			surplus: next, want: with(body(ok(200)), func(o *frameOutcome) { o.http10 = true })},
		{name: "HTTP/1.1 close", in: "HTTP/1.1 200 OK\r\nconnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok",
			want: with(body(ok(200)), func(o *frameOutcome) { o.closeConn = true })},

		// Malformed heads.
		{name: "header without colon", in: "HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n", want: fail(errMalformedHeader)},
		{name: "header with empty name", in: "HTTP/1.1 200 OK\r\n: v\r\n\r\n", want: fail(errMalformedHeader)},
		{name: "garbage head", in: "hello world\r\n\r\n", want: fail(errMalformedStatus)},
		{name: "garbage then close", in: "garbage without newline", closed: true, want: fail(errMalformedStatus)},
		{name: "HTTP/2 status", in: "HTTP/2 200\r\n\r\n", want: fail(errMalformedStatus)},
		{name: "two-digit status", in: "HTTP/1.1 20 OK\r\n\r\n", want: fail(errMalformedStatus)},
		{name: "four-digit status", in: "HTTP/1.1 2000 OK\r\n\r\n", want: fail(errMalformedStatus)},
		{name: "status below 100", in: "HTTP/1.1 099 Low\r\n\r\n", want: fail(errMalformedStatus)},
		{name: "head of maxHead", in: padHead(maxHead), surplus: next, want: ok(200)},
		{name: "head past maxHead", in: padHead(maxHead + 1), want: fail(errHeadTooLong)},

		// The body cap.
		{name: "content-length at the cap", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", maxBody: 10,
			want: body(ok(200))},
		// Only the head: the length alone fails it, before any body byte.
		{name: "content-length past the cap", in: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", maxBody: 10,
			want: fail(errBodyTooLarge)},
		{name: "chunked at the cap", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n",
			maxBody: 10, want: body(ok(200))},
		{name: "chunked past the cap", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n6789a",
			maxBody: 10, want: fail(errBodyTooLarge)},
		{name: "until close at the cap", in: "HTTP/1.1 200 OK\r\n\r\n0123456789", maxBody: 10, closed: true,
			want: untilClose(ok(200))},
		{name: "until close past the cap", in: "HTTP/1.1 200 OK\r\n\r\n0123456789a", maxBody: 10, want: fail(errBodyTooLarge)},

		// What the outcome keeps from the head.
		{name: "retry-after", in: "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 0\r\n\r\n", surplus: next,
			want: with(ok(503), func(o *frameOutcome) { o.text, o.hasRetry, o.retryAfter = "503 Service Unavailable", true, "120" })},
		{name: "date wanted", in: "HTTP/1.1 200 OK\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 0\r\n\r\n",
			wantDate: true, want: with(ok(200), func(o *frameOutcome) { o.hasDate, o.date = true, "Mon, 02 Jan 2006 15:04:05 GMT" })},
		{name: "date not wanted", in: "HTTP/1.1 200 OK\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 0\r\n\r\n",
			want: ok(200)},
		{name: "status without reason", in: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
			want: with(ok(404), func(o *frameOutcome) { o.text = "404 Not Found" })},
		{name: "status with own reason", in: "HTTP/1.1 429 Slow Down\r\nContent-Length: 0\r\n\r\n",
			want: with(ok(429), func(o *frameOutcome) { o.text = "429 Slow Down" })},

		// The connection ends before the response does.
		{name: "close mid-body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", closed: true, want: fail(errClosedEarly)},
		{name: "close mid-chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", closed: true,
			want: fail(errClosedEarly)},
		{name: "close before the trailer ends", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
			closed: true, want: fail(errClosedEarly)},
		{name: "close mid-head", in: "HTTP/1.1 2", closed: true, want: fail(errClosedEarly)},
		{name: "close after an interim response", in: "HTTP/1.1 100 Continue\r\n\r\n", closed: true, want: fail(errClosedEarly)},
		{name: "close before any byte", in: "", closed: true, want: fail(errClosedEarly)},
	}
	var f respFramer // one framer for all, reset before each run, as the loop engine keeps one per connection
	var buf []byte   // and one read buffer
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want.err == nil {
				want.used = len(tc.in) // the response is in, the rest surplus
			}
			names, splits := frameSplits(tc.in + tc.surplus)
			for i, reads := range splits {
				f.reset(tc.headReq, tc.wantDate, tc.maxBody)
				if got := runFrame(t, &f, &buf, reads, tc.closed); got != want {
					t.Fatalf("%s:\n got %v\nwant %v", names[i], got, want)
				}
			}
		})
	}
}

// TestRespFramerCopiesValues checks that Retry-After and Date outlive the read buffer they
// came in: the loop engine reads the next response into the same buffer.
func TestRespFramerCopiesValues(t *testing.T) {
	b := []byte("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nDate: Tue, 03 Jan 2006 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n")
	var f respFramer
	f.reset(false, true, 0)
	if n, err := f.feed(b); err != nil || n != len(b) || !f.done() {
		t.Fatalf("feed: %d of %d, %v, done %v", n, len(b), err, f.done())
	}
	for i := range b {
		b[i] = '#'
	}
	if string(f.retryAfter) != "30" || string(f.date) != "Tue, 03 Jan 2006 00:00:00 GMT" {
		t.Errorf("after the buffer changed: Retry-After %q, Date %q", f.retryAfter, f.date)
	}
}

// TestRespFramerReset checks that reset clears every field of the last response but keeps
// the buffers (partial, retryAfter, date) for the next one, so a connection's framer stops
// allocating once warm.
func TestRespFramerReset(t *testing.T) {
	const head = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
	var f respFramer
	f.reset(false, true, 100)
	// The head in two reads, so partial holds it for a while.
	for _, r := range []string{head[:20], head[20:] + "3\r\nab"} {
		if _, err := f.feed([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if !f.hasRetry || !f.hasDate || f.code != 503 || f.state != frChunkData {
		t.Fatalf("after the head: %+v", f)
	}
	partial, retry, date := cap(f.partial), &f.retryAfter[0], &f.date[0]
	if partial == 0 {
		t.Fatal("partial never used")
	}

	f.reset(true, false, 7)
	want := respFramer{maxBody: 7, headReq: true}
	got := f
	got.partial, got.retryAfter, got.date = nil, nil, nil // checked below
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after reset: %+v", got)
	}
	if len(f.partial) != 0 || len(f.retryAfter) != 0 || len(f.date) != 0 {
		t.Errorf("after reset: partial %q, retryAfter %q, date %q", f.partial, f.retryAfter, f.date)
	}
	if cap(f.partial) != partial || &f.retryAfter[:1][0] != retry || &f.date[:1][0] != date {
		t.Error("reset dropped a buffer")
	}
	// And the framer works again, with no trace of the last response, and the new request's
	// HEAD: the body that follows the head is surplus.
	if n, err := f.feed([]byte(ok200)); err != nil || n != len(ok200)-len("hello world\n") || !f.done() || f.code != 200 ||
		f.hasRetry || f.hasDate || f.closeConn || f.text != "" || f.hasBody {
		t.Errorf("next response: %d, %v, %+v", n, err, f)
	}
}

// ok200 is a typical keep-alive response, as nginx sends one.
const ok200 = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
	"Content-Type: text/html\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello world\n"

// TestRespFramerAllocs checks that the loop engine's hot path allocates nothing per response
// once a connection's framer is warm: a keep-alive 200 with a Content-Length (and the Date and
// Connection headers most servers send), in one read or split across two, in the head or the
// body.
func TestRespFramerAllocs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reads [][]byte
	}{
		{"one read", [][]byte{[]byte(ok200)}},
		{"head split", [][]byte{[]byte(ok200[:40]), []byte(ok200[40:])}},
		{"body split", [][]byte{[]byte(ok200[:len(ok200)-5]), []byte(ok200[len(ok200)-5:])}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f respFramer
			run := func() {
				f.reset(false, false, 1<<20)
				for _, r := range tc.reads {
					if n, err := f.feed(r); err != nil || n != len(r) {
						t.Fatalf("feed: %d of %d, %v", n, len(r), err)
					}
				}
				if !f.done() || f.code != 200 || f.closeConn {
					t.Fatalf("not a complete keep-alive 200: %+v", f)
				}
			}
			run() // the warm-up: grows the buffers reset keeps
			if a := testing.AllocsPerRun(100, run); a != 0 {
				t.Errorf("%v allocations per response", a)
			}
		})
	}
}

// TestChunkSize checks the chunk-size line parser on its own, bounds included.
func TestChunkSize(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		ok   bool
	}{
		{"0", 0, true},
		{"0\r", 0, true},
		{"a", 10, true},
		{"A", 10, true},
		{"1f", 31, true},
		{"1F\r", 31, true},
		{"ff;name=value", 255, true},
		{"10 ; a ; b=\"c\"\r", 16, true},
		{" 5 ", 5, true},
		{"000000000000001", 1, true},
		{strings.Repeat("f", 15), 1<<60 - 1, true},
		{strings.Repeat("f", 16), 0, false}, // would overflow an int64
		{strings.Repeat("0", 16), 0, false}, // the bound counts digits, leading zeros too
		{"", 0, false},
		{"\r", 0, false},
		{";ext", 0, false},
		{"g", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"0x10", 0, false},
		{"1 2", 0, false},
	} {
		n, ok := chunkSize([]byte(tc.line))
		if n != tc.n || ok != tc.ok {
			t.Errorf("chunkSize(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzRespFramer feeds arbitrary bytes, as a response that ends with the connection, whole,
// byte by byte and split where the fuzzer says: the framer must never panic, must take every
// byte of a read until the response is complete, and must come to the same outcome however
// the reads fell (what a hostile target sends cannot make the recorded kind depend on timing).
func FuzzRespFramer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 Busy\r\nRetry-After: 3\r\n\r\nbody",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
		"SSH-2.0-x\r\n", "HTTP/1.1 2", "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
	} {
		f.Add([]byte(s), uint16(len(s)/2), false, int64(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, at uint16, head bool, capBytes int64) {
		if len(in) > 1<<12 || capBytes < 0 {
			t.Skip()
		}
		k := int(at) % (len(in) + 1)
		var fr respFramer
		var buf []byte
		run := func(reads []string) frameOutcome {
			fr.reset(head, true, capBytes)
			return runFrame(t, &fr, &buf, reads, true)
		}
		whole := run([]string{string(in)})
		split := run([]string{string(in[:k]), string(in[k:])})
		bytewise := make([]string, len(in))
		for i := range in {
			bytewise[i] = string(in[i : i+1])
		}
		one := run(bytewise)
		if whole.String() != split.String() || whole.String() != one.String() {
			t.Fatalf("whole %v\nsplit at %d %v\nbyte by byte %v", whole, k, split, one)
		}
	})
}
