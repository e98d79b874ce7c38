package proxy

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestResetValidate(t *testing.T) {
	for _, p := range []float64{-0.1, 1.1, math.NaN()} {
		if err := (Reset{Probability: p}).Validate(); err == nil {
			t.Errorf("probability %v accepted", p)
		}
	}
}

// With probability 1 every new connection sees a RST; Remove restores service.
func TestResetAlways(t *testing.T) {
	p := newProxy(t, echoServer(t))
	id, err := p.Add(Reset{Probability: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = dialRoundTrip(p.Addr(), []byte("ping"), 2*time.Second)
	if !isReset(err) {
		t.Fatalf("round trip error %v, want ECONNRESET", err)
	}
	waitFor(t, "the proxy to count the reset", time.Second, func() bool { return p.Stats().Reset == 1 })
	if got := p.Stats().Reset; got != 1 {
		t.Errorf("Stats().Reset = %d, want 1", got)
	}
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(dial(t, p.Addr()), []byte("ping"), 2*time.Second); err != nil {
		t.Fatalf("after Remove: %v", err)
	}
}

// With probability 0.3, about 30% of 400 connections are reset (±4.5σ).
func TestResetProbability(t *testing.T) {
	const n, prob = 400, 0.3
	p := newProxy(t, echoServer(t), WithSeed(7))
	if _, err := p.Add(Reset{Probability: prob}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	resets, other := 0, 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := dialRoundTrip(p.Addr(), []byte("ping"), 5*time.Second)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case isReset(err):
				resets++
			case err != nil:
				other++
			}
		}()
	}
	wg.Wait()
	sigma := math.Sqrt(prob * (1 - prob) / n)
	frac := float64(resets) / n
	if math.Abs(frac-prob) > 4.5*sigma || other != 0 {
		t.Errorf("reset %d/%d (%.3f), other errors %d; want %.2f ± %.3f", resets, n, frac, other, prob, 4.5*sigma)
	}
	if got := p.Stats().Reset; got != int64(resets) {
		t.Errorf("Stats().Reset = %d, callers saw %d", got, resets)
	}
}
