//go:build linux

// goloop is bench/openloop in Go: one goroutine locked to its thread, epoll through
// golang.org/x/sys/unix, CONNS keep-alive HTTP/1.1 connections opened before the run and never
// more, none of them known to Go's poller. It answers what the fast engine's goroutine per
// connection costs against an event loop in the same language: the same runtime, the same
// syscall wrappers, but no goroutine parked or woken per attempt (docs/performance.md, seventh
// pass). RATE 0 sends on every idle connection at once (wrk's max rate); otherwise at each
// scheduled time a request goes out on an idle connection, or waits for one, which counts as
// lag. It prints openloop's summary line. Not part of the build of stormtest or its tests.
//
//	go build -o goloop ./bench/goloop
//	./goloop RATE SECONDS CONNS PORT      (GET / on 127.0.0.1:PORT; small responses only)
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

const maxConns = 256

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "goloop:", err)
		os.Exit(1)
	}
}

type conn struct {
	fd     int
	sentAt time.Duration
	buf    [4096]byte
	n      int
}

func run(args []string, out io.Writer) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: goloop RATE SECONDS CONNS PORT")
	}
	rate, err1 := strconv.ParseFloat(args[0], 64)
	secs, err2 := strconv.ParseFloat(args[1], 64)
	n, err3 := strconv.Atoi(args[2])
	port, err4 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || rate < 0 || secs <= 0 || n < 1 || n > maxConns || port < 1 || port > 65535 {
		return fmt.Errorf("bad arguments %q: want RATE ≥ 0, SECONDS > 0, CONNS 1..%d, PORT", args, maxConns)
	}
	runtime.LockOSThread()
	req := []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	conns := make([]*conn, n)
	idle := make([]int, 0, n)
	for i := range conns {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("connect to 127.0.0.1:%d: %w", port, err)
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := unix.SetNonblock(fd, true); err != nil {
			return err
		}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return fmt.Errorf("epoll_ctl: %w", err)
		}
		conns[i] = &conn{fd: fd}
		idle = append(idle, i)
	}

	d := time.Duration(secs * float64(time.Second))
	var interval time.Duration
	total := int64(-1) // max rate: until d is over
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
		total = int64(rate * secs)
	}
	svc := make([]time.Duration, 0, max(total, 1<<20))
	lag := make([]time.Duration, 0, max(total, 1<<20))
	var pending []time.Duration // due times waiting for an idle connection
	var events [64]unix.EpollEvent
	start := time.Now()
	var k int64 // attempts scheduled so far
	inflight := 0
	for {
		now := time.Since(start)
		if rate > 0 {
			for k < total && time.Duration(k)*interval <= now {
				pending = append(pending, time.Duration(k)*interval)
				k++
			}
		} else if now < d {
			for range idle {
				pending = append(pending, now)
			}
		}
		for len(pending) > 0 && len(idle) > 0 {
			i := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			c := conns[i]
			t := time.Since(start)
			lag = append(lag, t-pending[0])
			pending = pending[1:]
			c.sentAt, c.n = t, 0
			if w, err := unix.Write(c.fd, req); err != nil || w != len(req) {
				return fmt.Errorf("write: %d bytes, %v", w, err)
			}
			inflight++
		}
		done := (rate > 0 && k >= total || rate == 0 && now >= d) && len(pending) == 0
		if done && inflight == 0 {
			break
		}
		timeout := 0
		switch {
		case done:
			timeout = 10
		case rate > 0 && len(pending) == 0:
			timeout = int((time.Duration(k)*interval - time.Since(start)) / time.Millisecond)
		case rate == 0 && len(pending) == 0:
			// Every connection is busy: wait for a response (or the end) instead of polling.
			timeout = max(int((d-time.Since(start))/time.Millisecond), 1)
		}
		ne, err := unix.EpollWait(ep, events[:], max(timeout, 0))
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:max(ne, 0)] {
			c := conns[ev.Fd]
			r, err := unix.Read(c.fd, c.buf[c.n:])
			if err == unix.EAGAIN {
				continue
			}
			if err != nil || r <= 0 {
				return fmt.Errorf("read: %d bytes, %v", r, err)
			}
			c.n += r
			if !complete(c.buf[:c.n]) {
				continue
			}
			svc = append(svc, time.Since(start)-c.sentAt)
			idle = append(idle, int(ev.Fd))
			inflight--
		}
		if timeout == 0 && rate > 0 && len(pending) == 0 && k < total {
			_ = unix.Nanosleep(&unix.Timespec{Nsec: 20000}, nil) // as openloop: a short wait without spinning
		}
	}
	if len(svc) == 0 {
		return fmt.Errorf("no responses")
	}
	slices.Sort(svc)
	slices.Sort(lag)
	pct := func(s []time.Duration, q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	us := func(v time.Duration) float64 { return float64(v) / float64(time.Microsecond) }
	ms := func(v time.Duration) float64 { return float64(v) / float64(time.Millisecond) }
	shown := rate
	if rate == 0 {
		shown = float64(len(svc)) / secs
	}
	_, err = fmt.Fprintf(out, "rate %.0f: n=%d service p50 %.0fus p99 %.0fus max %.1fms | lag p50 %.0fus p99 %.0fus max %.1fms\n",
		shown, len(svc), us(pct(svc, 0.5)), us(pct(svc, 0.99)), ms(svc[len(svc)-1]),
		us(pct(lag, 0.5)), us(pct(lag, 0.99)), ms(lag[len(lag)-1]))
	return err
}

// complete reports whether b holds one whole response: its head and Content-Length bytes of body.
// It runs on every response, so it allocates nothing: the loop's CPU is the figure it exists for.
func complete(b []byte) bool {
	h := bytes.Index(b, []byte("\r\n\r\n"))
	if h < 0 {
		return false
	}
	length := 0
	for rest := b[:h]; len(rest) > 0; {
		line := rest
		if i := bytes.Index(rest, []byte("\r\n")); i >= 0 {
			line, rest = rest[:i], rest[i+2:]
		} else {
			rest = nil
		}
		if name, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return len(b) >= h+4+length
}
