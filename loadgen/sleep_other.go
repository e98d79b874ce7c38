//go:build !linux

package loadgen

import (
	"context"
	"time"
)

// sleeper falls back on Go's timers outside Linux.
type sleeper struct {
	t   *time.Timer
	ctx context.Context
}

func newSleeper(ctx context.Context) (*sleeper, error) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &sleeper{t: t, ctx: ctx}, nil
}

func (s *sleeper) sleep(d time.Duration) error {
	ctx := s.ctx
	if d <= 0 {
		return ctx.Err()
	}
	s.t.Reset(d)
	select {
	case <-s.t.C:
		return nil
	case <-ctx.Done():
		s.t.Stop()
		return ctx.Err()
	}
}

func (s *sleeper) close() error { return nil }
