package proxy

import (
	"io"
	"net"
	"testing"
	"time"
)

// sourceServer sends size bytes on every connection, then closes it.
func sourceServer(t *testing.T, size int) string {
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
			_, _ = c.Write(make([]byte, size))
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

func TestBandwidthValidate(t *testing.T) {
	if err := (Bandwidth{BytesPerSecond: 0}).Validate(); err == nil {
		t.Error("zero rate accepted")
	}
	if err := (Bandwidth{BytesPerSecond: 1, Direction: Downstream}).Validate(); err != nil {
		t.Error(err)
	}
}

// A 1 MB/s downstream limit makes a 300 KB response take ~0.3 s.
func TestBandwidthLimitsDownstream(t *testing.T) {
	const size, rate = 300_000, 1_000_000
	p := newProxy(t, sourceServer(t, size))
	if _, err := p.Add(Bandwidth{BytesPerSecond: rate, Direction: Downstream}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	start := time.Now()
	n, err := io.Copy(io.Discard, c)
	el := time.Since(start)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, err %v; want %d", n, err, size)
	}
	want := time.Duration(size) * time.Second / rate
	// Never faster than the rate; slower only by what a loaded machine's
	// scheduling costs (unthrottled, this takes about 1 ms).
	if el < want-30*time.Millisecond || el > 3*want {
		t.Errorf("300 KB at 1 MB/s took %v, want ~%v", el, want)
	}
}

// The limit applies to the upstream direction only when asked.
func TestBandwidthOtherDirectionUnaffected(t *testing.T) {
	const size = 2_000_000
	p := newProxy(t, sourceServer(t, size))
	if _, err := p.Add(Bandwidth{BytesPerSecond: 1000, Direction: Upstream}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	start := time.Now()
	if n, err := io.Copy(io.Discard, c); err != nil || n != size {
		t.Fatalf("read %d, %v", n, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("downstream took %v under an upstream-only limit", el)
	}
}

// Removing the toxic restores full speed on the running transfer.
func TestBandwidthRemoveRestoresSpeed(t *testing.T) {
	const size = 2_000_000 // 20 s at 100 KB/s
	p := newProxy(t, sourceServer(t, size))
	id, err := p.Add(Bandwidth{BytesPerSecond: 100_000, Direction: Both})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	got := make(chan int64, 1)
	start := time.Now()
	go func() {
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	waitFor(t, "the throttled transfer to start", 2*time.Second, func() bool {
		return p.Stats().BytesDownstream >= 10_000
	})
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != size {
			t.Errorf("read %d bytes, want %d", n, size)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("transfer took %v after Remove", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("transfer still throttled 5 s after Remove")
	}
}
