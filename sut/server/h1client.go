package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/lib/h1wire"
)

// h1Target is the client of one callee replica's base URL (http:// only):
// a small HTTP/1.1 keep-alive client for the shop's calls, in place of
// net/http's Transport, because on the machines the shop runs on system
// calls and context switches are what a request costs.
//
// A call is made by the calling goroutine alone (net/http hands it to a
// writer and a reader goroutine per connection), and the request is written
// from inside the netpoller's read callback, so that the wait for the answer
// is armed before the request leaves: the first read is the answer, never a
// read that finds nothing yet (see h1io_linux.go). What net/http's Transport
// does that the shop relies on is kept: keep-alive connections reused
// last-in first-out (at most maxIdlePerTarget idle, closed after
// idleTimeout), a GET retried once on a fresh connection when a reused one
// turns out to have been closed by the server while idle (before any byte
// of the answer), a request with a body never sent twice (a reused
// connection is checked for the server's close before a POST is written on
// it), the context ending the call at once, bodies read in full so the
// connection can be reused, and errors that read like net/http's
// (`Get "http://…": …`).
type h1Target struct {
	base   string // the base URL, for error messages
	addr   string // host:port to dial
	host   string // Host header
	prefix string // path of the base URL, prepended to every request path
	dialer net.Dialer

	mu     sync.Mutex
	idle   []*h1Conn // last in, first out
	closed bool
}

const (
	maxIdlePerTarget = 256
	idleTimeout      = 90 * time.Second // below the server's 120 s, like net/http's Transport
	maxHeaderBytes   = 1 << 20
	maxBodyBytes     = 64 << 20
	userAgent        = "Go-http-client/1.1" // what net/http sent before
)

// newH1Target returns the client of base, or nil when base is not a plain
// http:// URL (the caller then keeps net/http).
func newH1Target(base string) *h1Target {
	if !h1Supported {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &h1Target{base: base, addr: addr, host: u.Host, prefix: strings.TrimRight(u.EscapedPath(), "/")}
}

// errStale is a reused connection found closed by the server before the
// request was written on it.
var errStale = errors.New("keep-alive connection closed by the server")

// do sends one request and reads the whole answer: its status and body. A
// non-nil error may come with the status of an answer whose body could not
// be read.
func (t *h1Target) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	target, ok := requestTarget(t.prefix, path)
	if !ok {
		u, err := url.Parse(t.base + path)
		if err != nil {
			return 0, nil, err
		}
		target = u.RequestURI()
	}
	idempotent := method == "GET" || method == "HEAD"
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, nil, t.urlError(method, path, err)
		}
		c, reused, err := t.get(ctx)
		if err != nil {
			return 0, nil, t.urlError(method, path, err)
		}
		c.render(method, target, t.host, body)
		status, data, got, err := c.roundTrip(ctx, method == "HEAD", reused && !idempotent)
		if err == nil {
			t.put(c)
			return status, data, nil
		}
		c.close()
		// A keep-alive connection the server closed while idle: the request
		// goes once more on a fresh one if it cannot have been acted on
		// (nothing written) or may be repeated (GET), as net/http does.
		if attempt == 0 && reused && !got && ctx.Err() == nil && (errors.Is(err, errStale) || idempotent && isConnGone(err)) {
			continue
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return status, nil, t.urlError(method, path, err)
	}
}

func (t *h1Target) urlError(method, path string, err error) error {
	return &url.Error{Op: method[:1] + strings.ToLower(method[1:]), URL: t.base + path, Err: err}
}

// isConnGone reports an error that means the server had closed the
// connection.
func isConnGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// requestTarget is prefix+path when that needs no escaping (the shop's
// paths), like net/http's RequestURI would write it.
func requestTarget(prefix, path string) (string, bool) {
	if path == "" || path[0] != '/' {
		return "", false
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/-._~", c) >= 0) {
			return "", false
		}
	}
	if prefix == "" {
		return path, true
	}
	return prefix + path, true
}

// get takes an idle connection (the most recently used) or dials one.
func (t *h1Target) get(ctx context.Context) (c *h1Conn, reused bool, err error) {
	now := time.Now()
	t.mu.Lock()
	for len(t.idle) > 0 {
		c = t.idle[len(t.idle)-1]
		t.idle[len(t.idle)-1] = nil
		t.idle = t.idle[:len(t.idle)-1]
		if now.Sub(c.idleSince) < idleTimeout {
			t.mu.Unlock()
			return c, true, nil
		}
		c.close()
	}
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, false, errors.New("client closed")
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	c, err = newH1Conn(nc)
	if err != nil {
		_ = nc.Close()
		return nil, false, err
	}
	return c, false, nil
}

// put gives a connection back after a complete answer, or closes it.
func (t *h1Target) put(c *h1Conn) {
	if !c.reusable {
		c.close()
		return
	}
	c.idleSince = time.Now()
	t.mu.Lock()
	if t.closed || len(t.idle) >= maxIdlePerTarget {
		t.mu.Unlock()
		c.close()
		return
	}
	t.idle = append(t.idle, c)
	t.mu.Unlock()
}

