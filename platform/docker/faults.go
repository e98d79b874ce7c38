package docker

import (
	"context"
	"fmt"
	"math"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// Instances implements faults.InstanceLister: the running (or paused)
// instances of a service. PID is the container's init process as the host
// sees it; the container itself is what the faults act on.
func (d *Deployment) Instances(service string) ([]faults.Instance, error) {
	if err := d.graph.CheckService(service); err != nil {
		return nil, err
	}
	return d.roster.Running(service), nil
}

// CurrentRef implements fleet.Instance: the current start's reference,
// if the instance is up.
func (in *instance) CurrentRef() (string, bool) {
	in.Mu.Lock()
	defer in.Mu.Unlock()
	if in.Cur == nil || in.Cur.done() {
		return "", false
	}
	return in.Cur.ref(), true
}

// current returns the instance and its start if that start is still the
// one described by fi.
func (d *Deployment) current(fi faults.Instance) (*instance, *generation, error) {
	in, err := d.instance(fi.ID)
	if err != nil {
		return nil, nil, err
	}
	in.Mu.Lock()
	defer in.Mu.Unlock()
	if in.Cur == nil || in.Cur.ref() != fi.Ref || in.Cur.done() {
		return in, nil, nil
	}
	return in, in.Cur, nil
}

// Kill implements faults.ProcessRuntime: SIGKILL to the container (after
// checking its labels), then the restart policy. It returns once the
// container has stopped.
func (d *Deployment) Kill(ctx context.Context, fi faults.Instance, pol faults.RestartPolicy) error {
	return d.end(ctx, fi, pol, 0)
}

// Stop ends the instance gracefully: SIGTERM, SIGKILL after grace, then the
// restart policy, like Kill. It returns once the container has stopped.
func (d *Deployment) Stop(ctx context.Context, fi faults.Instance, grace time.Duration, pol faults.RestartPolicy) error {
	return d.end(ctx, fi, pol, max(grace, time.Nanosecond))
}

// running returns the instance of fi, its current start and its container's
// state, or an error if that start is over or the container is not the
// run's.
func (d *Deployment) running(ctx context.Context, fi faults.Instance) (*instance, *generation, container.InspectResponse, error) {
	in, gen, err := d.current(fi)
	if err != nil {
		return nil, nil, container.InspectResponse{}, err
	}
	if gen == nil {
		return nil, nil, container.InspectResponse{}, fmt.Errorf("%s (%s) is no longer running", fi.ID, fi.Ref)
	}
	st, err := d.inspect(ctx, in)
	if err != nil {
		return nil, nil, st, err
	}
	return in, gen, st, nil
}

// end kills (grace 0) or stops the container of fi.
func (d *Deployment) end(ctx context.Context, fi faults.Instance, pol faults.RestartPolicy, grace time.Duration) error {
	in, gen, st, err := d.running(ctx, fi)
	if err != nil {
		return err
	}
	in.Mu.Lock()
	in.Life.Pend(pol)
	in.Mu.Unlock()
	if st.State != nil && st.State.Paused {
		// A frozen container cannot act on a signal until thawed.
		if err := d.cli.ContainerUnpause(ctx, in.cid); err != nil {
			return fmt.Errorf("unpause %s before stopping it: %w", in.name, err)
		}
	}
	if grace == 0 {
		err = d.cli.ContainerKill(ctx, in.cid, "SIGKILL")
	} else {
		secs := int(math.Ceil(grace.Seconds()))
		err = d.cli.ContainerStop(ctx, in.cid, container.StopOptions{Timeout: &secs})
	}
	if err != nil {
		in.Mu.Lock()
		in.Life.Unpend()
		in.Mu.Unlock()
		return fmt.Errorf("%s: %w", in.name, err)
	}
	return in.AwaitDown(ctx, gen, gen.exited, "stop", fi.ID)
}

// Restart implements faults.ProcessRuntime: it wakes a down instance and
// waits until it is up again; a running instance is left alone.
func (d *Deployment) Restart(ctx context.Context, fi faults.Instance) error {
	return d.roster.Restart(ctx, fi)
}

// Pause implements faults.Pauser: the container is paused (its
// cgroup frozen) after checking its labels. Pausing a paused container is
// not an error.
func (d *Deployment) Pause(ctx context.Context, fi faults.Instance) error {
	in, gen, st, err := d.running(ctx, fi)
	if err != nil {
		return err
	}
	if st.State == nil || !st.State.Running {
		return fmt.Errorf("%s is not running", in.name)
	}
	if !st.State.Paused {
		if err := d.cli.ContainerPause(ctx, in.cid); err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
	}
	in.Mu.Lock()
	if in.Cur == gen {
		in.State = StatePaused
	}
	in.Mu.Unlock()
	return nil
}

// Resume implements faults.Pauser. Resuming a container that is
// gone, stopped or not paused is not an error.
func (d *Deployment) Resume(ctx context.Context, fi faults.Instance) error {
	in, err := d.instance(fi.ID)
	if err != nil {
		return err
	}
	st, err := d.inspect(ctx, in)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.State != nil && st.State.Paused {
		if err := d.cli.ContainerUnpause(ctx, in.cid); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("%s: %w", in.name, err)
		}
	}
	in.Mu.Lock()
	if in.State == StatePaused {
		in.State = StateRunning
	}
	in.Mu.Unlock()
	return nil
}

// PauseUndo implements faults.Pauser: `gameday recover` unpauses
// the container (if it still carries the run's label) without the harness.
func (d *Deployment) PauseUndo(fi faults.Instance) journal.Undo {
	ref := map[string]string{"run": d.cfg.RunID}
	name := fi.ID
	if in, err := d.instance(fi.ID); err == nil {
		ref["container"], ref["name"], name = in.cid, in.name, in.name
	}
	return journal.Undo{Kind: UndoUnpause, Ref: ref, Detail: fmt.Sprintf("pause of %s (container %s)", fi.ID, name)}
}

// SetHTTPFault implements faults.HTTPRuntime through the instance's admin
// fault API (on its stable control address on the host, so that a link
// fault on the same service does not block it), after checking that the
// container is the run's.
func (d *Deployment) SetHTTPFault(ctx context.Context, fi faults.Instance, f faults.HTTPFault) (string, error) {
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return "", err
	}
	in, _ := d.instance(fi.ID)
	if _, err := d.inspect(ctx, in); err != nil {
		return "", err
	}
	return fleet.SetHTTPFault(ctx, base, d.cfg.AdminToken, fi.ID, f)
}

// ClearHTTPFault implements faults.HTTPRuntime. An instance that is down
// holds no fault (faults live in its memory), so clearing it succeeds.
func (d *Deployment) ClearHTTPFault(ctx context.Context, fi faults.Instance, id string) error {
	_, gen, err := d.current(fi)
	if err != nil || gen == nil {
		return err
	}
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return err
	}
	return fleet.ClearHTTPFault(ctx, base, d.cfg.AdminToken, fi.ID, id)
}

var (
	_ faults.Pauser      = (*Deployment)(nil)
	_ faults.LinkRuntime = (*Deployment)(nil)
	_ faults.HTTPRuntime = (*Deployment)(nil)
)
