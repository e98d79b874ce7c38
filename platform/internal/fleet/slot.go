package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Instance states, as both runtimes report them.
const (
	StateRunning = "running"
	StatePaused  = "paused"
	StateDown    = "down"    // exited, killed or stopped; restart pending or left down
	StateStopped = "stopped" // the deployment is closed
)

// Slot is one instance as a runtime keeps it, whatever a start of it is
// (G: a child process, a container's generation): the current start (the
// zero G while down), its state and its restart bookkeeping, under one
// lock. The runtimes embed it in their instance type.
type Slot[G comparable] struct {
	Mu    sync.Mutex
	Cur   G
	State string
	Life  *Life
}

// Driver is what the supervisor of a slot needs of the runtime: how a
// start ends and how to make the next one.
type Driver[G comparable] struct {
	// Exited is closed once the start is over.
	Exited func(G) <-chan struct{}
	// Began is when the start began (it decides whether the restart count
	// resets).
	Began func(G) time.Time
	// Start makes the next start and returns once it is ready.
	Start func(ctx context.Context) (G, error)
	// Gone, if set, runs (without the lock) once a start is over, before
	// the restart policy: forget its journal record, mark its links down.
	Gone func(G)
	// Up, if set, runs with the lock held once a new start is current:
	// point the instance's proxies at it.
	Up func(G)
	// Discard, if set, ends a start that became ready after the deployment
	// began closing.
	Discard func(G)
	// Closing says the deployment is closing: no restart then.
	Closing func() bool
	// EndsOnClose says the deployment ends every start when it closes, so
	// Exited is closed then too: the supervisor waits for it (and marks the
	// slot stopped) instead of returning when ctx ends.
	EndsOnClose bool
}

// Supervise owns the slot's restarts until the deployment closes or ctx
// ends: it waits for the current start g to end and applies the pending
// fault's or the deployment's restart policy (Life), then makes the next
// start. Run it in a goroutine that the deployment waits for.
func (s *Slot[G]) Supervise(ctx context.Context, g G, drv Driver[G]) {
	var zero G
	for {
		if drv.EndsOnClose {
			<-drv.Exited(g)
		} else {
			select {
			case <-drv.Exited(g):
			case <-ctx.Done():
				return
			}
		}
		if drv.Gone != nil {
			drv.Gone(g)
		}
		s.Mu.Lock()
		if drv.Closing() {
			s.Cur, s.State = zero, StateStopped
			s.Mu.Unlock()
			return
		}
		s.Cur, s.State = zero, StateDown
		// A fault's own delay counts, 0 included (a kill or stop with
		// restart "delay" is a restart).
		delay, wait := s.Life.Exited(time.Since(drv.Began(g)))
		s.Mu.Unlock()
		var ok bool
		g, ok = Revive(ctx, s.Life, &s.Mu, delay, wait, drv.Start)
		if !ok {
			s.Mu.Lock()
			s.State = StateStopped
			s.Mu.Unlock()
			return
		}
		s.Mu.Lock()
		if drv.Closing() {
			s.Cur, s.State = zero, StateStopped
			s.Mu.Unlock()
			if drv.Discard != nil {
				drv.Discard(g)
			}
			return
		}
		if drv.Up != nil {
			drv.Up(g)
		}
		s.Cur, s.State = g, StateRunning
		s.Life.Up()
		s.Mu.Unlock()
	}
}

// AwaitDown waits until start g is over (exited is closed: the kill or
// stop that verb names took effect), then marks the slot down (MarkDown).
func (s *Slot[G]) AwaitDown(ctx context.Context, g G, exited <-chan struct{}, verb, id string) error {
	select {
	case <-exited:
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", verb, id, ctx.Err())
	}
	s.MarkDown(g)
	return nil
}

// MarkDown records that start g is over (a kill or stop returned), unless
// a newer start is current already.
func (s *Slot[G]) MarkDown(g G) {
	var zero G
	s.Mu.Lock()
	if s.Cur == g {
		s.Cur, s.State = zero, StateDown
	}
	s.Mu.Unlock()
}

// Restart wakes a slot left down (a kill with restart "end") and waits
// until it is up again; a running slot, or one of a closed deployment, is
// left alone.
func (s *Slot[G]) Restart(ctx context.Context, id string) error {
	var zero G
	s.Mu.Lock()
	if s.Cur != zero || s.State == StateStopped {
		s.Mu.Unlock()
		return nil
	}
	up := s.Life.Wake()
	s.Mu.Unlock()
	return AwaitUp(ctx, up, id)
}
