package local

import (
	"context"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// SetHTTPFault implements faults.HTTPRuntime through the instance's admin
// fault API (on its stable control address, so a link fault on the same
// service does not block it).
func (d *Deployment) SetHTTPFault(ctx context.Context, fi faults.Instance, f faults.HTTPFault) (string, error) {
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return "", err
	}
	return fleet.SetHTTPFault(ctx, base, d.cfg.AdminToken, fi.ID, f)
}

// ClearHTTPFault implements faults.HTTPRuntime. An instance that is down
// holds no fault (faults live in its memory), so clearing it succeeds.
func (d *Deployment) ClearHTTPFault(ctx context.Context, fi faults.Instance, id string) error {
	_, p, err := d.current(fi)
	if err != nil || p == nil {
		return err
	}
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return err
	}
	return fleet.ClearHTTPFault(ctx, base, d.cfg.AdminToken, fi.ID, id)
}

var _ faults.HTTPRuntime = (*Deployment)(nil)
