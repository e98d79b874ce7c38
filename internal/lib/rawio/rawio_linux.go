package rawio

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// fdIO reads and writes a connection's socket with raw system calls inside
// the netpoller's RawConn callbacks (see the package comment). The callbacks
// are bound once, with the call's state in r and w, so that a Read or Write
// allocates nothing; should two goroutines read (or write) at once, the
// second takes a path with a closure of its own.
type fdIO struct {
	rc   syscall.RawConn
	r, w op
}

// op is the state of the Read or the Write under way.
type op struct {
	busy  atomic.Bool
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// New returns a reader and writer of c's socket that use raw system calls,
// or c itself when c has no file descriptor. Deadlines set on c apply.
func New(c net.Conn) (io.ReadWriter, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("raw conn: %w", err)
	}
	f := &fdIO{rc: rc}
	f.r.fn = func(fd uintptr) bool { return readOnce(fd, &f.r) }
	f.w.fn = func(fd uintptr) bool { return writeAll(fd, &f.w) }
	return f, nil
}

// Read is one read(2) of the non-blocking socket fd into p, retried on
// EINTR, for a RawConn.Read callback: again when the socket had nothing yet
// (EAGAIN), else n and errno (n 0 and errno 0: end of stream).
func Read(fd uintptr, p []byte) (n int, again bool, errno syscall.Errno) {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, true, 0
		}
		return int(r), false, e
	}
}

// Write writes p to the non-blocking socket fd with write(2) until all of it
// is written, the send buffer is full (again) or a call fails (errno), for a
// RawConn.Write callback; n counts what was written.
func Write(fd uintptr, p []byte) (n int, again bool, errno syscall.Errno) {
	for n < len(p) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
		switch e {
		case 0:
			n += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return n, true, 0
		default:
			return n, false, e
		}
	}
	return n, false, 0
}

// readOnce is a RawConn.Read callback: one read(2) into o.p; false asks the
// netpoller to wait until the socket is readable.
func readOnce(fd uintptr, o *op) bool {
	n, again, errno := Read(fd, o.p)
	if again {
		return false
	}
	o.n, o.errno = n, errno
	return true
}

// writeAll is a RawConn.Write callback: write(2) until o.p is written (o.n
// counts it) or fails; false asks the netpoller to wait until the socket is
// writable.
func writeAll(fd uintptr, o *op) bool {
	n, again, errno := Write(fd, o.p[o.n:])
	o.n += n
	if again {
		return false
	}
	o.errno = errno
	return true
}

func (f *fdIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &f.r
	if !o.busy.CompareAndSwap(false, true) {
		o = &op{}
		o.fn = func(fd uintptr) bool { return readOnce(fd, o) }
	} else {
		defer o.busy.Store(false)
	}
	o.p, o.n, o.errno = p, 0, 0
	err := f.rc.Read(o.fn)
	n, errno := o.n, o.errno
	o.p = nil
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, os.NewSyscallError("read", errno)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (f *fdIO) Write(p []byte) (int, error) {
	o := &f.w
	if !o.busy.CompareAndSwap(false, true) {
		o = &op{}
		o.fn = func(fd uintptr) bool { return writeAll(fd, o) }
	} else {
		defer o.busy.Store(false)
	}
	o.p, o.n, o.errno = p, 0, 0
	err := f.rc.Write(o.fn)
	n, errno := o.n, o.errno
	o.p = nil
	if err != nil {
		return n, err
	}
	if errno != 0 {
		return n, os.NewSyscallError("write", errno)
	}
	return n, nil
}
