//go:build linux

package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/lib/rawio"
)

// listener hands the HTTP server connections (srvConn) whose socket is read
// by one goroutine that waits for the socket without trying a read first.
//
// net/http's server reads a keep-alive connection three times per request:
// the request, a one-byte background read while the handler runs (it
// notices a client that goes away) and the read of the next request, and
// each of those is a Read of its own on the socket. A Read must try read(2)
// before it waits (the netpoller forgets, when a Read starts, the events
// that came before), so two of the three find nothing: two system calls per
// request for nothing, on a machine where system calls are what a request
// costs. Here one goroutine per connection stays inside a single
// RawConn.Read for the connection's life: it reads what comes, hands it to
// whichever Read of the server wants it, and waits for the next event
// without trying first, which is safe within one RawConn.Read (its
// readiness is never reset, so an event that came while it was busy is
// still there). A request costs one read(2), plus one read a second for an
// idle connection (see recheck).
type listener struct{ net.Listener }

func newListener(ln net.Listener) net.Listener { return listener{ln} }

// Accept waits for the next connection and starts its reader.
func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rw, ok := rawio.Wrap(c).(*rawio.Conn)
	if !ok {
		return c, nil
	}
	rc, err := rw.SyscallConn()
	if err != nil {
		return rw, nil
	}
	sc := &srvConn{
		Conn: rw, rc: rc, buf: make([]byte, 4<<10),
		readable: make(chan struct{}, 1), drained: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		closed: make(chan struct{}), done: make(chan struct{}),
	}
	sc.fillFn = sc.fill
	go sc.loop()
	return sc, nil
}

// srvConn is an accepted connection read by its own goroutine (loop). Its
// Write is rawio's; Read takes what loop read, and the read deadlines net/http
// sets are kept here (the socket's own read deadline is loop's recheck).
type srvConn struct {
	*rawio.Conn
	rc     syscall.RawConn
	fillFn func(fd uintptr) bool

	mu       sync.Mutex
	buf      []byte // loop's read buffer
	r, n     int    // buf[r:n] is read and not yet taken
	err      error  // what ended loop, once buf is taken
	deadline time.Time

	readMu sync.Mutex  // one Read at a time
	timer  *time.Timer // a Read's deadline, reused

	readable  chan struct{} // loop → Read: data or an error
	drained   chan struct{} // Read → loop: buf taken
	kick      chan struct{} // SetReadDeadline → Read: look again
	closed    chan struct{} // Close → loop
	done      chan struct{} // loop ended
	closeOnce sync.Once
}

// recheck bounds how long a close of the peer can go unnoticed (see fill).
const recheck = time.Second

// loop reads the socket until EOF, an error or Close.
func (c *srvConn) loop() {
	defer close(c.done)
	for {
		// The socket's own read deadline (never set by Read) makes loop
		// start over, reading first, at least every recheck.
		if err := c.Conn.SetReadDeadline(time.Now().Add(recheck)); err != nil {
			c.fail(err)
			return
		}
		err := c.rc.Read(c.fillFn)
		switch {
		case err == nil: // fill ended it and recorded why
			return
		case !errors.Is(err, os.ErrDeadlineExceeded):
			c.fail(err)
			return
		}
	}
}

// fill is loop's RawConn.Read callback: it reads, hands the data over and
// waits until it is taken; false waits for the socket's next event.
func (c *srvConn) fill(fd uintptr) bool {
	for {
		n, again, e := rawio.Read(fd, c.buf)
		switch {
		case again:
			return false
		case e != 0:
			c.fail(os.NewSyscallError("read", e))
			return true
		case n == 0:
			c.fail(io.EOF)
			return true
		}
		c.mu.Lock()
		c.r, c.n = 0, n
		c.mu.Unlock()
		notify(c.readable)
		select {
		case <-c.drained:
		case <-c.closed:
			c.fail(net.ErrClosed)
			return true
		}
		if n < len(c.buf) {
			// No more data after this read: data that comes next raises an
			// event, which the wait sees even if it came already. A close
			// (or reset) that came with the data just read raised its event
			// with the data's and is still unread; it is read when the
			// next event or the recheck deadline ends the wait. A client
			// that closes while its request is being served raises an
			// event of its own, so that its request is cancelled at once.
			return false
		}
	}
}

// fail records what ended loop (the first thing only) for Read.
func (c *srvConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		if err != io.EOF {
			err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
		}
		c.err = err
	}
	c.mu.Unlock()
	notify(c.readable)
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Read takes what loop read; it waits for it until the read deadline. Like
// a net.Conn's, it fails once the deadline has passed, data or not.
func (c *srvConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		c.mu.Lock()
		dl := c.deadline
		var wait time.Duration
		if !dl.IsZero() {
			if wait = time.Until(dl); wait <= 0 {
				c.mu.Unlock()
				return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.ErrDeadlineExceeded}
			}
		}
		if c.r < c.n {
			k := copy(p, c.buf[c.r:c.n])
			c.r += k
			all := c.r == c.n
			c.mu.Unlock()
			if all {
				notify(c.drained)
			}
			return k, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		var expired <-chan time.Time
		if wait > 0 {
			if c.timer == nil {
				c.timer = time.NewTimer(wait)
			} else {
				c.timer.Reset(wait)
			}
			expired = c.timer.C
		}
		select {
		case <-c.readable:
		case <-c.kick:
		case <-expired:
		}
		if expired != nil {
			c.timer.Stop()
		}
	}
}

// SetReadDeadline sets the deadline of Reads, the current one included.
func (c *srvConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	notify(c.kick)
	return nil
}

// SetDeadline sets the read and the write deadlines.
func (c *srvConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// Close closes the connection and waits for loop to end.
func (c *srvConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	err := c.Conn.Close()
	<-c.done
	return err
}
