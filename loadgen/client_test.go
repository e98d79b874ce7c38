package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawServer accepts connections and hands each to handle (a real socket).
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func newTestConn(addr string) *rawConn {
	return &rawConn{addr: addr, dialer: &net.Dialer{}, reg: newConnRegistry()}
}

func getReq(host string) []byte {
	return []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
}

func TestClassifyTransportErrors(t *testing.T) {
	// refused: a port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := ln.Addr().String()
	ln.Close()

	resetAddr := rawServer(t, func(c net.Conn) {
		// Read the request, then abort the connection with a RST.
		_, _ = bufio.NewReader(c).ReadString('\n')
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	hangs := make(chan struct{})
	t.Cleanup(func() { close(hangs) })
	silentAddr := rawServer(t, func(c net.Conn) { <-hangs; c.Close() })
	garbageAddr := rawServer(t, func(c net.Conn) {
		_, _ = bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
		c.Close()
	})
	for _, c := range []struct {
		addr string
		want string
	}{{closedAddr, ClassRefused}, {resetAddr, ClassReset}, {silentAddr, ClassTimeout}, {garbageAddr, ClassTransport}} {
		rc := newTestConn(c.addr)
		_, err := rc.roundTrip(context.Background(), getReq(c.addr), false, true, time.Now().Add(300*time.Millisecond))
		if err == nil {
			t.Errorf("%s: no error", c.want)
			continue
		}
		if got := ClassifyError(err); got != c.want {
			t.Errorf("error %v classified %q, want %q", err, got, c.want)
		}
	}
	if got := ClassifyError(context.Canceled); got != ClassCanceled {
		t.Errorf("canceled classified %q", got)
	}
	if got := ClassifyError(errors.New("x")); got != ClassTransport {
		t.Errorf("plain error classified %q", got)
	}
	for code, want := range map[int]string{200: "", 302: "", 404: Class4xx, 429: Class4xx, 500: Class5xx, 503: Class5xx} {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestRawClientResponses(t *testing.T) {
	var conns int
	mux := http.NewServeMux()
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			_, _ = io.WriteString(w, strings.Repeat("x", 5000))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status/404":
			w.WriteHeader(404)
		case "/status/503":
			w.WriteHeader(503)
		case "/status/204":
			w.WriteHeader(204)
		}
		_, _ = io.WriteString(w, "body")
	})
	mux.HandleFunc("/longheader", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Long", strings.Repeat("y", 3*readBufSize))
		_, _ = io.WriteString(w, "long")
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	rc := newTestConn(addr)
	defer rc.close()
	for _, c := range []struct {
		path string
		want int
	}{{"/chunked", 200}, {"/status/404", 404}, {"/status/503", 503}, {"/status/204", 204}, {"/longheader", 200}, {"/chunked", 200}, {"/close", 200}, {"/chunked", 200}} {
		req := []byte("GET " + c.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		got, err := rc.roundTrip(context.Background(), req, false, true, time.Now().Add(5*time.Second))
		if err != nil || got != c.want {
			t.Fatalf("%s: status %d err %v, want %d", c.path, got, err, c.want)
		}
	}
	// One keep-alive connection until /close, then a second one.
	srv.Close()
	if conns != 2 {
		t.Errorf("connections opened = %d, want 2 (keep-alive reuse)", conns)
	}
}

func TestRawClientRetriesIdleClose(t *testing.T) {
	// The server answers one request per connection without saying so, then
	// closes: the next request on the reused connection must be retried once.
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	rc := newTestConn(addr)
	defer rc.close()
	for i := range 3 {
		st, err := rc.roundTrip(context.Background(), getReq(addr), false, true, time.Now().Add(2*time.Second))
		if err != nil || st != 200 {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
}
