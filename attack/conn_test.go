package attack

import (
	"errors"
	"io"
	"net"
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
