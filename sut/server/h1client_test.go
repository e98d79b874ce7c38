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
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// h1Server is a test server that counts the connections it accepted and
// the requests it served.
type h1Server struct {
	*httptest.Server
	conns, reqs atomic.Int64
}

func newH1Server(t *testing.T, h http.HandlerFunc) *h1Server {
	t.Helper()
	s := &h1Server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reqs.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func h1TargetFor(t *testing.T, base string) *h1Target {
	t.Helper()
	if !h1Supported {
		t.Skip("the shop's own HTTP client is Linux only")
	}
	tg := newH1Target(base)
	if tg == nil {
		t.Fatalf("no client for %s", base)
	}
	t.Cleanup(tg.close)
	return tg
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	fmt.Fprintf(w, "%s %s %s ct=%s len=%d body=%s", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Content-Type"), r.ContentLength, body)
}

func TestH1ClientReusesOneConnection(t *testing.T) {
	srv := newH1Server(t, echoHandler)
	tg := h1TargetFor(t, srv.URL)
	for i := 0; i < 50; i++ {
		method, body := "GET", []byte(nil)
		if i%2 == 1 {
			method, body = "POST", []byte(`{"n":1}`)
		}
		status, data, err := tg.do(context.Background(), method, "/x/y", body)
		if err != nil || status != 200 {
			t.Fatalf("call %d: %d %v", i, status, err)
		}
		want := fmt.Sprintf("%s /x/y %s ct= len=0 body=", method, strings.TrimPrefix(srv.URL, "http://"))
		if body != nil {
			want = fmt.Sprintf("%s /x/y %s ct=application/json len=7 body={\"n\":1}", method, strings.TrimPrefix(srv.URL, "http://"))
		}
		if string(data) != want {
			t.Fatalf("call %d: answer %q, want %q", i, data, want)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("50 sequential calls opened %d connections, want 1", n)
	}
}

func TestH1ClientBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: many reads
	srv := newH1Server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("hello, "))
			w.(http.Flusher).Flush() // no length known: chunked
			w.Write([]byte("world"))
		case "/big":
			w.Write(big)
		case "/echo-len":
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, n)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		case "/a b":
			fmt.Fprint(w, "escaped:", r.RequestURI)
		}
	})
	tg := h1TargetFor(t, srv.URL)
	ctx := context.Background()
	check := func(method, path string, body []byte, wantStatus int, want []byte) {
		t.Helper()
		status, data, err := tg.do(ctx, method, path, body)
		if err != nil || status != wantStatus || !bytes.Equal(data, want) {
			t.Fatalf("%s %s: %d %v, %d bytes %.40q; want %d, %d bytes %.40q", method, path, status, err, len(data), data, wantStatus, len(want), want)
		}
	}
	check("GET", "/chunked", nil, 200, []byte("hello, world"))
	check("GET", "/big", nil, 200, big)
	check("POST", "/echo-len", big, 200, []byte(fmt.Sprint(len(big)))) // more than a socket buffer: the write stalls
	check("GET", "/empty", nil, 204, nil)
	before := srv.conns.Load()
	check("GET", "/close", nil, 200, []byte("bye"))
	check("GET", "/chunked", nil, 200, []byte("hello, world"))
	if n := srv.conns.Load() - before; n != 1 {
		t.Errorf("the call after an answer with Connection: close opened %d connections, want 1", n)
	}
	check("GET", "/a b", nil, 200, []byte("escaped:/a%20b"))
}

// A keep-alive connection the server closed while it was idle: the next
// call goes on a fresh connection, and a POST is sent exactly once.
func TestH1ClientSurvivesServerClosingIdleConnections(t *testing.T) {
	srv := newH1Server(t, echoHandler)
	tg := h1TargetFor(t, srv.URL)
	ctx := context.Background()
	for i, method := range []string{"GET", "POST", "GET", "POST"} {
		if _, _, err := tg.do(ctx, method, "/warm", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		srv.CloseClientConnections() // closes the idle keep-alive connection
		reqs := srv.reqs.Load()
		var body []byte
		if method == "POST" {
			body = []byte(`{"once":true}`)
		}
		status, _, err := tg.do(ctx, method, "/after-close", body)
		if err != nil || status != 200 {
			t.Fatalf("round %d: %s after the server closed the idle connection: %d %v", i, method, status, err)
		}
		if n := srv.reqs.Load() - reqs; n != 1 {
			t.Fatalf("round %d: %s served %d times, want once", i, method, n)
		}
	}
}

// rawServer answers every connection with fn (a test of what net/http's
// server never sends).
func rawServer(t *testing.T, fn func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func readRequest(t *testing.T, br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, req.Body)
	return true
}

func TestH1ClientInterimAndCloseDelimitedAnswers(t *testing.T) {
	url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(t, br) {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.0 200 OK\r\nX-A: b\r\n\r\nuntil the end")
		}
	})
	tg := h1TargetFor(t, url)
	status, data, err := tg.do(context.Background(), "GET", "/", nil)
	if err != nil || status != 200 || string(data) != "until the end" {
		t.Fatalf("got %d %q %v", status, data, err)
	}
}

func TestH1ClientMalformedAndCutAnswers(t *testing.T) {
	for name, answer := range map[string]string{
		"garbage":      "HELLO\r\n\r\n",
		"cut in head":  "HTTP/1.1 200 OK\r\nContent-Len",
		"cut in body":  "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"bad chunk":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"two lengths":  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"nothing back": "",
	} {
		t.Run(name, func(t *testing.T) {
			url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if readRequest(t, br) {
					io.WriteString(c, answer)
				}
			})
			tg := h1TargetFor(t, url)
			if status, data, err := tg.do(context.Background(), "GET", "/", nil); err == nil {
				t.Fatalf("answer %q: no error (%d %q)", answer, status, data)
			} else if !strings.HasPrefix(err.Error(), `Get "`+url+`/": `) {
				t.Errorf("error %q does not read like net/http's", err)
			}
		})
	}
}

func TestH1ClientEndsWithTheContext(t *testing.T) {
	release := make(chan struct{})
	srv := newH1Server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tg := h1TargetFor(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := tg.do(ctx, "GET", "/slow", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call past its deadline returned %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the call ended %v after it started, its deadline was 50ms", took)
	}
	if n := len(tg.idle); n != 0 {
		t.Errorf("a connection whose call was cut short went back to the pool (%d idle)", n)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); ccancel() }()
	if _, _, err := tg.do(cctx, "GET", "/slow", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled call returned %v", err)
	}
}

func TestH1ClientRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	tg := h1TargetFor(t, url)
	if _, _, err := tg.do(context.Background(), "GET", "/", nil); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a call to a closed port returned %v", err)
	}
}

func TestNewH1TargetOnlyForPlainHTTP(t *testing.T) {
	if !h1Supported {
		t.Skip("Linux only")
	}
	for base, want := range map[string]bool{
		"http://127.0.0.1:8080":      true,
		"http://payment-0:8080/base": true,
		"http://localhost":           true,
		"https://127.0.0.1:8443":     false,
		"http://u:p@127.0.0.1:1":     false,
	} {
		if got := newH1Target(base) != nil; got != want {
			t.Errorf("newH1Target(%q): %v, want %v", base, got, want)
		}
	}
	if tg := newH1Target("http://localhost/base/"); tg.addr != "localhost:80" || tg.prefix != "/base" || tg.host != "localhost" {
		t.Errorf("http://localhost/base/: addr %q host %q prefix %q", tg.addr, tg.host, tg.prefix)
	}
}
