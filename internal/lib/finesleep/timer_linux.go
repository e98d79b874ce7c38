//go:build linux

package finesleep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Timer is a timerfd whose expiry is awaited through the netpoller.
//
// A sleep costs one system call: timerfd_settime, made raw (no runtime
// syscall bookkeeping, so sysmon never hands the processor off around it).
// The timerfd is never read. Go's netpoller watches it edge-triggered, and
// every expiry wakes the poller whether or not the count of the expiries
// before it was read, so the sleeper waits in a RawConn.Read callback that
// only looks at the clock: the deadline passed (or the sleep was cancelled)
// means done, anything else means wait. Waiting before any read is safe
// here, unlike on a socket, because nothing can have happened before the
// wait: the timer cannot expire before the deadline the callback checks,
// which is computed before the timer is armed.
type Timer struct {
	fd   int
	f    *os.File
	rc   syscall.RawConn
	wake func(fd uintptr) bool // bound once: a sleep allocates nothing

	deadline  time.Time   // of the sleep under way, read by wake
	cancelled atomic.Bool // set before a cancellation fires the timer
	ctx       context.Context
	stop      func() bool
}

// New makes a Timer; Close releases its file descriptor.
func New() (*Timer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	t := &Timer{fd: fd, f: f, rc: rc}
	t.wake = func(uintptr) bool { return t.cancelled.Load() || !time.Now().Before(t.deadline) }
	return t, nil
}

// NewBound makes a Timer whose every Sleep ends early once ctx is done (and
// then returns ctx's error), at the cost of one context.AfterFunc for the
// Timer's life rather than one per sleep: for a loop that sleeps often, like
// the load generator's scheduler.
func NewBound(ctx context.Context) (*Timer, error) {
	t, err := New()
	if err != nil {
		return nil, err
	}
	t.ctx = ctx
	t.stop = context.AfterFunc(ctx, t.cancel)
	return t, nil
}

// cancel ends the sleep under way: the flag tells the waiter it is done,
// and firing the timer at once wakes it.
func (t *Timer) cancel() {
	t.cancelled.Store(true)
	_ = t.arm(1)
}

// arm sets the timer to expire once, ns from now.
func (t *Timer) arm(ns int64) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(ns)}
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("timerfd settime: %w", e)
	}
	return nil
}

// sleep arms the timer for d and waits until the deadline has passed or the
// sleep is cancelled.
func (t *Timer) sleep(d time.Duration) error {
	// The deadline is taken before arming, so the timer (CLOCK_MONOTONIC,
	// relative) never expires before it: see the type's comment.
	t.deadline = time.Now().Add(d)
	if err := t.arm(int64(d)); err != nil {
		return err
	}
	// A safety net, not the clock of the sleep: should the netpoller ever
	// miss the timer's wake-up (a CI run once hung here, under a full
	// `go test -race ./...`), the read deadline, a runtime timer, ends the
	// wait lostWakeupGuard after the deadline instead of never.
	_ = t.f.SetReadDeadline(t.deadline.Add(lostWakeupGuard))
	for {
		err := t.rc.Read(t.wake)
		if err == nil || t.wake(0) {
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("timerfd wait: %w", err)
		}
		// The guard fired before the deadline (a runtime timer may run a
		// little early relative to the monotonic clock): wait on.
		_ = t.f.SetReadDeadline(t.deadline.Add(lostWakeupGuard))
	}
}

// lostWakeupGuard is how long after its deadline a sleep whose wake-up was
// lost still ends (see sleep).
const lostWakeupGuard = 2 * time.Millisecond

// Sleep waits d; a bound Timer returns its context's error if that ended
// the sleep (or had ended before it).
func (t *Timer) Sleep(d time.Duration) error {
	if t.ctx != nil {
		if err := t.ctx.Err(); err != nil {
			return err
		}
	}
	if d <= 0 {
		return nil
	}
	if err := t.sleep(d); err != nil {
		return err
	}
	if t.ctx != nil {
		return t.ctx.Err()
	}
	return nil
}

// SleepContext waits d, or less if ctx ends first; it then returns ctx's
// error, and the Timer may still fire once more (the cancellation arms it):
// close it rather than reuse it.
func (t *Timer) SleepContext(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	if t.ctx == nil {
		t.cancelled.Store(false)
	}
	stop := context.AfterFunc(ctx, t.cancel)
	err := t.sleep(d)
	if !stop() {
		return ctx.Err() // the cancellation ran or is running
	}
	return err
}

// Close releases the timer.
func (t *Timer) Close() error {
	if t.stop != nil {
		t.stop()
	}
	return t.f.Close()
}
