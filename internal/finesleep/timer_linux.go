//go:build linux

package finesleep

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Timer is a timerfd read through the netpoller.
type Timer struct {
	fd   int
	f    *os.File
	buf  [8]byte
	ctx  context.Context // NewBound's; nil for New
	stop func() bool
}

// New makes a Timer; Close releases its file descriptor.
func New() (*Timer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	return &Timer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}, nil
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
	// Cancellation fires the timer at once, which ends a pending read.
	t.stop = context.AfterFunc(ctx, func() { _ = t.arm(1) })
	return t, nil
}

func (t *Timer) arm(ns int64) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(ns)}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("timerfd settime: %w", err)
	}
	return nil
}

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
	if err := t.arm(int64(d)); err != nil {
		return err
	}
	if _, err := t.f.Read(t.buf[:]); err != nil {
		return fmt.Errorf("timerfd read: %w", err)
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
	if err := t.arm(int64(d)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = t.arm(1) })
	_, rerr := t.f.Read(t.buf[:])
	if !stop() {
		return ctx.Err() // the cancellation ran or is running
	}
	if rerr != nil {
		return fmt.Errorf("timerfd read: %w", rerr)
	}
	return nil
}

// Close releases the timer.
func (t *Timer) Close() error {
	if t.stop != nil {
		t.stop()
	}
	return t.f.Close()
}
