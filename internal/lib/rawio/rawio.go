// Package rawio reads and writes TCP sockets with raw system calls made inside
// the netpoller's RawConn callbacks.
//
// A socket from the net package is non-blocking, so such a call never blocks:
// skipping the runtime's syscall entry and exit saves the scheduler's
// bookkeeping and, above all, sysmon handing the processor to another thread
// whenever a loopback write takes longer than 20 µs (on a paravirtualised
// machine, most of them), which costs a context switch or two per call.
// Waiting and deadlines still go through the netpoller, exactly as for a
// plain net.Conn.
//
// The load generator, the fault proxy and the shop's services use it for
// every connection they read and write on the hot path. On other systems
// than Linux, New and Wrap hand the connection back unchanged.
package rawio

import (
	"io"
	"net"
)

// Conn is a *net.TCPConn whose Read and Write are raw system calls. Every
// other method (CloseWrite, SetLinger, deadlines, ReadFrom, ...) is the
// TCPConn's own.
type Conn struct {
	*net.TCPConn
	rw io.ReadWriter
}

// Read reads like net.Conn's Read; its errors are *net.OpError as there.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.rw.Read(p)
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

// Write writes all of p like net.Conn's Write.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.rw.Write(p)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Wrap returns c as a *Conn when c is a TCP connection (and raw I/O is
// available here), or c unchanged.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rw, err := New(tc)
	if err != nil || rw == io.ReadWriter(tc) {
		return c
	}
	return &Conn{TCPConn: tc, rw: rw}
}

// Listener wraps every connection it accepts with Wrap.
type Listener struct{ net.Listener }

// Accept waits for the next connection and wraps it.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
