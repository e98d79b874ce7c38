package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestForwardAndStats(t *testing.T) {
	p := newProxy(t, echoServer(t), WithName("a->b"))
	if p.Name() != "a->b" || !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
		t.Fatalf("Name %q Addr %q", p.Name(), p.Addr())
	}
	c := dial(t, p.Addr())
	msg := []byte(strings.Repeat("z", 100_000))
	go func() { _, _ = c.Write(msg) }()
	buf := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != string(msg) {
		t.Fatalf("echo through proxy: %v", err)
	}
	// The counters are added to right after each write returns.
	waitFor(t, "the byte counters", 2*time.Second, func() bool {
		s := p.Stats()
		return s.BytesUpstream == 100_000 && s.BytesDownstream == 100_000
	})
	if s := p.Stats(); s.Accepted != 1 || s.Active != 1 {
		t.Errorf("Stats = %+v", s)
	}
	_ = c.Close()
	waitFor(t, "the connection to end", 2*time.Second, func() bool { return p.Stats().Active == 0 })
}

// Half-close is forwarded: the caller's FIN reaches the upstream, whose
// answer still comes back.
func TestHalfClose(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr()).(*net.TCPConn)
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "bye" {
		t.Fatalf("after half-close read %q, %v", b, err)
	}
}

func TestSetUpstream(t *testing.T) {
	a := httpServer(t, func(w httpWriter, _ *httpRequest) { _, _ = io.WriteString(w, "a") })
	b := httpServer(t, func(w httpWriter, _ *httpRequest) { _, _ = io.WriteString(w, "b") })
	p := newProxy(t, a.Listener.Addr().String())
	c := keepAliveClient(t, 2*time.Second)
	url := "http://" + p.Addr() + "/"
	if got := body(t, c, url); got != "a" {
		t.Fatalf("before SetUpstream: %q", got)
	}
	p.SetUpstream(b.Listener.Addr().String())
	if p.Upstream() != b.Listener.Addr().String() {
		t.Fatalf("Upstream() = %s", p.Upstream())
	}
	// The existing keep-alive connection keeps its upstream...
	if got := body(t, c, url); got != "a" {
		t.Errorf("existing connection after SetUpstream: %q, want a", got)
	}
	// ...new connections go to the new one.
	fresh := keepAliveClient(t, 2*time.Second)
	if got := body(t, fresh, url); got != "b" {
		t.Errorf("new connection after SetUpstream: %q, want b", got)
	}
}

// A dead upstream: the caller's connection is reset and counted.
func TestDialErrorResetsCaller(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	p := newProxy(t, dead)
	if err := dialRoundTrip(p.Addr(), []byte("x"), 2*time.Second); !isReset(err) {
		t.Errorf("through a dead upstream: %v, want ECONNRESET", err)
	}
	waitFor(t, "the dial error to be counted", 2*time.Second, func() bool { return p.Stats().DialErrors == 1 })
}

