// Package finesleep sleeps with microsecond precision. Go's runtime timers
// wake through epoll_wait, whose timeout is in milliseconds, so a sleep of
// 200 µs takes about 1 ms; on Linux a Timer arms a timerfd and waits for it
// through the netpoller, which wakes within the kernel's hrtimer slack (tens
// of µs) and still parks only the goroutine, never spinning a thread. A sleep
// costs one system call (see Timer).
// Elsewhere it falls back on runtime timers.
//
// A Timer is used by one goroutine at a time; a Pool hands them out to
// short-lived goroutines such as request handlers.
package finesleep

import (
	"context"
	"sync"
	"time"
)

// Pool hands out Timers and takes them back. The zero value is ready.
type Pool struct{ p sync.Pool }

// Sleep waits d on a pooled Timer, or until ctx is done, and reports whether
// it waited the whole d. If no Timer can be made it falls back on a runtime
// timer.
func (p *Pool) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t, _ := p.p.Get().(*Timer)
	if t == nil {
		var err error
		if t, err = New(); err != nil {
			return coarse(ctx, d)
		}
	}
	if err := t.SleepContext(ctx, d); err != nil {
		// Cancelled (its timer may still be armed by the cancellation) or
		// broken: not given back.
		_ = t.Close()
		return false
	}
	p.p.Put(t)
	return true
}

// coarse is a sleep on a runtime timer.
func coarse(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
