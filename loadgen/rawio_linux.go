package loadgen

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// fdIO reads and writes a connection's socket with raw system calls inside
// the netpoller's RawConn callbacks. The socket is non-blocking, so a call
// never blocks; skipping the runtime's syscall entry and exit saves the
// scheduler's bookkeeping and, above all, sysmon handing the processor to
// another thread whenever a loopback write takes more than 20 µs. Deadlines
// and waiting still go through the netpoller.
type fdIO struct {
	rc syscall.RawConn
}

func newFdIO(c net.Conn) (io.ReadWriter, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("raw conn: %w", err)
	}
	return &fdIO{rc: rc}, nil
}

func (f *fdIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := f.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			n, errno = int(r), e
			return true
		}
	})
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
	written := 0
	var errno syscall.Errno
	err := f.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[written])), uintptr(len(p)-written))
			switch e {
			case 0:
				written += int(r)
				continue
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			errno = e
			return true
		}
		return true
	})
	if err != nil {
		return written, err
	}
	if errno != 0 {
		return written, os.NewSyscallError("write", errno)
	}
	return written, nil
}
