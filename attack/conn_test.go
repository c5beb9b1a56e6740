package attack

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// scriptedConn returns its reads one by one, then io.EOF; writes are discarded.
type scriptedConn struct {
	net.Conn
	reads []string
}

func (s *scriptedConn) Read(p []byte) (int, error) {
	if len(s.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.reads[0])
	s.reads = s.reads[1:]
	return n, nil
}

func (s *scriptedConn) Write(p []byte) (int, error) { return len(p), nil }

// TestFramedConn drives a framedConn through exchanges: what the Transport reads must be
// the responses exactly, and surplus must end in the right error.
func TestFramedConn(t *testing.T) {
	const ok5 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	cases := []struct {
		name    string
		request string
		reads   []string
		want    string // what the Transport gets before the error
		wantErr error  // after want; io.EOF: the script ran out cleanly
	}{
		{"exact", "GET / HTTP/1.1\r\n\r\n", []string{ok5}, ok5, io.EOF},
		{"head and body split", "GET / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 200 OK\r\nConte", "nt-Length: 5\r\n\r\nhe", "llo"}, ok5, io.EOF},
		{"surplus in the same read", "GET / HTTP/1.1\r\n\r\n", []string{ok5 + " world"}, ok5[:len(ok5)-1], errBodyOverrun},
		{"surplus in a later read", "GET / HTTP/1.1\r\n\r\n", []string{ok5, "surplus"}, ok5, errUnsolicited},
		{"surplus after an empty body", "GET / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 204 No Content\r\n\r\nx"}, "HTTP/1.1 204 No Content\r\n\r\n", errUnsolicited},
		{"HEAD has no body", "HEAD / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"}, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", io.EOF},
		{"interim response", "POST / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 100 Continue\r\n\r\n" + ok5 + "!"}, "HTTP/1.1 100 Continue\r\n\r\n" + ok5[:len(ok5)-1], errBodyOverrun},
		{"bare newlines", "GET / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi!"}, "HTTP/1.1 200 OK\nContent-Length: 2\n\nh", errBodyOverrun},
		{"chunked is not checked", "GET / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra"}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra", io.EOF},
		{"TLS is not checked", "\x16\x03\x01", []string{"\x16\x03\x03 anything"}, "\x16\x03\x03 anything", io.EOF},
		{"nothing asked", "", []string{"HTTP/1.1 200 OK\r\n\r\n"}, "", errUnsolicited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &framedConn{Conn: &scriptedConn{reads: tc.reads}}
			if tc.request != "" {
				if _, err := c.Write([]byte(tc.request)); err != nil {
					t.Fatal(err)
				}
			}
			var got strings.Builder
			buf := make([]byte, 4096)
			var err error
			for range 10 {
				var n int
				n, err = c.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if got.String() != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("read %q, then %v; want %q, then %v", got.String(), err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestParseHeadAgreesWithStrconv: the hand-written head parser (it runs on every response)
// gives what the plain version built on strconv and bytes.Cut gave, over well-formed heads
// and over random mutations of them, except for values that version read through strconv's
// sign (a "+5" length: net/http refuses it too, so the connection is left unchecked).
func TestParseHeadAgreesWithStrconv(t *testing.T) {
	heads := []string{
		"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 503 Service Unavailable\ncontent-length:  17 \n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCONTENT-LENGTH: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/2 200\r\n\r\n",
		"garbage\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Long-Header-Name-Here: Content-Length: 9\r\nContent-Length:123456789012345678\r\n\r\n",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("HTP/1. 02\r\n:CcontenLgh-TrsfEd9+ x")
	check := func(h string) {
		code, length, ok := parseHead([]byte(h))
		rcode, rlength, rok := parseHeadStrconv([]byte(h))
		if strings.Contains(h, "+") && rlength >= 0 && length < 0 {
			return
		}
		if code != rcode || length != rlength || ok != rok {
			t.Fatalf("parseHead(%q) = %d, %d, %v; strconv version %d, %d, %v", h, code, length, ok, rcode, rlength, rok)
		}
		for from := 0; from <= len(h); from += 7 {
			if got, want := headEnd([]byte(h), from), headEndBytewise([]byte(h), from); got != want {
				t.Fatalf("headEnd(%q, %d) = %d, byte by byte %d", h, from, got, want)
			}
		}
	}
	for _, h := range heads {
		check(h)
		for range 3000 {
			b := []byte(h)
			for range 1 + rng.IntN(4) {
				b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
			}
			check(string(b))
		}
	}
}

// parseHeadStrconv is parseHead as first written, the reference for the test above.
func parseHeadStrconv(head []byte) (code int, length int64, ok bool) {
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.")) || len(line) < 12 || line[8] != ' ' {
		return 0, 0, false
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || strings.ContainsAny(string(line[9:12]), "+-") {
		return 0, 0, false
	}
	length = -1
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		name, value, found := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte(":"))
		if !found {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return code, -1, true
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return code, -1, true
			}
			length = n
		}
	}
	return code, length, true
}

// headEndBytewise is headEnd as first written.
func headEndBytewise(b []byte, from int) int {
	for k := from; k < len(b); k++ {
		if b[k] != '\n' {
			continue
		}
		if k >= 1 && b[k-1] == '\n' {
			return k + 1
		}
		if k >= 2 && b[k-1] == '\r' && b[k-2] == '\n' {
			return k + 1
		}
	}
	return -1
}

func BenchmarkParseHead(b *testing.B) {
	h := []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.26.3\r\nDate: Mon, 30 Nov 2026 11:00:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
	b.Run("now", func(b *testing.B) {
		for range b.N {
			end := headEnd(h, 0)
			parseHead(h[:end])
		}
	})
	b.Run("strconv", func(b *testing.B) {
		for range b.N {
			end := headEndBytewise(h, 0)
			parseHeadStrconv(h[:end])
		}
	})
}

// countingDeadlines counts the deadline updates that reach it, and passes them on to the
// connection below when there is one.
type countingDeadlines struct {
	net.Conn
	both, read, write atomic.Int64
}

func (d *countingDeadlines) SetDeadline(t time.Time) error {
	d.both.Add(1)
	if d.Conn == nil {
		return nil
	}
	return d.Conn.SetDeadline(t)
}

func (d *countingDeadlines) SetReadDeadline(t time.Time) error {
	d.read.Add(1)
	if d.Conn == nil {
		return nil
	}
	return d.Conn.SetReadDeadline(t)
}

func (d *countingDeadlines) SetWriteDeadline(t time.Time) error {
	d.write.Add(1)
	if d.Conn == nil {
		return nil
	}
	return d.Conn.SetWriteDeadline(t)
}

// TestOneDeadline: fasthttp sets each attempt's deadline twice (before the write, before the
// read); a oneDeadline connection passes one update for both directions, and any read
// deadline that differs.
func TestOneDeadline(t *testing.T) {
	t1 := time.Now().Add(time.Second)
	t2 := t1.Add(time.Second)
	cases := []struct {
		name            string
		one             bool
		reads           []time.Time // read deadlines after SetWriteDeadline(t1)
		both, read, wrt int64
	}{
		{"fasthttp's pair", true, []time.Time{t1}, 1, 0, 0},
		{"a different read deadline", true, []time.Time{t2}, 1, 1, 0},
		{"cleared", true, []time.Time{{}}, 1, 1, 0},
		{"the same twice, then another", true, []time.Time{t1, t1, t2, t1}, 1, 2, 0},
		{"plain connection", false, []time.Time{t1}, 0, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &countingDeadlines{} // no connection below: counts only
			c := &framedConn{Conn: d, oneDeadline: tc.one}
			c.SetWriteDeadline(t1)
			for _, r := range tc.reads {
				c.SetReadDeadline(r)
			}
			if both, read, wrt := d.both.Load(), d.read.Load(), d.write.Load(); both != tc.both || read != tc.read || wrt != tc.wrt {
				t.Fatalf("updates: both %d, read %d, write %d; want %d, %d, %d", both, read, wrt, tc.both, tc.read, tc.wrt)
			}
		})
	}
}

