package fleet

import (
	"context"
	"fmt"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/sut/client"
)

// SetHTTPFault sets f on the instance id through the shop's admin fault API
// at base (a URL without path), with the run's admin token, and returns the
// fault's id there. A fault is an abort if it has a status, else a delay.
func SetHTTPFault(ctx context.Context, base, token, id string, f faults.HTTPFault) (string, error) {
	af := client.AdminFault{Operation: f.Operation, Edge: f.Edge, Percent: f.Percent * 100, Delay: f.Delay, Jitter: f.Jitter, Status: f.Status}
	switch {
	case f.Status != 0:
		af.Kind = client.KindAbort
	case f.Delay > 0:
		af.Kind = client.KindDelay
	default:
		return "", fmt.Errorf("http fault on %s: neither a status nor a delay", id)
	}
	fid, err := client.SetFault(ctx, base, token, af)
	if err != nil {
		return "", fmt.Errorf("%s: %w", id, err)
	}
	return fid, nil
}

// ClearHTTPFault removes the fault faultID (from SetHTTPFault) from the
// instance id through its admin API at base.
func ClearHTTPFault(ctx context.Context, base, token, id, faultID string) error {
	if err := client.ClearFault(ctx, base, token, faultID); err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	return nil
}
