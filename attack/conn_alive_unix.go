//go:build unix

package attack

import (
	"net"
	"syscall"
)

// connAlive reports whether c, a connection no request has been sent on, is still open: the
// peer has neither closed it nor sent anything (a byte no request asked for makes it as
// unusable). One non-blocking peek; a connection it cannot look into counts as alive.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read, the connection is open and quiet. No error: the peer
		// closed it (0 bytes) or sent some. Any other error: not usable either.
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // done: never wait for readiness
	})
	return err == nil && alive
}
