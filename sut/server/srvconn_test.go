package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serveWith runs an HTTP server on the shop's listener (newListener) and
// returns its address; the test's cleanup shuts it down.
func serveWith(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(newListener(ln))
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return ln.Addr().String()
}

// The server notices a client that goes away while its request is being
// handled (the request's context ends), as net/http's own reads do.
func TestListenerCancelsTheRequestOfAClientThatLeft(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan error, 1)
	addr := serveWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			cancelled <- r.Context().Err()
		case <-time.After(10 * time.Second):
			cancelled <- errors.New("not cancelled")
		}
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	c.Close()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("the handler of a client that left saw %v", err)
	}
}

// Requests sent back to back on one connection (pipelined), bodies larger
// than the reader's buffer and many keep-alive requests are all served.
func TestListenerServesPipelinedAndLargeRequests(t *testing.T) {
	addr := serveWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %d %v", r.URL.Path, n, err)
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := strings.Repeat("x", 300<<10)
	var reqs bytes.Buffer
	var want []string
	for i := 0; i < 20; i++ {
		body := ""
		if i%5 == 3 {
			body = big
		}
		fmt.Fprintf(&reqs, "POST /r%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
		want = append(want, fmt.Sprintf("/r%d %d <nil>", i, len(body)))
	}
	go func() { _, _ = c.Write(reqs.Bytes()) }() // all at once: the server reads ahead
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != w {
			t.Fatalf("answer %d: %q, want %q", i, got, w)
		}
	}
}

func TestSrvConnDeadlinesAndClose(t *testing.T) {
	if !h1Supported {
		t.Skip("Linux only")
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ln := newListener(raw)
	client, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*srvConn); !ok {
		t.Fatalf("Accept gave a %T, want *srvConn", c)
	}
	buf := make([]byte, 16)
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
	}

	// A deadline in the past fails at once; one in the future ends a wait.
	_ = c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("read past the deadline: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("read until a deadline: %v", err)
	}

	// Moving the deadline into the past ends a Read under way (what
	// net/http does to its background read when the handler is done).
	_ = c.SetReadDeadline(time.Time{})
	ended := make(chan error, 1)
	go func() { _, err := c.Read(buf); ended <- err }()
	time.Sleep(20 * time.Millisecond) // let the Read wait; a Read that did not wait yet fails the same way
	_ = c.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-ended:
		if !isTimeout(err) {
			t.Fatalf("aborted read: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("moving the deadline into the past did not end the read")
	}

	// Data waits for the next Read; without a deadline it is read.
	_ = c.SetReadDeadline(time.Time{})
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}

	// Close ends a Read under way, and its reader.
	go func() { _, err := c.Read(buf); ended <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed connection: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the read")
	}
	select {
	case <-c.(*srvConn).done:
	default:
		t.Fatal("Close returned before the connection's reader ended")
	}

	// The peer's close reads as EOF, also when it came with the peer's
	// last data (one event for both): within recheck.
	client2, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	client2.Write([]byte("last"))
	client2.Close()
	start := time.Now()
	got, err := io.ReadAll(c2)
	if err != nil || string(got) != "last" {
		t.Fatalf("read to the peer's close: %q, %v", got, err)
	}
	if took := time.Since(start); took > recheck+5*time.Second {
		t.Errorf("the peer's close was noticed after %v (recheck %v)", took, recheck)
	}
}
