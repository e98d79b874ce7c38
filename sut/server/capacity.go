package server

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/internal/lib/finesleep"
)

// errQueueFull is returned when a request finds every worker busy and the
// queue at its bound.
var errQueueFull = errors.New("queue full")

// capacity is a service's queueing model: a pool of workers, a bounded
// queue in front of it, and a lognormal local service time.
type capacity struct {
	workers  chan struct{}
	queueMax int64
	waiting  atomic.Int64
	mu       float64 // ln(p50)
	sigma    float64 // (ln(p99) - ln(p50)) / z(0.99)
	onQueue  func(depth int64)
	sleeper  finesleep.Pool // service times are µs-precise, not rounded to the runtime's 1 ms timer tick
}

// z(0.99) of the standard normal distribution.
const z99 = 2.3263478740408408

func newCapacity(workers, queue int, p50, p99 time.Duration, onQueue func(int64)) *capacity {
	c := &capacity{workers: make(chan struct{}, workers), queueMax: int64(queue), onQueue: onQueue}
	if p50 > 0 {
		c.mu = math.Log(float64(p50))
		if p99 > p50 {
			c.sigma = (math.Log(float64(p99)) - c.mu) / z99
		}
	}
	return c
}

// acquire takes a worker, waiting in the queue if every worker is busy. It
// fails at once with errQueueFull when the queue is at its bound, and with
// ctx's error when the caller gives up while queued.
func (c *capacity) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-c.workers }
	select {
	case c.workers <- struct{}{}:
		return release, nil
	default:
	}
	if n := c.waiting.Add(1); n > c.queueMax {
		c.waiting.Add(-1)
		return nil, errQueueFull
	} else {
		c.onQueue(n)
	}
	defer func() { c.onQueue(c.waiting.Add(-1)) }()
	select {
	case c.workers <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serviceTime draws a local service time.
func (c *capacity) serviceTime() time.Duration {
	if c.mu == 0 {
		return 0
	}
	return time.Duration(math.Exp(c.mu + c.sigma*rand.NormFloat64()))
}

// work holds the worker for d, or until ctx is done.
func (c *capacity) work(ctx context.Context, d time.Duration) {
	c.sleeper.Sleep(ctx, d)
}

// sleep waits d or until ctx is done, and reports whether it waited the whole d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
