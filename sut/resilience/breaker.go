package resilience

import (
	"sync"
	"time"
)

// BreakerState is the state of a circuit breaker.
type BreakerState int

// Breaker states; the numbers are the values of the shop_circuit_breaker_state gauge.
const (
	Closed   BreakerState = 0
	HalfOpen BreakerState = 1
	Open     BreakerState = 2
)

func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half_open"
	case Open:
		return "open"
	}
	return "unknown"
}

// BreakerConfig is the policy of a breaker.
type BreakerConfig struct {
	FailureRatio   float64       // open when failures/requests >= this ...
	MinRequests    int           // ... over at least this many requests ...
	Window         time.Duration // ... counted over this sliding window
	OpenFor        time.Duration // stay open this long, then half-open
	HalfOpenProbes int           // let this many probes through; all must succeed to close
}

// Breaker is a circuit breaker: closed, it counts outcomes over a sliding
// window and opens when the failure ratio reaches the threshold over enough
// requests; open, it refuses calls for OpenFor; then half-open, it lets
// HalfOpenProbes calls through: one failure reopens it, that many successes
// close it. onTransition (if set) is called after each change, outside the lock.
type Breaker struct {
	mu        sync.Mutex
	cfg       BreakerConfig
	clock     Clock
	state     BreakerState
	w         *window // counter 0: requests, counter 1: failures
	openedAt  time.Time
	probes    int // probes let through in half-open
	successes int // successful probes in half-open

	onTransition func(from, to BreakerState)
}

// NewBreaker returns a closed breaker. onTransition may be nil.
func NewBreaker(clock Clock, cfg BreakerConfig, onTransition func(from, to BreakerState)) *Breaker {
	if cfg.HalfOpenProbes < 1 {
		cfg.HalfOpenProbes = 1
	}
	if cfg.MinRequests < 1 {
		cfg.MinRequests = 1
	}
	return &Breaker{cfg: cfg, clock: clock, w: newWindow(cfg.Window), onTransition: onTransition}
}

// State returns the current state (an open breaker whose time is up reports half-open).
func (b *Breaker) State() BreakerState {
	var tr []BreakerState
	b.mu.Lock()
	b.tick(&tr)
	s := b.state
	b.mu.Unlock()
	b.notify(tr)
	return s
}

// tick moves an open breaker to half-open when its time is up; it appends
// the transitions made to tr.
func (b *Breaker) tick(tr *[]BreakerState) {
	if b.state == Open && !b.clock.Now().Before(b.openedAt.Add(b.cfg.OpenFor)) {
		b.set(HalfOpen, tr)
	}
}

func (b *Breaker) set(to BreakerState, tr *[]BreakerState) {
	from := b.state
	if from == to {
		return
	}
	b.state = to
	switch to {
	case Open:
		b.openedAt = b.clock.Now()
	case HalfOpen:
		b.probes, b.successes = 0, 0
	case Closed:
		b.w.reset()
	}
	*tr = append(*tr, from, to)
}

func (b *Breaker) notify(tr []BreakerState) {
	if b.onTransition == nil {
		return
	}
	for i := 0; i+1 < len(tr); i += 2 {
		b.onTransition(tr[i], tr[i+1])
	}
}

// Allow reports whether a call may go through now. When it returns true the
// caller must report the outcome with Done exactly once.
func (b *Breaker) Allow() bool {
	var tr []BreakerState
	b.mu.Lock()
	b.tick(&tr)
	ok := true
	switch b.state {
	case Open:
		ok = false
	case HalfOpen:
		if b.probes >= b.cfg.HalfOpenProbes {
			ok = false
		} else {
			b.probes++
		}
	}
	b.mu.Unlock()
	b.notify(tr)
	return ok
}

// Peek reports whether Allow would let a call through, without taking a probe.
func (b *Breaker) Peek() bool {
	var tr []BreakerState
	b.mu.Lock()
	b.tick(&tr)
	ok := b.state == Closed || (b.state == HalfOpen && b.probes < b.cfg.HalfOpenProbes)
	b.mu.Unlock()
	b.notify(tr)
	return ok
}

// Done records the outcome of a call that Allow let through.
func (b *Breaker) Done(success bool) {
	var tr []BreakerState
	b.mu.Lock()
	switch b.state {
	case Closed:
		var f int64
		if !success {
			f = 1
		}
		now := b.clock.Now()
		b.w.add(now, 1, f)
		reqs, fails := b.w.sums(now)
		if reqs >= int64(b.cfg.MinRequests) && float64(fails) >= b.cfg.FailureRatio*float64(reqs) {
			b.set(Open, &tr)
		}
	case HalfOpen:
		if !success {
			b.set(Open, &tr)
		} else {
			b.successes++
			if b.successes >= b.cfg.HalfOpenProbes {
				b.set(Closed, &tr)
			}
		}
	case Open:
		// a call let through before the breaker opened: its outcome no longer counts
	}
	b.mu.Unlock()
	b.notify(tr)
}
