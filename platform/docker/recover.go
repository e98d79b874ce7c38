package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/gameday/gameday/journal"
)

// Recoverer is the Docker runtime's journal.Handler: it reverts what a
// crashed run left, without the harness that made it. Every container is
// inspected first and left alone unless it carries the run's label.
type Recoverer struct {
	Client *client.Client
	// StopGrace is how long a container gets after SIGTERM before SIGKILL
	// when a dead run's containers are removed (default 2s).
	StopGrace time.Duration
}

var _ journal.Handler = (*Recoverer)(nil)

// Handles implements journal.Handler.
func (r *Recoverer) Handles(k journal.Kind) bool {
	return k == UndoUnpause || k == UndoChain || k == UndoRemoveRun
}

// Undo implements journal.Handler: it unpauses a container, removes an
// iptables chain from a container's namespace, or removes every container,
// network and volume of the run, and says what it did.
func (r *Recoverer) Undo(ctx context.Context, runID string, u journal.Undo) ([]string, error) {
	if run := u.Ref["run"]; run != "" && run != runID {
		return nil, fmt.Errorf("%s: record of run %q filed under run %q", u.Detail, run, runID)
	}
	switch u.Kind {
	case UndoUnpause:
		return r.unpause(ctx, runID, u)
	case UndoChain:
		return r.removeChain(ctx, runID, u)
	case UndoRemoveRun:
		grace := r.StopGrace
		if grace <= 0 {
			grace = 2 * time.Second
		}
		lines, err := removeRun(ctx, r.Client, runID, grace, nil)
		if len(lines) == 0 && err == nil {
			lines = []string{fmt.Sprintf("run %s: no container, network or volume left", runID)}
		}
		return lines, err
	}
	return nil, fmt.Errorf("docker recovery: unknown undo kind %q", u.Kind)
}

// owned inspects the container of an undo record; gone says it no longer
// exists, a foreign container is an error wrapping ErrForeign.
func (r *Recoverer) owned(ctx context.Context, runID string, u journal.Undo) (st containerState, gone bool, err error) {
	id := u.Ref["container"]
	if id == "" {
		return st, false, fmt.Errorf("%s: no container in the record", u.Detail)
	}
	ins, err := r.Client.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return st, true, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("inspect %s: %w", id, err)
	}
	if err := checkOwned(ins, runID); err != nil {
		return st, false, err
	}
	st.name = strings.TrimPrefix(ins.Name, "/")
	if ins.State != nil {
		st.running, st.paused, st.pid = ins.State.Running, ins.State.Paused, ins.State.Pid
	}
	if ins.NetworkSettings != nil {
		st.sandbox = ins.NetworkSettings.SandboxKey
	}
	return st, false, nil
}

type containerState struct {
	name    string
	running bool
	paused  bool
	pid     int
	sandbox string
}

func (r *Recoverer) unpause(ctx context.Context, runID string, u journal.Undo) ([]string, error) {
	st, gone, err := r.owned(ctx, runID, u)
	name := u.Ref["name"]
	switch {
	case gone:
		return []string{fmt.Sprintf("container %s is gone: nothing to unpause (%s)", name, u.Detail)}, nil
	case errors.Is(err, ErrForeign):
		return []string{fmt.Sprintf("left container %s alone: %v", name, err)}, nil
	case err != nil:
		return nil, err
	case !st.paused:
		return []string{fmt.Sprintf("container %s is not paused: nothing to do (%s)", st.name, u.Detail)}, nil
	}
	if err := r.Client.ContainerUnpause(ctx, u.Ref["container"]); err != nil {
		return nil, fmt.Errorf("unpause %s: %w", st.name, err)
	}
	return []string{fmt.Sprintf("unpaused container %s (%s)", st.name, u.Detail)}, nil
}

func (r *Recoverer) removeChain(ctx context.Context, runID string, u journal.Undo) ([]string, error) {
	st, gone, err := r.owned(ctx, runID, u)
	name, chain := u.Ref["name"], u.Ref["chain"]
	switch {
	case gone:
		return []string{fmt.Sprintf("container %s is gone: chain %s went with its namespace", name, chain)}, nil
	case errors.Is(err, ErrForeign):
		return []string{fmt.Sprintf("left container %s alone: %v", name, err)}, nil
	case err != nil:
		return nil, err
	case !st.running || st.pid <= 0:
		return []string{fmt.Sprintf("container %s is not running: chain %s went with its namespace", st.name, chain)}, nil
	}
	if err := nsOf(st.sandbox, st.pid).RemoveChain(ctx, chain); err != nil {
		return nil, fmt.Errorf("remove chain %s from %s: %w", chain, st.name, err)
	}
	return []string{fmt.Sprintf("removed iptables chain %s from container %s (%s)", chain, st.name, u.Detail)}, nil
}