// close closes the idle connections; the ones in use are closed when their
// call ends.
func (t *h1Target) close() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.closed = nil, true
	t.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// h1Conn is one keep-alive connection, used by one call at a time.
type h1Conn struct {
	nc        net.Conn
	io        *h1IO // the socket's I/O (raw system calls on Linux)
	br        *bufio.Reader
	out       []byte // the request, rendered; reused
	got       bool   // a byte of the answer has been read
	reusable  bool   // after a complete answer: may carry another request
	idleSince time.Time
}

func newH1Conn(nc net.Conn) (*h1Conn, error) {
	c := &h1Conn{nc: nc}
	var err error
	if c.io, err = newH1IO(nc); err != nil {
		return nil, err
	}
	c.br = bufio.NewReaderSize(h1Reader{c}, 4<<10)
	return c, nil
}

// h1Reader feeds the connection's bufio.Reader: the first read of a call
// sends the request too (see h1IO).
type h1Reader struct{ c *h1Conn }

func (r h1Reader) Read(p []byte) (int, error) {
	n, err := r.c.io.read(p)
	if n > 0 {
		r.c.got = true
	}
	return n, err
}

func (c *h1Conn) close() { _ = c.nc.Close() }

// abort makes the connection's pending and future I/O fail at once: the
// call's context ended.
func (c *h1Conn) abort() { _ = c.nc.SetDeadline(time.Unix(1, 0)) }

// render writes the request into c.out, as net/http's Transport wrote it.
func (c *h1Conn) render(method, target, host string, body []byte) {
	b := c.out[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: "+userAgent+"\r\n"...)
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\nContent-Type: application/json\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.out = b
}

// roundTrip sends c.out and reads the answer. checkStale first checks that
// the server has not closed the connection (errStale, nothing written).
func (c *h1Conn) roundTrip(ctx context.Context, isHead, checkStale bool) (status int, body []byte, got bool, err error) {
	c.got, c.reusable = false, false
	if c.br.Buffered() > 0 { // bytes nobody asked for: not a usable connection
		return 0, nil, false, h1wire.ErrMalformed
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.abort)
	}
	c.io.send(c.out, checkStale)
	status, body, closeAfter, err := c.readResponse(isHead)
	if stop != nil && !stop() {
		closeAfter = true // the deadline is set, or about to be
	}
	if len(c.out) > 64<<10 {
		c.out = nil // do not keep a large body's buffer
	}
	c.reusable = err == nil && !closeAfter && c.br.Buffered() == 0
	return status, body, c.got, err
}

// readResponse reads one answer (after any 1xx interim ones).
func (c *h1Conn) readResponse(isHead bool) (status int, body []byte, closeAfter bool, err error) {
	for {
		var contentLength int64
		var chunked bool
		status, contentLength, chunked, closeAfter, err = c.readHead()
		if err != nil {
			return status, nil, true, err
		}
		if status >= 100 && status < 200 && status != 101 {
			continue // interim answer: the final one follows
		}
		switch {
		case status == 101:
			return status, nil, true, nil
		case isHead || status == 204 || status == 304:
			return status, nil, closeAfter, nil
		case chunked:
			var buf bytes.Buffer
			_, err = h1wire.ReadChunked(c.br, &buf, maxBodyBytes)
			body = buf.Bytes()
		case contentLength >= 0:
			if contentLength > maxBodyBytes {
				return status, nil, true, fmt.Errorf("answer of %d bytes: more than %d", contentLength, maxBodyBytes)
			}
			body = make([]byte, contentLength)
			_, err = io.ReadFull(c.br, body)
		default: // no length: the body runs until the server closes
			body, err = io.ReadAll(io.LimitReader(c.br, maxBodyBytes))
			closeAfter = true
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return status, body, closeAfter, err
	}
}

// readHead reads a status line and headers.
func (c *h1Conn) readHead() (status int, contentLength int64, chunked, closeAfter bool, err error) {
	contentLength = -1
	size := 0
	line, err := c.readLine(&size)
	if err != nil {
		return 0, 0, false, true, err
	}
	head, ok := h1wire.StatusLine(line)
	if !ok {
		return 0, 0, false, true, h1wire.ErrMalformed
	}
	for {
		h, err := c.readLine(&size)
		if err != nil {
			return head.Status, 0, false, true, err
		}
		if len(h) == 0 {
			return head.Status, head.ContentLength, head.Chunked, head.Close, nil
		}
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 || !head.Header(h[:colon], bytes.TrimSpace(h[colon+1:])) {
			return head.Status, 0, false, true, h1wire.ErrMalformed
		}
	}
}

// readLine returns the next line without its CR LF; *size counts the head's
// bytes against maxHeaderBytes. The line is valid until the next read.
func (c *h1Conn) readLine(size *int) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // a long line: gather it
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(long) <= maxHeaderBytes {
			line, err = c.br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	*size += len(line)
	if *size > maxHeaderBytes {
		return nil, fmt.Errorf("answer headers: more than %d bytes", maxHeaderBytes)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
