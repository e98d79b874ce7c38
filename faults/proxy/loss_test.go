package proxy

import (
	"errors"
	"io"
	"math"
	"sync"
	"testing"
	"time"
)

func TestLossValidate(t *testing.T) {
	for _, tc := range []struct {
		l  Loss
		ok bool
	}{
		{Loss{Probability: 0.5, Mode: DropConnection}, true},
		{Loss{Probability: 1, Mode: Blackhole}, true},
		{Loss{Probability: 0.5}, false}, // mode must be chosen
		{Loss{Probability: 2, Mode: Blackhole}, false},
	} {
		if err := tc.l.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.l, err, tc.ok)
		}
	}
	if m, err := ParseLossMode("blackhole"); err != nil || m != Blackhole {
		t.Errorf("ParseLossMode(blackhole) = %v, %v", m, err)
	}
}

// countOutcomes runs n one-shot exchanges through addr, parallel at a time.
func countOutcomes(n, parallel int, addr string, timeout time.Duration) (ok, closed, timedOut, other int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := dialRoundTrip(addr, []byte("ping"), timeout)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err):
				closed++
			case isTimeout(err):
				timedOut++
			default:
				other++
			}
		}()
	}
	wg.Wait()
	return
}

// DropConnection closes about p of the new connections.
func TestLossDropConnectionProbability(t *testing.T) {
	const n, prob = 400, 0.3
	p := newProxy(t, echoServer(t), WithSeed(3))
	if _, err := p.Add(Loss{Probability: prob, Mode: DropConnection}); err != nil {
		t.Fatal(err)
	}
	ok, closed, timedOut, other := countOutcomes(n, 20, p.Addr(), 5*time.Second)
	sigma := math.Sqrt(prob * (1 - prob) / n)
	if frac := float64(closed) / n; math.Abs(frac-prob) > 4.5*sigma || timedOut+other != 0 {
		t.Errorf("ok %d closed %d timeout %d other %d: closed fraction %.3f, want %.2f ± %.3f",
			ok, closed, timedOut, other, frac, prob, 4.5*sigma)
	}
	if got := p.Stats().Dropped; got != int64(closed) {
		t.Errorf("Stats().Dropped = %d, callers saw %d", got, closed)
	}
}

// DropConnection with probability 1 closes existing connections when added.
func TestLossDropConnectionExisting(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	if err := roundTrip(c, []byte("warm"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Loss{Probability: 1, Mode: DropConnection}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read on existing connection: %v, want EOF", err)
	}
}

// Blackhole loss swallows each chunk with probability p, both ways: a
// one-chunk echo survives with probability (1-p)²; the rest time out.
func TestLossBlackholeProbability(t *testing.T) {
	const n, prob = 300, 0.2
	p := newProxy(t, echoServer(t), WithSeed(11))
	id, err := p.Add(Loss{Probability: prob, Mode: Blackhole})
	if err != nil {
		t.Fatal(err)
	}
	ok, closed, timedOut, other := countOutcomes(n, n, p.Addr(), 1500*time.Millisecond)
	want := (1 - prob) * (1 - prob)
	sigma := math.Sqrt(want * (1 - want) / n)
	if frac := float64(ok) / n; math.Abs(frac-want) > 4.5*sigma || closed+other != 0 {
		t.Errorf("ok %d closed %d timeout %d other %d: success %.3f, want %.3f ± %.3f",
			ok, closed, timedOut, other, frac, want, 4.5*sigma)
	}
	if lost := p.Stats().ChunksLost; lost != int64(timedOut) {
		t.Errorf("Stats().ChunksLost = %d, timed-out exchanges %d", lost, timedOut)
	}
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	if err := dialRoundTrip(p.Addr(), []byte("ping"), 2*time.Second); err != nil {
		t.Fatalf("after Remove: %v", err)
	}
}

// A connection that lost a chunk is closed when the loss is removed.
func TestLossBlackholeRevertClosesTainted(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	id, err := p.Add(Loss{Probability: 1, Mode: Blackhole})
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c, []byte("lost"), 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip under total loss: %v, want timeout", err)
	}
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("tainted connection after Remove: %v, want EOF", err)
	}
}
