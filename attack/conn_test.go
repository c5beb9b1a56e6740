package attack

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
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
