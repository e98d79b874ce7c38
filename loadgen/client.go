package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/lib/h1wire"
	"github.com/gameday/gameday/internal/lib/rawio"
)

// Error classes. A response with a status is classed by its status (2xx and
// 3xx are not errors); a request that got no status is classed by what broke.
const (
	ClassTimeout   = "timeout"   // no complete answer within the timeout
	ClassRefused   = "refused"   // connection refused
	ClassReset     = "reset"     // connection reset or closed by the peer mid-request
	ClassTransport = "transport" // any other transport or protocol error
	Class4xx       = "4xx"
	Class5xx       = "5xx"
)

// ClassCanceled is not an error class: it is the `code` label value of
// gameday_client_requests_total for the requests the generator's own stop
// cut short (counted in IntervalStats.Cancelled and Totals.Cancelled, never
// in Errors). The gameday:* recording rules leave it out of every ratio.
const ClassCanceled = "canceled"

const (
	cOK = iota
	cTimeout
	cRefused
	cReset
	cTransport
	c4xx
	c5xx
	cCanceled
	numClasses
)

var classNames = [numClasses]string{"", ClassTimeout, ClassRefused, ClassReset, ClassTransport, Class4xx, Class5xx, ClassCanceled}

// ClassifyError names the class of a transport error.
func ClassifyError(err error) string { return classNames[classifyErr(err)] }

func classifyErr(err error) int {
	var ne net.Error
	switch {
	case err == nil:
		return cOK
	case errors.Is(err, context.Canceled):
		return cCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return cTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return cRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return cReset
	default:
		return cTransport
	}
}

func classifyStatus(code int) int {
	switch {
	case code >= 500:
		return c5xx
	case code >= 400:
		return c4xx
	default:
		return cOK
	}
}

// StatusClass names the error class of an HTTP status ("" when not an error).
func StatusClass(code int) string { return classNames[classifyStatus(code)] }

// rawConn is one HTTP/1.1 keep-alive connection owned by one worker: the
// request bytes are written as they are and the answer is parsed in place
// from a reused buffer, so a request allocates nothing.
type rawConn struct {
	addr   string
	dialer *net.Dialer
	reg    *connRegistry
	c      net.Conn
	io     io.ReadWriter // c's socket through raw system calls (Linux), else c
	br     *bufio.Reader
	used   bool // has answered at least one request
}

// roundTrip sends req and reads the whole answer. deadline bounds it.
func (rc *rawConn) roundTrip(ctx context.Context, req []byte, isHead, idempotent bool, deadline time.Time) (int, error) {
	for attempt := 0; ; attempt++ {
		reused := rc.c != nil && rc.used
		status, got, err := rc.once(ctx, req, isHead, deadline)
		if err == nil {
			return status, nil
		}
		rc.close()
		// A keep-alive connection the server closed while idle fails before
		// any byte of the answer: send once more on a fresh one.
		if attempt == 0 && reused && !got && idempotent && classifyErr(err) == cReset && ctx.Err() == nil {
			continue
		}
		return 0, err
	}
}

func (rc *rawConn) once(ctx context.Context, req []byte, isHead bool, deadline time.Time) (status int, got bool, err error) {
	if rc.c == nil {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		c, err := rc.dialer.DialContext(dctx, "tcp", rc.addr)
		cancel()
		if err != nil {
			return 0, false, err
		}
		fio, err := rawio.New(c)
		if err != nil {
			_ = c.Close()
			return 0, false, err
		}
		rc.c, rc.io = c, fio
		rc.used = false
		if rc.br == nil {
			rc.br = bufio.NewReaderSize(fio, readBufSize)
		} else {
			rc.br.Reset(fio)
		}
		rc.reg.add(c)
	}
	if err := rc.c.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if err := ctx.Err(); err != nil { // interrupted: abort may have raced the deadline above
		return 0, false, err
	}
	if _, err := rc.io.Write(req); err != nil {
		return 0, false, err
	}
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, len(line) > 0, err
	}
	head, ok := h1wire.StatusLine(line)
	if !ok {
		return 0, true, h1wire.ErrMalformed
	}
	for {
		h, err := rc.readLine()
		if err != nil {
			return 0, true, err
		}
		if len(h) <= 2 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 || !head.Header(h[:colon], bytes.TrimSpace(h[colon+1:])) {
			return 0, true, h1wire.ErrMalformed
		}
	}
	status, contentLength, chunked, closeAfter := head.Status, head.ContentLength, head.Chunked, head.Close
	switch {
	case status >= 100 && status < 200 && status != 101:
		// Interim answer (100 Continue, 103 Early Hints): the final one follows
		// on the same stream.
		return rc.once(ctx, nil, isHead, deadline)
	case status == 101:
		closeAfter = true // switched protocols: nothing more this client can read
	case isHead || status == 204 || status == 304:
	case chunked:
		if _, err := h1wire.ReadChunked(rc.br, nil, -1); err != nil {
			return 0, true, err
		}
	case contentLength >= 0:
		if _, err := rc.br.Discard(int(contentLength)); err != nil {
			return 0, true, err
		}
	default:
		// No length: the body runs until the server closes.
		if _, err := io.Copy(io.Discard, rc.br); err != nil {
			return 0, true, err
		}
		closeAfter = true
	}
	rc.used = true
	if closeAfter {
		rc.close()
	}
	return status, true, nil
}

// readBufSize is each connection's read buffer: the status line and the
// headers are parsed in place from it (longer header lines are cut, see
// readLine), bodies are skipped through it.
const readBufSize = 4 << 10

// readLine returns the next header line; a line longer than the buffer is
// returned cut to the buffer's size and its rest skipped (only the start of
// a header line matters here).
func (rc *rawConn) readLine() ([]byte, error) {
	line, err := rc.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	// Keep the line's start: copy it out before the buffer is reused.
	head := append([]byte(nil), line...)
	for err == bufio.ErrBufferFull {
		_, err = rc.br.ReadSlice('\n')
	}
	return head, err
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.reg.remove(rc.c)
		_ = rc.c.Close()
		rc.c, rc.io = nil, nil
	}
}

// connRegistry holds the open connections so that an interrupted run can cut
// every request short at once.
type connRegistry struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool
}

func newConnRegistry() *connRegistry {
	return &connRegistry{conns: map[net.Conn]struct{}{}}
}

func (r *connRegistry) add(c net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		_ = c.SetDeadline(time.Unix(1, 0))
	}
	r.conns[c] = struct{}{}
}

func (r *connRegistry) remove(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// abort makes every pending read or write on the connections fail now.
func (r *connRegistry) abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	for c := range r.conns {
		_ = c.SetDeadline(time.Unix(1, 0))
	}
}
