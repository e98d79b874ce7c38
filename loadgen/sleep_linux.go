package loadgen

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper waits with microsecond precision. Go's timers wake about 1 ms late
// on Linux (the netpoller's timeout is in milliseconds), which is far too
// coarse at 20,000 arrivals/s; a timerfd read through the netpoller wakes
// within tens of microseconds and still parks the goroutine (no spinning).
type sleeper struct {
	fd   int
	f    *os.File
	buf  [8]byte
	stop func() bool
	ctx  context.Context
}

// newSleeper returns a sleeper whose waits end early when ctx is done.
func newSleeper(ctx context.Context) (*sleeper, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	s := &sleeper{fd: fd, f: os.NewFile(uintptr(fd), "timerfd"), ctx: ctx}
	// Cancellation fires the timer at once, which ends a pending read.
	s.stop = context.AfterFunc(ctx, func() { _ = s.arm(1) })
	return s, nil
}

func (s *sleeper) arm(ns int64) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(ns)}
	return unix.TimerfdSettime(s.fd, 0, &spec, nil)
}

// sleep waits d, or less if the sleeper's context is done (then it returns
// the context's error).
func (s *sleeper) sleep(d time.Duration) error {
	if d <= 0 {
		return s.ctx.Err()
	}
	if err := s.arm(int64(d)); err != nil {
		return fmt.Errorf("timerfd settime: %w", err)
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if _, err := s.f.Read(s.buf[:]); err != nil {
		return fmt.Errorf("timerfd read: %w", err)
	}
	return s.ctx.Err()
}

func (s *sleeper) close() error {
	s.stop()
	return s.f.Close()
}
