//go:build !linux

package finesleep

import (
	"context"
	"time"
)

// Timer falls back on runtime timers outside Linux.
type Timer struct{ ctx context.Context }

// New makes a Timer.
func New() (*Timer, error) { return &Timer{}, nil }

// NewBound makes a Timer whose every Sleep ends early once ctx is done.
func NewBound(ctx context.Context) (*Timer, error) { return &Timer{ctx: ctx}, nil }

// Sleep waits d; a bound Timer returns its context's error if that ended
// the sleep.
func (t *Timer) Sleep(d time.Duration) error {
	if t.ctx == nil {
		time.Sleep(d)
		return nil
	}
	return t.SleepContext(t.ctx, d)
}

// SleepContext waits d, or less if ctx ends first (then it returns ctx's error).
func (*Timer) SleepContext(ctx context.Context, d time.Duration) error {
	if !coarse(ctx, d) || ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// Close does nothing.
func (*Timer) Close() error { return nil }
