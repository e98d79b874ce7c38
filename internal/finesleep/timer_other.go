//go:build !linux

package finesleep

import (
	"context"
	"time"
)

// Timer falls back on runtime timers outside Linux.
type Timer struct{}

// New makes a Timer.
func New() (*Timer, error) { return &Timer{}, nil }

// Sleep waits d.
func (*Timer) Sleep(d time.Duration) error {
	time.Sleep(d)
	return nil
}

// SleepContext waits d, or less if ctx ends first (then it returns ctx's error).
func (*Timer) SleepContext(ctx context.Context, d time.Duration) error {
	if !coarse(ctx, d) {
		return ctx.Err()
	}
	return nil
}

// Close does nothing.
func (*Timer) Close() error { return nil }
