//go:build linux

package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"github.com/gameday/gameday/internal/lib/rawio"
)

// h1Supported: the shop's own HTTP/1.1 client is used for http:// callees.
const h1Supported = true

// h1IO is a connection's socket, read and written with raw system calls
// inside the netpoller's RawConn callbacks (as internal/lib/rawio does; no
// runtime syscall bookkeeping, no sysmon hand-off).
//
// Its trick is the first read of a call: send stages the request, and that
// read writes it from inside the read callback, then asks the netpoller to
// wait. A RawConn.Read clears the socket's readiness before it calls the
// callback, so a read must normally be tried before waiting (data that came
// earlier raised no new event), which costs a read that finds nothing when
// the answer is not there yet, as it never is right after the request. Here
// the wait is armed before the request leaves, so the answer cannot have
// come before it: the callback waits at once, and the first read after the
// wake-up is the answer. The peer's close, data or reset arriving after the
// write all raise an event too (a close the server made while the
// connection was idle shows as a reset after the write).
type h1IO struct {
	nc net.Conn
	rc syscall.RawConn

	out        []byte // the request staged by send, written by the next read
	outN       int
	checkStale bool // before writing, check the server has not closed the connection
	sent       bool // the request is written: wait, then read
	stale      bool
	werrno     syscall.Errno

	p      []byte
	n      int
	errno  syscall.Errno
	exchFn func(fd uintptr) bool
	readFn func(fd uintptr) bool
	wrFn   func(fd uintptr) bool
}

func newH1IO(nc net.Conn) (*h1IO, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, errors.New("raw conn: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("raw conn: %w", err)
	}
	x := &h1IO{nc: nc, rc: rc}
	x.exchFn = x.exchange
	x.readFn = x.readOnce
	x.wrFn = x.writeAll
	return x, nil
}

// send stages req: the next read writes it first.
func (x *h1IO) send(req []byte, checkStale bool) {
	x.out, x.outN, x.checkStale, x.sent, x.stale, x.werrno = req, 0, checkStale, false, false, 0
}

func (x *h1IO) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	x.p, x.n, x.errno = p, 0, 0
	var err error
	if x.out != nil {
		err = x.rc.Read(x.exchFn)
		switch {
		case err != nil:
		case x.stale:
			err = errStale
		case x.werrno != 0:
			err = x.opError("write", os.NewSyscallError("write", x.werrno))
		case !x.sent: // the socket's send buffer is full: finish the write, then read as usual
			if err = x.rc.Write(x.wrFn); err == nil && x.werrno != 0 {
				err = x.opError("write", os.NewSyscallError("write", x.werrno))
			}
			if err == nil {
				err = x.rc.Read(x.readFn)
			}
		}
		x.out = nil
	} else {
		err = x.rc.Read(x.readFn)
	}
	n, errno := x.n, x.errno
	x.p = nil
	switch {
	case err != nil:
		if errors.Is(err, errStale) {
			return 0, err
		}
		return 0, x.opError("read", err)
	case errno != 0:
		return 0, x.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (x *h1IO) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: x.nc.LocalAddr(), Addr: x.nc.RemoteAddr(), Err: err}
}

// exchange is the read callback of a call's first read: check, write the
// request, wait (false), then read.
func (x *h1IO) exchange(fd uintptr) bool {
	if x.sent {
		return x.readOnce(fd)
	}
	if x.checkStale {
		x.checkStale = false
		var b [1]byte
		for {
			_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
				syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
			if e == syscall.EINTR {
				continue
			}
			if e != syscall.EAGAIN { // closed (0), reset, or bytes nobody asked for
				x.stale = true
				return true
			}
			break
		}
	}
	if !x.writeAll(fd) || x.werrno != 0 {
		return true // a full send buffer (finished by read) or an error
	}
	x.sent = true
	return false // the answer comes with an event: wait for it
}

// readOnce is one read(2) into x.p; false waits until the socket is readable.
func (x *h1IO) readOnce(fd uintptr) bool {
	n, again, errno := rawio.Read(fd, x.p)
	if again {
		return false
	}
	x.n, x.errno = n, errno
	return true
}

// writeAll writes the rest of x.out; false when the send buffer is full.
func (x *h1IO) writeAll(fd uintptr) bool {
	n, again, errno := rawio.Write(fd, x.out[x.outN:])
	x.outN += n
	if again {
		return false
	}
	x.werrno = errno
	return true
}
