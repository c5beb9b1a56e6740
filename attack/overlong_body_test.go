package attack

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stormtest/stormtest/results"
)

// rawServer answers every request on a kept-alive connection with response, written in one
// piece as a broken server would. net/http's server refuses to send a body longer than its
// Content-Length, so the test speaks HTTP itself (scriptServer).
func rawServer(t *testing.T, response string) string {
	t.Helper()
	return newScriptServer(t, func(int, *http.Request) (string, bool) { return response, false }).url
}

// scriptServer speaks HTTP/1 itself, on 127.0.0.1, so that a test can send what net/http's
// server never would: answer(n) is the response to the connection's n-th request (from 1),
// and close says whether the server closes the connection after writing it. It counts the
// connections it accepted and the requests it read.
type scriptServer struct {
	url      string
	conns    atomic.Int64
	requests atomic.Int64
}

func newScriptServer(t *testing.T, answer func(n int, req *http.Request) (resp string, close bool)) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{url: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				br := bufio.NewReader(conn)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					s.requests.Add(1)
					resp, closeAfter := answer(n, req)
					if _, err := io.WriteString(conn, resp); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return s
}

// TestBodyLongerThanContentLength: a response whose body runs past its Content-Length left
// the surplus on the kept-alive connection, and net/http's Transport printed "Unsolicited
// response received on idle HTTP channel" on the standard logger (the attack's stderr) once
// per attempt. The attempt must be recorded as an error instead, and nothing logged.
func TestBodyLongerThanContentLength(t *testing.T) { forEachEngine(t, testBodyLongerThanContentLength) }

func testBodyLongerThanContentLength(t *testing.T, eng string) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	cases := []struct {
		name     string
		response string
		wantKind results.Kind
		wantErr  string
	}{
		{"body past its length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, world", results.KindOther, "longer than its Content-Length"},
		{"empty body declared", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nsurplus", results.KindOK, ""},
		{"a correct response", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", results.KindOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The Transport writes to the standard logger; capture it for this test only.
			var logged bytes.Buffer
			var mu sync.Mutex
			prev, prevFlags := log.Writer(), log.Flags()
			log.SetOutput(writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return logged.Write(p)
			}))
			t.Cleanup(func() { log.SetOutput(prev); log.SetFlags(prevFlags) })

			url := rawServer(t, tc.response)
			sum, recs := runAttackOn(t, eng, context.Background(), url, "phases: [{duration: 300ms, rate: 20}]\nclient: {timeout: 1s}\n")
			if len(recs) == 0 || uint64(len(recs)) != sum.Requests {
				t.Fatalf("%d records for %d requests", len(recs), sum.Requests)
			}
			for _, r := range recs {
				if r.Kind != tc.wantKind || !strings.Contains(r.Error, tc.wantErr) {
					t.Fatalf("attempt recorded as %v %q, want %v with an error mentioning %q", r.Kind, r.Error, tc.wantKind, tc.wantErr)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if logged.Len() > 0 {
				t.Fatalf("the attack logged %d lines, e.g. %q", strings.Count(logged.String(), "\n"), strings.SplitN(logged.String(), "\n", 2)[0])
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
