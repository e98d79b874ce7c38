package fleet

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
)

// start is one start of a fake instance: its end is a channel the test
// closes, as a child's exit or a container's stop would.
type start struct {
	n    int
	done chan struct{}
}

// bench is a slot with a fake driver that counts what the supervisor did.
type bench struct {
	slot    Slot[*start]
	mu      sync.Mutex
	starts  int
	gone    []int
	ups     []int
	discard []int
	closing bool
	// closeInStart: the deployment begins closing while a start is made.
	closeInStart bool
	started      chan *start // every new start, as Start returns it
}

func newBench() *bench {
	b := &bench{started: make(chan *start, 8)}
	b.slot.Life = NewLife(RestartConfig{Delay: time.Millisecond, MaxDelay: time.Millisecond})
	b.slot.Cur, b.slot.State = &start{n: 0, done: make(chan struct{})}, StateRunning
	return b
}

func (b *bench) driver(endsOnClose bool) Driver[*start] {
	return Driver[*start]{
		Exited: func(s *start) <-chan struct{} { return s.done },
		Began:  func(*start) time.Time { return time.Now() },
		Start: func(context.Context) (*start, error) {
			b.mu.Lock()
			b.starts++
			s := &start{n: b.starts, done: make(chan struct{})}
			if b.closeInStart {
				b.closing = true
			}
			b.mu.Unlock()
			b.started <- s
			return s, nil
		},
		Gone:        func(s *start) { b.mu.Lock(); b.gone = append(b.gone, s.n); b.mu.Unlock() },
		Up:          func(s *start) { b.ups = append(b.ups, s.n) }, // with the slot's lock held
		Discard:     func(s *start) { b.mu.Lock(); b.discard = append(b.discard, s.n); b.mu.Unlock() },
		Closing:     func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.closing },
		EndsOnClose: endsOnClose,
	}
}

func (b *bench) current() (*start, string) {
	b.slot.Mu.Lock()
	defer b.slot.Mu.Unlock()
	return b.slot.Cur, b.slot.State
}

// waitUp waits until the slot's current start is s (Supervise sets it
// after Start returned).
func (b *bench) waitUp(t *testing.T, s *start) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if cur, st := b.current(); cur == s && st == StateRunning {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("start %d never became current", s.n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSupervisorRestartsAnExitedStartAndRewiresIt(t *testing.T) {
	b := newBench()
	first := b.slot.Cur
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { b.slot.Supervise(ctx, first, b.driver(false)); close(done) }()
	close(first.done) // a crash
	second := <-b.started
	b.waitUp(t, second)
	b.mu.Lock()
	gone := append([]int(nil), b.gone...)
	b.mu.Unlock()
	b.slot.Mu.Lock()
	ups, restarts := append([]int(nil), b.ups...), b.slot.Life.Restarts()
	b.slot.Mu.Unlock()
	if len(gone) != 1 || gone[0] != 0 || len(ups) != 1 || ups[0] != 1 || restarts != 1 {
		t.Errorf("gone %v ups %v restarts %d; want [0] [1] 1", gone, ups, restarts)
	}
	cancel() // the deployment closes: a supervisor that does not wait for the end returns
	<-done
}

func TestAKillLeftDownUntilRestartAndMarkDown(t *testing.T) {
	b := newBench()
	first := b.slot.Cur
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.slot.Supervise(ctx, first, b.driver(false))
	b.slot.Mu.Lock()
	b.slot.Life.Pend(faults.RestartPolicy{Mode: faults.RestartAtRevert})
	b.slot.Mu.Unlock()
	close(first.done) // the kill
	b.slot.MarkDown(first)
	if cur, st := b.current(); cur != nil || st != StateDown {
		t.Fatalf("after the kill: %v %s, want down", cur, st)
	}
	select {
	case s := <-b.started:
		t.Fatalf("restarted (%d) before Restart", s.n)
	case <-time.After(20 * time.Millisecond): // nothing may happen: there is no event to await
	}
	errc := make(chan error, 1)
	go func() { errc <- b.slot.Restart(ctx, "svc-0") }()
	second := <-b.started
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if cur, st := b.current(); cur != second || st != StateRunning {
		t.Fatalf("after Restart: %v %s", cur, st)
	}
	// MarkDown of an old start leaves the new one alone; Restart of a
	// running slot is a no-op.
	b.slot.MarkDown(first)
	if err := b.slot.Restart(ctx, "svc-0"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := b.current(); cur != second {
		t.Fatalf("current %v, want start %d", cur, second.n)
	}
}

func TestAStartReadyWhileClosingIsDiscardedAndTheSlotStopped(t *testing.T) {
	b := newBench()
	b.closeInStart = true
	first := b.slot.Cur
	done := make(chan struct{})
	go func() { b.slot.Supervise(context.Background(), first, b.driver(true)); close(done) }()
	close(first.done)
	second := <-b.started
	<-done
	b.mu.Lock()
	discarded := append([]int(nil), b.discard...)
	b.mu.Unlock()
	if cur, st := b.current(); cur != nil || st != StateStopped || len(discarded) != 1 || discarded[0] != second.n {
		t.Errorf("slot %v %s, discarded %v; want stopped and start %d discarded", cur, st, discarded, second.n)
	}
}
