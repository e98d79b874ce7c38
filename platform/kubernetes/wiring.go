package kubernetes

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// waitWired waits until every call edge into the instances callee accepts
// (all of them if callee is nil) answers: GET /readyz through the caller
// instance's sidecar edge (127.0.0.1:PORT in the caller's pod, reached
// through its port-forward), so through the callee's ClusterIP as the shop
// calls it. A pod is ready before kube-proxy has programmed its Service's
// new endpoints; this is what "the shop is wired" means. A caller that is
// down is not waited for. ctx bounds it.
//
// stop, if set, ends the wait early (without an error) once it says so.
func (d *Deployment) waitWired(ctx context.Context, callee func(id string) bool, stop func() bool) error {
	for _, in := range d.all {
		for _, ep := range d.obj.edges(in.service) {
			if callee != nil && !callee(ep.Callee) {
				continue
			}
			if err := in.waitEdge(ctx, ep, stop); err != nil {
				return err
			}
		}
	}
	return nil
}

func (in *instance) waitEdge(ctx context.Context, ep edgePort, stop func() bool) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return in.dial(ctx, ep.Port) }}}
	var last error
	for {
		if in.up() == nil || stop != nil && stop() {
			return nil // a caller that is down calls nobody
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://edge/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("edge %s (from %s's pod): %v: %w", ep.Name, in.id, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
