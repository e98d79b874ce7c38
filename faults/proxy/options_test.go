package proxy

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// WithListener: the proxy accepts on the given listener, reports its
// address, and closes it on Close.
func TestWithListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Listen(context.Background(), "", echoServer(t), WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	if p.Addr() != ln.Addr().String() {
		t.Errorf("Addr() = %s, want the listener's %s", p.Addr(), ln.Addr())
	}
	if want := ln.Addr().String() + "->" + p.Upstream(); p.Name() != want {
		t.Errorf("Name() = %q, want %q", p.Name(), want)
	}
	if err := roundTrip(dial(t, p.Addr()), []byte("hello"), 2*time.Second); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// A failed Listen closes the listener it was given.
func TestWithListenerClosedOnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(context.Background(), "", "", WithListener(ln)); err == nil {
		t.Fatal("Listen with an empty upstream: no error")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after failed Listen: %v, want net.ErrClosed", err)
	}
}

// WithDialer: upstream connections come from the given dial function, with
// the proxy's upstream address; its failure is a dial error (RST to the
// caller); the dial timeout reaches it through ctx.
func TestWithDialer(t *testing.T) {
	up := echoServer(t)
	var calls atomic.Int64
	var lastAddr atomic.Pointer[string]
	var fail atomic.Bool
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		calls.Add(1)
		lastAddr.Store(&addr)
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("no deadline on the dial context")
		}
		if fail.Load() {
			return nil, errors.New("refused by test")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, up) // not addr: proves this dialer is used
	}
	p := newProxy(t, "192.0.2.1:9", WithDialer(dial), WithDialTimeout(time.Second))
	if err := dialRoundTrip(p.Addr(), []byte("ping"), 2*time.Second); err != nil {
		t.Fatalf("round trip through the custom dialer: %v", err)
	}
	if calls.Load() != 1 || *lastAddr.Load() != "192.0.2.1:9" {
		t.Errorf("dialer called %d times with %q, want once with the upstream", calls.Load(), *lastAddr.Load())
	}
	fail.Store(true)
	err := dialRoundTrip(p.Addr(), []byte("ping"), 2*time.Second)
	if err == nil || isTimeout(err) {
		t.Errorf("round trip with a failing dialer: %v, want the connection closed", err)
	}
	if got := p.Stats().DialErrors; got != 1 {
		t.Errorf("Stats().DialErrors = %d, want 1", got)
	}
}

// The dial timeout cancels a custom dial that hangs.
func TestWithDialerTimeout(t *testing.T) {
	hung := make(chan struct{}, 1)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		hung <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	p := newProxy(t, "192.0.2.1:9", WithDialer(dial), WithDialTimeout(100*time.Millisecond))
	start := time.Now()
	err := dialRoundTrip(p.Addr(), []byte("ping"), 5*time.Second)
	<-hung
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("round trip with a hung dialer: %v after %v, want an error after ~100ms", err, time.Since(start))
	}
	if got := p.Stats().DialErrors; got != 1 {
		t.Errorf("Stats().DialErrors = %d, want 1", got)
	}
}
