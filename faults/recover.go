package faults

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Recovery is what Recover found in the journal and what it did.
type Recovery struct {
	Found []string // one line per record found
	Done  []string // one line per action taken
	Left  []string // records left alone (their harness is still running)
}

// UndoHandler reverts journal records of kinds this package does not know:
// a runtime's own, such as a paused container, a packet filter in a
// container's network namespace or the containers of a run. Recover calls it
// only for records of runs whose harness is gone.
type UndoHandler interface {
	// Handles says whether the handler reverts records of this kind.
	Handles(kind UndoKind) bool
	// Undo reverts one record of run runID and returns one line per action
	// taken (or per thing found already gone), for the person recovering.
	Undo(ctx context.Context, runID string, u Undo) ([]string, error)
}

// Recover reverts what crashed runs left in the journal: it resumes
// processes a pause fault may have stopped, ends orphaned children (SIGCONT,
// then SIGKILL to the child's process group) and clears the records. Each
// process is checked by pid, start time and run id before any signal; a
// process that is gone or not ours is only reported. Runs whose harness is
// still alive are left alone.
//
// Records of other kinds (a runtime's intents and resources) go to the first
// handler that handles their kind: intents first, then children, then
// resources (so that a paused container is resumed before its run's
// containers are removed). A record no handler takes is reported in Left and
// kept for a later recovery that has the handler (for example once the
// Docker engine is reachable again).
func Recover(ctx context.Context, j *Journal, handlers ...UndoHandler) (Recovery, error) {
	var rec Recovery
	var errs []error
	runs, err := j.Runs()
	if err != nil {
		errs = append(errs, err)
	}
	alive := map[string]RunRecord{}
	for _, r := range runs {
		if r.Alive() {
			alive[r.RunID] = r
		}
	}
	handler := func(k UndoKind) UndoHandler {
		for _, h := range handlers {
			if h.Handles(k) {
				return h
			}
		}
		return nil
	}
	// undoOther runs the handler of a kind this package does not know; keep
	// says the record must stay in the journal.
	undoOther := func(what, runID string, u Undo) (keep bool) {
		h := handler(u.Kind)
		if h == nil {
			rec.Left = append(rec.Left, fmt.Sprintf("%s: %s (%s) needs a recovery handler this gameday does not have here (is the runtime's engine reachable?)", what, u.Detail, u.Kind))
			return true
		}
		lines, err := h.Undo(ctx, runID, u)
		rec.Done = append(rec.Done, lines...)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover %s: %w", what, err))
			return true
		}
		return false
	}
	intents, err := j.Intents()
	if err != nil {
		errs = append(errs, err)
	}
	for _, in := range intents {
		if r, ok := alive[in.RunID]; ok {
			rec.Left = append(rec.Left, fmt.Sprintf("fault %s (%s) of run %s: harness pid %d still running", in.Fault, in.Type, in.RunID, r.PID))
			continue
		}
		rec.Found = append(rec.Found, fmt.Sprintf("fault %s (%s) of run %s, injected %s", in.Fault, in.Type, in.RunID, in.Created.Format(time.RFC3339)))
		failed := false
		for _, u := range in.Undo {
			switch u.Kind {
			case UndoResume:
				if u.Proc == nil {
					continue
				}
				switch err := u.Proc.Signal(syscall.SIGCONT); {
				case err == nil:
					rec.Done = append(rec.Done, fmt.Sprintf("resumed pid %d (%s)", u.Proc.PID, u.Detail))
				case errors.Is(err, ErrNotOwned):
					rec.Done = append(rec.Done, fmt.Sprintf("pid %d (%s) is gone: nothing to resume", u.Proc.PID, u.Detail))
				default:
					failed = true
					errs = append(errs, fmt.Errorf("recover %s: %w", in.Fault, err))
				}
			case UndoEndsWithHarness:
				rec.Done = append(rec.Done, fmt.Sprintf("%s: ended with the harness", u.Detail))
			default:
				if undoOther("fault "+in.Fault, in.RunID, u) {
					failed = true
				}
			}
		}
		if !failed {
			if err := j.ClearIntent(in.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	children, err := j.Children()
	if err != nil {
		errs = append(errs, err)
	}
	for _, c := range children {
		if r, ok := alive[c.RunID]; ok {
			rec.Left = append(rec.Left, fmt.Sprintf("%s (pid %d) of run %s: harness pid %d still running", c.ID, c.PID, c.RunID, r.PID))
			continue
		}
		rec.Found = append(rec.Found, fmt.Sprintf("child %s (pid %d) of run %s", c.ID, c.PID, c.RunID))
		switch err := EndChild(ctx, c); {
		case err == nil:
			rec.Done = append(rec.Done, fmt.Sprintf("ended orphaned %s (pid %d)", c.ID, c.PID))
		case errors.Is(err, ErrNotOwned):
			rec.Done = append(rec.Done, fmt.Sprintf("%s (pid %d) is gone or no longer ours (start time or run id differ): not signalled", c.ID, c.PID))
		default:
			errs = append(errs, fmt.Errorf("recover %s: %w", c.ID, err))
			continue
		}
		if err := j.ClearChild(c); err != nil {
			errs = append(errs, err)
		}
	}
	resources, err := j.Resources()
	if err != nil {
		errs = append(errs, err)
	}
	for _, res := range resources {
		if r, ok := alive[res.RunID]; ok {
			rec.Left = append(rec.Left, fmt.Sprintf("%s of run %s: harness pid %d still running", res.Undo.Detail, res.RunID, r.PID))
			continue
		}
		rec.Found = append(rec.Found, fmt.Sprintf("%s of run %s, created %s", res.Undo.Detail, res.RunID, res.Created.Format(time.RFC3339)))
		if undoOther(res.Undo.Detail, res.RunID, res.Undo) {
			continue
		}
		if err := j.ClearResource(res.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range runs {
		if _, ok := alive[r.RunID]; ok {
			continue
		}
		if err := j.EndRun(r.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	return rec, errors.Join(errs...)
}

// EndChild ends a child the harness started, after checking ownership:
// SIGCONT (a stopped process cannot exit on SIGTERM), then SIGKILL to its
// process group, then waits for it to disappear. It returns ErrNotOwned if
// the process is already gone or is not ours.
func EndChild(ctx context.Context, c ChildRecord) error {
	if err := c.Owned(); err != nil {
		return err
	}
	target := c.PID
	if c.Pgid {
		target = -c.PID
	}
	_ = syscall.Kill(target, syscall.SIGCONT)
	if err := syscall.Kill(target, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pid %d: %w", c.PID, err)
	}
	return waitGone(ctx, c.ProcRef)
}

// waitGone waits until the process is gone (or a zombie, which holds no
// socket and no memory; its parent reaps it).
func waitGone(ctx context.Context, p ProcRef) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := ProcStartTime(p.PID)
		if err != nil || st != p.StartTime {
			return nil
		}
		if s, err := ProcState(p.PID); err == nil && (s == 'Z' || s == 'X') {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pid %d still there after SIGKILL: %w", p.PID, ctx.Err())
		case <-t.C:
		}
	}
}
