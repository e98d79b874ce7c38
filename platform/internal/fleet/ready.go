package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrExited is WaitReady's error when the instance exits first.
var ErrExited = errors.New("exited before ready")

// WaitReady polls http://addr/readyz (each attempt bounded to 1s) every
// `every` until it answers 200 OK. It gives up with ErrExited once exited
// is closed, with ctx's error once ctx ends, and with an error naming the
// URL once timeout fires.
func WaitReady(ctx context.Context, c *http.Client, addr string, every time.Duration, exited <-chan struct{}, timeout <-chan time.Time) error {
	url := "http://" + addr + "/readyz"
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		if err != nil {
			cancel()
			return fmt.Errorf("readiness of %s: %w", addr, err)
		}
		resp, err := c.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return ErrExited
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("%s not ready in time", url)
		case <-tick.C:
		}
	}
}
