package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

// RestartConfig is the platform contract's restart behaviour.
type RestartConfig = platform.RestartConfig

// restartDefaults fills in the unset durations of r.
func restartDefaults(r RestartConfig) RestartConfig {
	if r.Delay <= 0 {
		r.Delay = time.Second
	}
	if r.MaxDelay < r.Delay {
		r.MaxDelay = max(30*time.Second, r.Delay)
	}
	if r.ResetAfter <= 0 {
		r.ResetAfter = 10 * time.Second
	}
	return r
}

// maxDoublings caps the exponent of the backoff.
const maxDoublings = 20

// Backoff is the restart delay of one instance: base doubled for each
// restart in a row, capped at the config's MaxDelay; the count starts again
// once the instance ran for ResetAfter. The zero value is not usable: see
// NewBackoff.
type Backoff struct {
	cfg    RestartConfig
	inARow int
}

// NewBackoff returns the backoff of cfg (its zero durations defaulted).
func NewBackoff(cfg RestartConfig) Backoff { return Backoff{cfg: restartDefaults(cfg)} }

// Ran tells the backoff how long the instance ran before its last exit: long
// enough, and the restarts are no longer in a row.
func (b *Backoff) Ran(d time.Duration) {
	if d >= b.cfg.ResetAfter {
		b.inARow = 0
	}
}

// Next counts one more restart in a row and returns its delay: base (the
// config's Delay, or a fault's own) doubled once per restart in a row
// before it, at most MaxDelay. A negative base is 0.
func (b *Backoff) Next(base time.Duration) time.Duration {
	n := min(b.inARow, maxDoublings)
	b.inARow++
	base = max(base, 0)
	if base > b.cfg.MaxDelay>>n {
		return b.cfg.MaxDelay
	}
	return base << n
}

// Life is the restart bookkeeping of one instance, shared by its
// supervisor (which restarts it), the faults that end it (which say how it
// comes back) and Restart (which brings it back early). Its state is guarded
// by the runtime's lock of the instance: every method except Sleep must be
// called with that lock held.
type Life struct {
	backoff  Backoff
	pending  *faults.RestartPolicy // the policy of the fault ending the instance now
	restarts int
	up       chan struct{} // closed and replaced at each restart
	wake     chan struct{} // Wake asks a down instance to come back now
}

// NewLife returns the bookkeeping of a new instance restarted per cfg.
func NewLife(cfg RestartConfig) *Life {
	return &Life{backoff: NewBackoff(cfg), up: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// Pend records the restart policy of a fault that is ending the instance;
// the next Exited applies it instead of the config's.
func (l *Life) Pend(pol faults.RestartPolicy) { l.pending = &pol }

// Unpend forgets the policy of a fault that failed to end the instance.
func (l *Life) Unpend() { l.pending = nil }

// Exited decides what follows an exit after the instance ran for ran: wait
// the delay returned, or, if wait, until Wake only. A fault's policy
// (Pend) wins over the config: "delay" restarts after the fault's own
// delay (0 included) with backoff, any other mode waits; without a fault,
// the config's Delay with backoff, or a wait if Never.
func (l *Life) Exited(ran time.Duration) (delay time.Duration, wait bool) {
	pol := l.pending
	l.pending = nil
	l.backoff.Ran(ran)
	switch {
	case pol != nil && pol.Mode != faults.RestartAfterDelay:
		return 0, true
	case pol == nil && l.backoff.cfg.Never:
		return 0, true
	case pol != nil:
		return l.backoff.Next(pol.Delay), false
	default:
		return l.backoff.Next(l.backoff.cfg.Delay), false
	}
}

// FailedStart returns the delay before the next attempt after a restart
// failed to start the instance (as a kubelet would: the config's Delay with
// backoff).
func (l *Life) FailedStart() time.Duration { return l.backoff.Next(l.backoff.cfg.Delay) }

// Sleep waits delay (or, if wait, until Wake); false when ctx ends first.
// It is called without the lock.
func (l *Life) Sleep(ctx context.Context, delay time.Duration, wait bool) bool {
	var timer <-chan time.Time
	if !wait {
		t := time.NewTimer(delay)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-l.wake:
		return true
	case <-timer:
		return true
	}
}

// Revive brings an instance back after an exit: it waits as Exited said
// (delay, or until Wake if wait), then calls start, and while start fails
// waits FailedStart's delay and tries again, as a kubelet would. It returns
// start's result, or false, without one, once ctx ends. lk is the
// instance's lock, which Revive takes only around the bookkeeping: it is
// called without it.
func Revive[R any](ctx context.Context, l *Life, lk sync.Locker, delay time.Duration, wait bool, start func(context.Context) (R, error)) (R, bool) {
	for {
		if !l.Sleep(ctx, delay, wait) {
			var zero R
			return zero, false
		}
		r, err := start(ctx)
		if err == nil {
			return r, true
		}
		lk.Lock()
		delay, wait = l.FailedStart(), false
		lk.Unlock()
	}
}

// Up counts a restart and releases whoever waits for it (AwaitUp).
func (l *Life) Up() {
	l.restarts++
	close(l.up)
	l.up = make(chan struct{})
}

// Restarts counts the restarts so far.
func (l *Life) Restarts() int { return l.restarts }

// Wake asks the supervisor of a down instance to restart it now (ending its
// Sleep) and returns what AwaitUp waits on.
func (l *Life) Wake() <-chan struct{} {
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return l.up
}

// AwaitUp waits, without the lock, until up (from Wake) is closed: the
// instance id is up again.
func AwaitUp(ctx context.Context, up <-chan struct{}, id string) error {
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("restart %s: %w", id, ctx.Err())
	}
}
