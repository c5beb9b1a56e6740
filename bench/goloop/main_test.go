//go:build linux

package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestComplete(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want bool
	}{
		{"empty", "", false},
		{"head not ended", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", false},
		{"whole", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		{"body short", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", false},
		{"name in any case", "HTTP/1.1 200 OK\r\ncontent-LENGTH:  5 \r\n\r\nhello", true},
		{"no length: the head is the response", "HTTP/1.1 204 No Content\r\n\r\n", true},
		{"a header that only ends in content-length", "HTTP/1.1 200 OK\r\nX-Content-Length: 9\r\n\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := complete([]byte(tt.b)); got != tt.want {
				t.Errorf("complete(%q) = %v, want %v", tt.b, got, tt.want)
			}
		})
	}
}

func TestCompleteAllocatesNothing(t *testing.T) {
	resp := []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	if n := testing.AllocsPerRun(100, func() { complete(resp) }); n != 0 {
		t.Errorf("complete allocates %v times per response, want 0", n)
	}
}

// TestRun drives goloop against a loopback server at a fixed rate and at max rate, and checks
// that every scheduled request was answered and the summary line is openloop's.
func TestRun(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, rate, want string
	}{
		{"fixed rate", "200", "rate 200: n=40 "}, // 200/s for 0.2 s
		{"max rate", "0", "rate "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := served.Load()
			var b strings.Builder
			if err := run([]string{tt.rate, "0.2", "4", port}, &b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasPrefix(out, tt.want) || !strings.Contains(out, "| lag p50 ") {
				t.Fatalf("printed %q, want a summary line starting %q", out, tt.want)
			}
			if n := served.Load() - before; n < 40 {
				t.Errorf("server answered %d requests, want at least 40", n)
			}
		})
	}
	if err := run([]string{"100", "1", "0", port}, io.Discard); err == nil {
		t.Error("0 connections accepted")
	}
}
