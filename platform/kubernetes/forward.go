package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport/spdy"
)

// portForwardProtocol is the port-forward subprotocol (client-go's
// portforward.PortForwardProtocolV1Name).
const portForwardProtocol = "portforward.k8s.io"

// tunnel is one port-forward connection (SPDY, through the API server and
// the kubelet) to one pod, identified by its UID. Each TCP connection the
// harness opens to the pod is a pair of streams on it (client-go's
// portforward protocol: an error stream and a data stream per connection),
// made on demand by dial: no local listener of client-go's, no goroutine
// per port, errors returned to the caller instead of logged.
type tunnel struct {
	pod    string
	uid    types.UID
	conn   httpstream.Connection
	nextID atomic.Int64
	broken atomic.Bool // a stream creation hung: replace the tunnel

	adminOnce   sync.Once
	adminClient *http.Client
}

// dialTunnel opens a port-forward connection to the pod at u (its
// portforward subresource), of UID uid.
func dialTunnel(ctx context.Context, cfg *rest.Config, u *url.URL, pod string, uid types.UID) (*tunnel, error) {
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", pod, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", pod, err)
	}
	conn, proto, err := spdy.Negotiate(upgrader, &http.Client{Transport: rt}, req, portForwardProtocol)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", pod, err)
	}
	if proto != portForwardProtocol {
		conn.Close()
		return nil, fmt.Errorf("port-forward to %s: server chose protocol %q", pod, proto)
	}
	return &tunnel{pod: pod, uid: uid, conn: conn}, nil
}

// done is closed once the connection is gone (pod gone, API server or
// network failure, Close).
func (t *tunnel) done() <-chan bool {
	if t.conn == nil {
		return nil
	}
	return t.conn.CloseChan()
}

// Close closes the connection and every stream on it.
func (t *tunnel) Close() {
	if t.conn != nil {
		_ = t.conn.Close()
	}
}

// streamTimeout bounds the creation of one stream pair: a connection whose
// server no longer answers stream requests (seen under load: the SPDY
// connection stays open, every CreateStream hangs) is closed, so that the
// instance's reconciler opens a new one.
const streamTimeout = 3 * time.Second

// errStuck says the tunnel was closed because a stream creation hung.
var errStuck = errors.New("port-forward connection stuck")

// dial opens a TCP connection to the pod's port through the tunnel. ctx
// bounds the stream creation, and so does streamTimeout: past it the tunnel
// is closed as stuck (errStuck).
func (t *tunnel) dial(ctx context.Context, port int) (net.Conn, error) {
	stuck := time.NewTimer(streamTimeout)
	defer stuck.Stop()
	type result struct {
		c   *streamConn
		err error
	}
	ch := make(chan result, 1)
	go func() { // CreateStream has no context; the connection's Close ends it
		c, err := t.open(port)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("dial %s:%d: %w", t.pod, port, ctx.Err())
	case <-stuck.C:
		// The connection's frame handling is blocked (spdystream hands
		// each stream's frames to one of a few workers; one stream whose
		// data nobody reads blocks every stream of its worker, replies to
		// new streams included). Mark it for replacement and close it in
		// the background: a blocked connection may block Close too.
		t.broken.Store(true)
		go func() {
			t.Close()
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("dial %s:%d: no answer in %s: %w", t.pod, port, streamTimeout, errStuck)
	}
}

func (t *tunnel) open(port int) (*streamConn, error) {
	id := strconv.FormatInt(t.nextID.Add(1), 10)
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(port))
	h.Set(corev1.PortForwardRequestIDHeader, id)
	errs, err := t.conn.CreateStream(h)
	if err != nil {
		return nil, fmt.Errorf("dial %s:%d: error stream: %w", t.pod, port, err)
	}
	_ = errs.Close() // nothing is written to it
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := t.conn.CreateStream(h)
	if err != nil {
		_ = errs.Reset()
		t.conn.RemoveStreams(errs)
		return nil, fmt.Errorf("dial %s:%d: data stream: %w", t.pod, port, err)
	}
	c := &streamConn{t: t, data: data, errs: errs, port: port}
	go c.watchErrors()
	return c, nil
}

// adminHTTP is an HTTP client whose every connection goes to the pod's
// sidecar admin port through this tunnel (never through a newer pod's).
func (t *tunnel) adminHTTP() *http.Client {
	t.adminOnce.Do(func() {
		t.adminClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return t.dial(ctx, adminPort)
			},
		}}
	})
	return t.adminClient
}

// streamConn is one forwarded TCP connection as a net.Conn: Close resets
// both streams, CloseWrite half-closes (the proxy relays a caller's EOF).
// Deadlines are not supported (the fault proxy does not use them).
type streamConn struct {
	t          *tunnel
	data, errs httpstream.Stream
	port       int
	once       sync.Once
	remoteErr  atomic.Pointer[string]
}

// watchErrors reads the error stream: a message (the kubelet could not
// connect to the port) ends the data stream, so that the caller sees a
// closed connection instead of a silent one.
func (c *streamConn) watchErrors() {
	msg, err := io.ReadAll(c.errs)
	if err == nil && len(msg) > 0 {
		s := string(msg)
		c.remoteErr.Store(&s)
		_ = c.data.Reset()
	}
}

func (c *streamConn) Read(b []byte) (int, error) {
	n, err := c.data.Read(b)
	if err != nil {
		if s := c.remoteErr.Load(); s != nil {
			return n, fmt.Errorf("port-forward %s:%d: %s", c.t.pod, c.port, *s)
		}
	}
	return n, err
}

func (c *streamConn) Write(b []byte) (int, error) { return c.data.Write(b) }

// CloseWrite tells the pod's side that nothing more is sent.
func (c *streamConn) CloseWrite() error { return c.data.Close() }

func (c *streamConn) Close() error {
	c.once.Do(func() {
		_ = c.data.Reset()
		_ = c.errs.Reset()
		c.t.conn.RemoveStreams(c.data, c.errs)
	})
	return nil
}

type podAddr string

func (a podAddr) Network() string { return "portforward" }
func (a podAddr) String() string  { return string(a) }

func (c *streamConn) LocalAddr() net.Addr { return podAddr("harness") }
func (c *streamConn) RemoteAddr() net.Addr {
	return podAddr(c.t.pod + ":" + strconv.Itoa(c.port))
}
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }
