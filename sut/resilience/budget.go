package resilience

import (
	"sync"
	"time"
)

// Budget caps retries on an edge at Ratio of the calls made in the last
// window, plus MinRetries per window (so that an edge with little traffic can
// still retry). A nil *Budget allows every retry.
type Budget struct {
	mu         sync.Mutex
	clock      Clock
	ratio      float64
	minRetries int64
	w          *window // counter 0: calls, counter 1: retries
}

// NewBudget returns a retry budget over a sliding window of the given length.
func NewBudget(clock Clock, ratio float64, minRetries int, length time.Duration) *Budget {
	return &Budget{clock: clock, ratio: ratio, minRetries: int64(minRetries), w: newWindow(length)}
}

// Call records one call (the first attempt).
func (b *Budget) Call() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.w.add(b.clock.Now(), 1, 0)
	b.mu.Unlock()
}

// TryRetry reports whether one more retry fits in the budget, and if so
// spends it.
func (b *Budget) TryRetry() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	calls, retries := b.w.sums(now)
	if float64(retries+1) > b.ratio*float64(calls)+float64(b.minRetries) {
		return false
	}
	b.w.add(now, 0, 1)
	return true
}