// TestOneDeadlineStillTimesOut: on a real socket, the deadline set before the write still
// ends a read that gets no answer, as a timeout.
func TestOneDeadlineStillTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c) // never answers
			c.Close()
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &framedConn{Conn: raw, oneDeadline: true}
	defer c.Close()
	begin := time.Now()
	deadline := begin.Add(200 * time.Millisecond)
	c.SetWriteDeadline(deadline)
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(deadline)
	_, err = c.Read(make([]byte, 64))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read without an answer: %v, want a timeout", err)
	}
	if took := time.Since(begin); took < 150*time.Millisecond || took > 5*time.Second {
		t.Fatalf("the timeout came after %v, want ~200ms", took)
	}
}

// TestFastEngineSetsOneDeadlinePerAttempt: fasthttp as the fast engine drives it (DoTimeout
// on the engine's HostClient) reaches the socket with one deadline update per attempt. This
// fails if a fasthttp upgrade sets the two deadlines differently, which would quietly bring
// the second update back.
func TestFastEngineSetsOneDeadlinePerAttempt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	tr, err := newTransport(nil, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	hc := tr.fastHostClient(u, 1)
	var counted []*countingDeadlines
	dial := hc.DialTimeout
	hc.DialTimeout = func(addr string, timeout time.Duration) (net.Conn, error) {
		c, err := dial(addr, timeout)
		if err != nil {
			return nil, err
		}
		fc, ok := c.(*framedConn)
		if !ok || !fc.oneDeadline {
			t.Fatalf("the fast engine's plain connection is a %T (oneDeadline unset)", c)
		}
		cd := &countingDeadlines{Conn: fc.Conn}
		fc.Conn = cd
		counted = append(counted, cd)
		return fc, nil
	}
	const n = 20
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(srv.URL + "/")
	for range n {
		if err := hc.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	var both, read, write int64
	for _, c := range counted {
		both, read, write = both+c.both.Load(), read+c.read.Load(), write+c.write.Load()
	}
	if len(counted) != 1 || both != n || read != 0 || write != 0 {
		t.Fatalf("%d attempts on %d connections reached the socket as %d deadline updates for both directions, %d read, %d write; want %d, 0, 0 on 1",
			n, len(counted), both, read, write, n)
	}
}
