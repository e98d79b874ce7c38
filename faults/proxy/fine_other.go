//go:build !linux

package proxy

import "time"

// fineTimer sleeps the last stretch of a delay (a runtime timer off Linux).
type fineTimer struct{}

func (*fineTimer) sleep(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

func (*fineTimer) close() {}
