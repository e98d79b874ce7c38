package local

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
)

// Journal kinds of the local runtime.
const (
	// UndoEndProcess: a child process of the run; recovery ends it and its
	// process group if it is still the one the run started.
	UndoEndProcess journal.Kind = "local.process"
	// UndoResume: a process a pause fault may have stopped; recovery sends
	// SIGCONT if it is still the one the run started.
	UndoResume journal.Kind = "local.resume"
)

// processResource is the journal record of a child, written before the
// child may outlive the harness.
func processResource(p procRef, id string) journal.Resource {
	return journal.Resource{
		ID: fmt.Sprintf("%s-%d-%d", p.RunID, p.PID, p.StartTime), RunID: p.RunID, Created: time.Now().UTC(),
		Undo: journal.Undo{Kind: UndoEndProcess, Ref: withID(p.ref(), id), Detail: fmt.Sprintf("process %s (pid %d)", id, p.PID)},
	}
}

// ProcessRecord is the journal record the runtime writes for a child it
// started for run runID (its instance id is id), for tools and tests that
// journal a process the way the runtime does.
func ProcessRecord(runID, id string, pid int) (journal.Resource, error) {
	st, err := procfs.StartTime(pid)
	if err != nil {
		return journal.Resource{}, err
	}
	return processResource(procRef{PID: pid, StartTime: st, RunID: runID}, id), nil
}

func withID(m map[string]string, id string) map[string]string {
	m["id"] = id
	return m
}

// Recoverer is the local runtime's journal.Handler: it ends the orphaned
// children of a crashed run and resumes the processes its pause faults
// stopped, each only after checking that the process is still the one the
// run started (pid, start time and the run id in its environment).
type Recoverer struct{}

var _ journal.Handler = Recoverer{}

// Handles implements journal.Handler.
func (Recoverer) Handles(k journal.Kind) bool { return k == UndoEndProcess || k == UndoResume }

// Undo implements journal.Handler.
func (Recoverer) Undo(ctx context.Context, runID string, u journal.Undo) ([]string, error) {
	p, err := procRefOf(u.Ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.Detail, err)
	}
	if p.RunID != runID {
		return nil, fmt.Errorf("%s: record of run %q filed under run %q", u.Detail, p.RunID, runID)
	}
	id := u.Ref["id"]
	switch u.Kind {
	case UndoResume:
		switch err := p.signal(syscall.SIGCONT, false); {
		case err == nil:
			return []string{fmt.Sprintf("resumed pid %d (%s)", p.PID, u.Detail)}, nil
		case errors.Is(err, ErrNotOwned):
			return []string{fmt.Sprintf("pid %d (%s) is gone: nothing to resume", p.PID, u.Detail)}, nil
		default:
			return nil, err
		}
	case UndoEndProcess:
		switch err := endOrphan(ctx, p); {
		case err == nil:
			return []string{fmt.Sprintf("ended orphaned %s (pid %d)", id, p.PID)}, nil
		case errors.Is(err, ErrNotOwned):
			return []string{fmt.Sprintf("%s (pid %d) is gone or no longer ours (start time or run id differ): not signalled", id, p.PID)}, nil
		default:
			return nil, err
		}
	}
	return nil, fmt.Errorf("local recovery: unknown undo kind %q", u.Kind)
}

// endOrphan ends a child of a dead run after checking ownership: SIGCONT
// (a stopped process cannot exit on SIGTERM), then SIGKILL to its process
// group, then waits for it to disappear. ErrNotOwned says it is already
// gone or not ours.
func endOrphan(ctx context.Context, p procRef) error {
	if err := p.owned(); err != nil {
		return err
	}
	_ = syscall.Kill(-p.PID, syscall.SIGCONT)
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pid %d: %w", p.PID, err)
	}
	return waitGone(ctx, p)
}

// waitGone waits until the process is gone (or a zombie, which holds no
// socket and no memory; its parent reaps it). /proc offers no event for
// that: it polls.
func waitGone(ctx context.Context, p procRef) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := procfs.StartTime(p.PID)
		if err != nil || st != p.StartTime {
			return nil
		}
		if s, err := procfs.State(p.PID); err == nil && (s == 'Z' || s == 'X') {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pid %d still there after SIGKILL: %w", p.PID, ctx.Err())
		case <-t.C:
		}
	}
}
