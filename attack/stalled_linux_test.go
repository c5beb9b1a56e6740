//go:build linux

package attack

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stormtest/stormtest/results"
)

// stalledListener listens on loopback with an accept queue of one and fills it, then never
// accepts: the kernel drops every further SYN, so a connect hangs (its SYN is retried after
// 1 s), as against a target whose accept queue overflowed. It returns the target's URL.
func stalledListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	fill, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("filling the accept queue: %v", err)
	}
	t.Cleanup(func() { fill.Close() })
	// The queue is full once a further connect does not complete.
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Skip("this kernel completed a connect to a full accept queue")
	}
	return "http://" + addr
}

// TestConnectTimeout: an attempt whose connection is never accepted ends at the client
// timeout, recorded as a timeout, on every engine (the loop engine connects without a
// goroutine, so its sweep is what ends the connect).
func TestConnectTimeout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng string) {
		if testing.Short() {
			t.Skip("real-time run")
		}
		url := stalledListener(t)
		begin := time.Now()
		_, recs := runAttackOn(t, eng, context.Background(), url,
			"phases: [{duration: 300ms, rate: 20}]\nclient: {timeout: 100ms, retry: {policy: immediate, max_attempts: 2}}\n")
		if took := time.Since(begin); took > 5*time.Second {
			t.Fatalf("run took %v", took)
		}
		if len(recs) < 6 {
			t.Fatalf("only %d attempts recorded", len(recs))
		}
		for _, r := range recs {
			if r.Kind != results.KindTimeout || r.Code != 0 || r.Error != msgTimeout || strings.Contains(r.Error, "http://") {
				t.Fatalf("attempt: kind %v code %d error %q; want a timeout recorded as %q", r.Kind, r.Code, r.Error, msgTimeout)
			}
			if r.ServiceTime < 100*time.Millisecond || r.ServiceTime > time.Second {
				t.Fatalf("service time %v, want the 100 ms timeout", r.ServiceTime)
			}
		}
	})
}

func TestDirectAddr(t *testing.T) {
	for _, tc := range []struct {
		route string
		want  unix.Sockaddr // nil: the transport dials
	}{
		{"127.0.0.1:8080", &unix.SockaddrInet4{Port: 8080, Addr: [4]byte{127, 0, 0, 1}}},
		{"[::ffff:10.1.2.3]:80", &unix.SockaddrInet4{Port: 80, Addr: [4]byte{10, 1, 2, 3}}},
		{"[::1]:443", &unix.SockaddrInet6{Port: 443, Addr: [16]byte{15: 1}}},
		{"localhost:80", nil},
		{"svc.staging.internal:8080", nil},
		{"[fe80::1%eth0]:80", nil},
		{"127.0.0.1", nil},
	} {
		got := directAddr(tc.route)
		switch want := tc.want.(type) {
		case nil:
			if got != nil {
				t.Errorf("directAddr(%q) = %#v, want nil (the transport dials)", tc.route, got)
			}
		case *unix.SockaddrInet4:
			if g, ok := got.(*unix.SockaddrInet4); !ok || g.Port != want.Port || g.Addr != want.Addr {
				t.Errorf("directAddr(%q) = %#v, want %#v", tc.route, got, want)
			}
		case *unix.SockaddrInet6:
			if g, ok := got.(*unix.SockaddrInet6); !ok || g.Port != want.Port || g.Addr != want.Addr {
				t.Errorf("directAddr(%q) = %#v, want %#v", tc.route, got, want)
			}
		}
	}
}
