package local

import (
	"context"
	"fmt"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/sut/client"
)

// SetHTTPFault implements faults.HTTPRuntime through the instance's admin
// fault API (on its stable control address, so a link fault on the same
// service does not block it).
func (d *Deployment) SetHTTPFault(ctx context.Context, fi faults.Instance, f faults.HTTPFault) (string, error) {
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return "", err
	}
	af := client.AdminFault{Operation: f.Operation, Edge: f.Edge, Percent: f.Percent * 100, Delay: f.Delay, Jitter: f.Jitter, Status: f.Status}
	switch {
	case f.Status != 0:
		af.Kind = client.KindAbort
	case f.Delay > 0:
		af.Kind = client.KindDelay
	default:
		return "", fmt.Errorf("http fault on %s: neither a status nor a delay", fi.ID)
	}
	id, err := client.SetFault(ctx, base, d.cfg.AdminToken, af)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fi.ID, err)
	}
	return id, nil
}

// ClearHTTPFault implements faults.HTTPRuntime. An instance that is down
// holds no fault (faults live in its memory), so clearing it succeeds.
func (d *Deployment) ClearHTTPFault(ctx context.Context, fi faults.Instance, id string) error {
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return err
	}
	_, p, err := d.current(fi)
	if err != nil {
		return err
	}
	if p == nil {
		return nil
	}
	if err := client.ClearFault(ctx, base, d.cfg.AdminToken, id); err != nil {
		return fmt.Errorf("%s: %w", fi.ID, err)
	}
	return nil
}

var _ faults.HTTPRuntime = (*Deployment)(nil)