func TestRemoveIdempotentAndRemoveAll(t *testing.T) {
	p := newProxy(t, echoServer(t))
	id, err := p.Add(Latency{Delay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Reset{Probability: 1}); err != nil {
		t.Fatal(err)
	}
	if len(p.Toxics()) != 2 {
		t.Fatalf("Toxics() = %v", p.Toxics())
	}
	for range 2 {
		if err := p.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Remove("no-such-id"); err != nil {
		t.Fatal(err)
	}
	p.RemoveAll()
	if len(p.Toxics()) != 0 {
		t.Fatalf("after RemoveAll: %v", p.Toxics())
	}
	if err := dialRoundTrip(p.Addr(), []byte("ok"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Latency{}); err == nil {
		t.Error("invalid toxic accepted")
	}
}

// Close closes the listener and every connection (including delayed and
// blackholed ones) and leaves no goroutine behind.
func TestCloseLeavesNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	upstream, stopUpstream := rawEcho(t)
	defer stopUpstream()
	p, err := Listen(context.Background(), "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := net.Dial("tcp", p.Addr())
	defer plain.Close()
	if err := roundTrip(plain, []byte("x"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Latency{Delay: time.Hour, Direction: Both}); err != nil {
		t.Fatal(err)
	}
	_, _ = plain.Write([]byte("delayed"))
	waitFor(t, "a delayed chunk", 2*time.Second, func() bool { return p.Stats().Delayed > 0 })
	if _, err := p.Add(Bandwidth{BytesPerSecond: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Partition{Mode: Blackhole}); err != nil {
		t.Fatal(err)
	}
	held, _ := net.Dial("tcp", p.Addr())
	defer held.Close()
	waitFor(t, "the blackholed connection", 2*time.Second, func() bool { return p.Stats().Active == 2 })

	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Error("listener still accepts after Close")
	}
	for _, c := range []net.Conn{plain, held} {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("connection still open after Close: %v", err)
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Add(Latency{Delay: 1}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
}

// Cancelling Listen's context shuts the proxy down.
func TestContextCancelStopsProxy(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	upstream, stopUpstream := rawEcho(t)
	defer stopUpstream()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Listen(ctx, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c, []byte("x"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("connection open after cancel: %v", err)
	}
	_ = p.Close()
}

// The copy loop allocates nothing per chunk when no toxic is active.
func TestNoToxicHotPathDoesNotAllocate(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	msg, buf := []byte("0123456789abcdef"), make([]byte, 16)
	for range 100 { // warm up buffers and pools
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(500, func() {
		_, _ = c.Write(msg)
		_, _ = io.ReadFull(c, buf)
	})
	// The figure covers the whole process: client, proxy and echo server.
	if allocs > 0.5 {
		t.Errorf("%.2f allocations per round trip through the proxy, want 0", allocs)
	}
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen(context.Background(), "127.0.0.1:0", ""); err == nil {
		t.Error("empty upstream accepted")
	}
	if _, err := Listen(context.Background(), "256.0.0.1:0", "127.0.0.1:1"); err == nil {
		t.Error("bad listen address accepted")
	}
}

// rawEcho is an echo server with an explicit stop (for goroutine-leak tests,
// which must stop it before checking).
func rawEcho(t *testing.T) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String(), func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// Toxics added and removed while traffic flows: no race, no deadlock, and
// the proxy is healthy and leak-free afterwards.
func TestToxicChurnUnderTraffic(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	upstream, stopUpstream := rawEcho(t)
	defer stopUpstream()
	p, err := Listen(context.Background(), "127.0.0.1:0", upstream, WithSeed(5))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			var c net.Conn
			for ctx.Err() == nil {
				if c == nil {
					d, err := net.DialTimeout("tcp", p.Addr(), time.Second)
					if err != nil {
						continue
					}
					c = d
				}
				if err := roundTrip(c, []byte{byte(i), 1, 2, 3}, 50*time.Millisecond); err != nil {
					_ = c.Close()
					c = nil
				}
			}
			if c != nil {
				_ = c.Close()
			}
		}()
	}
	toxics := []Toxic{
		Latency{Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Direction: Both},
		Bandwidth{BytesPerSecond: 1000, Direction: Downstream},
		Loss{Probability: 0.3, Mode: Blackhole},
		Loss{Probability: 0.3, Mode: DropConnection},
		Reset{Probability: 0.3},
		Partition{Mode: Blackhole},
		Partition{Mode: Refuse},
	}
	var ids []string
	for i := 0; ctx.Err() == nil; i++ {
		id, err := p.Add(toxics[i%len(toxics)])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if len(ids) > 2 {
			if err := p.Remove(ids[0]); err != nil {
				t.Fatal(err)
			}
			ids = ids[1:]
		}
		time.Sleep(3 * time.Millisecond) // pacing of the churn, not synchronisation
	}
	for range 8 {
		<-done
	}
	p.RemoveAll()
	if err := dialRoundTrip(p.Addr(), []byte("healthy"), 2*time.Second); err != nil {
		t.Fatalf("after churn: %v", err)
	}
	if s := p.Stats(); s.Delayed != 0 {
		t.Errorf("Delayed = %d after RemoveAll", s.Delayed)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
