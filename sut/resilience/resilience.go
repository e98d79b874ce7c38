// Package resilience holds the small building blocks of the shop's call
// policies: exponential backoff with jitter, a retry budget, a circuit
// breaker and load balancers. Everything that depends on time takes a Clock,
// so tests drive it with a fake one.
package resilience

import (
	"math"
	"time"
)

// Clock tells the time. The real one is SystemClock.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Jitter kinds (the same strings as in policy files).
const (
	JitterNone  = "none"
	JitterFull  = "full"
	JitterEqual = "equal"
)

// Backoff returns the wait before retry number retry (1 for the first retry):
// d = min(cap, base*2^(retry-1)), then with jitter "full" a uniform value in
// [0, d], with "equal" a uniform value in [d/2, d], with "none" d itself.
// rnd returns a uniform float in [0, 1). A zero cap means no cap.
func Backoff(base, cap time.Duration, jitter string, retry int, rnd func() float64) time.Duration {
	if retry < 1 || base <= 0 {
		return 0
	}
	d := float64(base) * math.Pow(2, float64(retry-1))
	if cap > 0 && d > float64(cap) {
		d = float64(cap)
	}
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	switch jitter {
	case JitterFull:
		d *= rnd()
	case JitterEqual:
		d = d/2 + d/2*rnd()
	}
	return time.Duration(d)
}
