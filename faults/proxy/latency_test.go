package proxy

import (
	"bufio"
	"net"
	"slices"
	"testing"
	"time"
)

func TestLatencyValidate(t *testing.T) {
	for _, tc := range []struct {
		l  Latency
		ok bool
	}{
		{Latency{Delay: 50 * time.Millisecond}, true},
		{Latency{Jitter: time.Millisecond, Direction: Downstream}, true},
		{Latency{}, false},
		{Latency{Delay: -1}, false},
		{Latency{Delay: time.Millisecond, Direction: Direction(7)}, false},
	} {
		if err := tc.l.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.l, err, tc.ok)
		}
	}
}

// A 50 ms latency on the request path moves the HTTP p50 of a loopback server
// by 50 ± 2 ms on an existing keep-alive connection, and Remove brings it back.
func TestLatencyUpstreamMovesP50AndRemoveRestores(t *testing.T) {
	srv := httpServer(t, nil)
	p := newProxy(t, srv.Listener.Addr().String(), WithName("client->shop"))
	c := keepAliveClient(t, 5*time.Second)
	url := "http://" + p.Addr() + "/"

	base := p50(t, c, url, 50)
	id, err := p.Add(Latency{Delay: 50 * time.Millisecond, Direction: Upstream})
	if err != nil {
		t.Fatal(err)
	}
	faulted := p50(t, c, url, 21)
	if d := faulted - base; !within(d, 50*time.Millisecond, 2*time.Millisecond) {
		t.Errorf("p50 moved by %v (base %v, faulted %v), want 50ms ± 2ms", d, base, faulted)
	}
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	after := p50(t, c, url, 50)
	if after > base+2*time.Millisecond {
		t.Errorf("p50 after Remove = %v, base %v: not restored", after, base)
	}
	if s := p.Stats(); s.Accepted != 1 {
		t.Errorf("Accepted = %d, want 1 (one keep-alive connection throughout)", s.Accepted)
	}
	t.Logf("p50 base %v, with 50ms upstream latency %v, after remove %v", base, faulted, after)
}

// Both directions: 20 ms each way adds 40 ms to a round trip.
func TestLatencyBothDirections(t *testing.T) {
	srv := httpServer(t, nil)
	p := newProxy(t, srv.Listener.Addr().String())
	c := keepAliveClient(t, 5*time.Second)
	url := "http://" + p.Addr() + "/"
	base := p50(t, c, url, 30)
	if _, err := p.Add(Latency{Delay: 20 * time.Millisecond, Direction: Both}); err != nil {
		t.Fatal(err)
	}
	got := p50(t, c, url, 15) - base
	if !within(got, 40*time.Millisecond, 2*time.Millisecond) {
		t.Errorf("p50 moved by %v, want 40ms ± 2ms", got)
	}
}

// A streamed response of many chunks is delayed once, not once per chunk:
// each chunk arrives ~50 ms after the server wrote it, the last one included.
func TestLatencyDownstreamStreamDelayedOnce(t *testing.T) {
	const chunks, gap = 20, 5 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan time.Time, chunks)
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		for i := range chunks {
			if i > 0 {
				time.Sleep(gap) // the stream's own pacing, not synchronisation
			}
			sent <- time.Now()
			if _, err := c.Write([]byte("chunk of a streamed response\n")); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-served })

	p := newProxy(t, ln.Addr().String())
	if _, err := p.Add(Latency{Delay: 50 * time.Millisecond, Direction: Downstream}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	delays := make([]time.Duration, 0, chunks)
	for range chunks {
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatalf("after %d chunks: %v", len(delays), err)
		}
		delays = append(delays, time.Since(<-sent))
	}
	last := delays[len(delays)-1]
	slices.Sort(delays)
	if med := delays[len(delays)/2]; !within(med, 50*time.Millisecond, 3*time.Millisecond) {
		t.Errorf("median chunk delay %v, want 50ms ± 3ms (all: %v)", med, delays)
	}
	// Accumulating per chunk would put the last one ~1 s behind.
	if last > 80*time.Millisecond {
		t.Errorf("last chunk delayed %v, want ~50ms (all: %v)", last, delays)
	}
}

// Removing a long latency releases chunks that are already waiting.
func TestLatencyRemoveReleasesWaitingChunks(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	if err := roundTrip(c, []byte("warm"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	id, err := p.Add(Latency{Delay: 10 * time.Second, Direction: Upstream})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	// The chunk is queued once the proxy has read it.
	var pp0 int64
	waitFor(t, "the chunk to be queued", 2*time.Second, func() bool {
		pp0 = p.Stats().BytesUpstream
		return p.Stats().Delayed > 0
	})
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("read after Remove: %v", err)
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("held chunk delivered %v after write, want promptly after Remove", el)
	}
	if pp0 != 4 {
		t.Errorf("bytes upstream while held = %d, want 4 (only the warm-up)", pp0)
	}
}

// Jitter spreads the delay around Delay.
func TestLatencyJitterSpread(t *testing.T) {
	p := newProxy(t, echoServer(t), WithSeed(42))
	if _, err := p.Add(Latency{Delay: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Direction: Upstream}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	var d []time.Duration
	for range 21 {
		start := time.Now()
		if err := roundTrip(c, []byte("x"), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	// Uniform on [10ms, 50ms]: the quartiles are near 20 and 40 ms. Allow for
	// a loaded machine by looking at quartiles, not extremes.
	q1, q3 := d[len(d)/4], d[3*len(d)/4]
	if q1 < 9*time.Millisecond || q3 > 55*time.Millisecond || q3-q1 < 8*time.Millisecond {
		t.Errorf("round trips %v: quartiles %v..%v, want a spread within 30ms ± 20ms", d, q1, q3)
	}
}

// The jitter of a connection's chunks is reproducible for a seed.
func TestLatencyJitterSeeded(t *testing.T) {
	draws := func(seed int64, connID uint64) []float64 {
		pp := &pipe{c: &conn{id: connID, p: &Proxy{seed: uint64(seed)}}, dir: Upstream}
		out := make([]float64, 8)
		for i := range out {
			out[i] = pp.random().Float64()
		}
		return out
	}
	if a, b := draws(42, 1), draws(42, 1); !slices.Equal(a, b) {
		t.Errorf("same seed and connection: %v vs %v", a, b)
	}
	if a, b := draws(42, 1), draws(43, 1); slices.Equal(a, b) {
		t.Error("different seeds give the same draws")
	}
	if a, b := draws(42, 1), draws(42, 2); slices.Equal(a, b) {
		t.Error("different connections give the same draws")
	}
}
