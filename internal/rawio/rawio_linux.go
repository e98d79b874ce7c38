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

// readOnce is a RawConn.Read callback: one read(2) into o.p; false asks the
// netpoller to wait until the socket is readable.
func readOnce(fd uintptr, o *op) bool {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&o.p[0])), uintptr(len(o.p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		o.n, o.errno = int(r), e
		return true
	}
}

// writeAll is a RawConn.Write callback: write(2) until o.p is written (o.n
// counts it) or fails; false asks the netpoller to wait until the socket is
// writable.
func writeAll(fd uintptr, o *op) bool {
	for o.n < len(o.p) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&o.p[o.n])), uintptr(len(o.p)-o.n))
		switch e {
		case 0:
			o.n += int(r)
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		o.errno = e
		return true
	}
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
