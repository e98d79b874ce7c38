package journal

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Handler undoes the records of the kinds it handles. Recover calls it
// only for records of runs whose harness is gone.
type Handler interface {
	// Handles says whether the handler undoes records of this kind.
	Handles(kind Kind) bool
	// Undo undoes one record of run runID and returns one line per action
	// taken (or per thing found already gone), for the person recovering.
	// An error keeps the record for a later recovery.
	Undo(ctx context.Context, runID string, u Undo) ([]string, error)
}

// Recovery is what Recover found in the journal and what it did.
type Recovery struct {
	Found []string // one line per record found
	Done  []string // one line per action taken
	Left  []string // records left alone (their harness is still running, or no handler takes them)
}

// Recover undoes what runs whose harness is gone left in the journal: each
// record goes to the first handler that handles its kind, intents first
// (a paused process is resumed before the run's processes are ended), then
// resources oldest first; the records undone are cleared, and the run
// record once nothing of the run is left. Runs whose harness is alive are
// left alone. A record no handler takes is reported in Left and kept for a
// later recovery that has the handler (for example once the Docker engine
// answers again). Recover is idempotent.
func Recover(ctx context.Context, j *Journal, handlers ...Handler) (Recovery, error) {
	var rec Recovery
	var errs []error
	r := &recovery{j: j, handlers: handlers, rec: &rec, claimed: map[string]func(bool) error{}, kept: map[string]bool{}, alive: map[string]int{}}
	runs, err := j.Runs()
	if err != nil {
		errs = append(errs, err)
	}
	for _, run := range runs {
		r.claimRun(run.RunID, run.PID)
	}
	intents, err := j.Intents()
	if err != nil {
		errs = append(errs, err)
	}
	for _, in := range intents {
		if !r.mine(in.RunID, fmt.Sprintf("fault %s (%s)", in.Fault, in.Type)) {
			continue
		}
		rec.Found = append(rec.Found, fmt.Sprintf("fault %s (%s) of run %s, injected %s", in.Fault, in.Type, in.RunID, in.Created.Format(time.RFC3339)))
		keep := false
		for _, u := range in.Undo {
			if r.undo(ctx, "fault "+in.Fault, in.RunID, u) {
				keep = true
			}
		}
		if keep {
			r.kept[in.RunID] = true
		} else if err := j.ClearIntent(in.ID); err != nil {
			errs = append(errs, err)
		}
	}
	resources, err := j.Resources()
	if err != nil {
		errs = append(errs, err)
	}
	for _, res := range resources {
		if !r.mine(res.RunID, res.Undo.Detail) {
			continue
		}
		rec.Found = append(rec.Found, fmt.Sprintf("%s of run %s, created %s", res.Undo.Detail, res.RunID, res.Created.Format(time.RFC3339)))
		if r.undo(ctx, res.Undo.Detail, res.RunID, res.Undo) {
			r.kept[res.RunID] = true
		} else if err := j.ClearResource(res.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for id, release := range r.claimed {
		if err := release(!r.kept[id]); err != nil {
			errs = append(errs, err)
		}
	}
	return rec, errors.Join(append(errs, r.errs...)...)
}

// recovery is the state of one Recover call.
type recovery struct {
	j        *Journal
	handlers []Handler
	rec      *Recovery
	errs     []error
	alive    map[string]int              // run → harness pid, for runs left alone
	claimed  map[string]func(bool) error // runs this recovery holds
	kept     map[string]bool             // runs with records kept
}

// claimRun takes a dead run's lock, or notes that its harness is alive.
func (r *recovery) claimRun(id string, pid int) {
	release, err := r.j.claim(id)
	switch {
	case err == nil:
		r.claimed[id] = release
	case errors.Is(err, ErrRunHeld):
		r.alive[id] = pid
	default:
		r.errs = append(r.errs, err)
		r.alive[id] = pid // unknown: leave it alone
	}
}

// mine says whether this recovery undoes the records of run id: its
// harness is gone. Records of a run without a run record (its harness died
// between writing them, or the record was lost) are claimed on first sight.
func (r *recovery) mine(id, what string) bool {
	if _, ok := r.claimed[id]; !ok {
		if _, alive := r.alive[id]; !alive {
			r.claimRun(id, 0)
		}
	}
	if _, ok := r.claimed[id]; ok {
		return true
	}
	r.rec.Left = append(r.rec.Left, fmt.Sprintf("%s of run %s: harness pid %d still running", what, id, r.alive[id]))
	return false
}

// undo hands one record to its handler; keep says it must stay.
func (r *recovery) undo(ctx context.Context, what, runID string, u Undo) (keep bool) {
	if u.Kind == EndsWithHarness {
		r.rec.Done = append(r.rec.Done, fmt.Sprintf("%s: ended with the harness", u.Detail))
		return false
	}
	var h Handler
	for _, c := range r.handlers {
		if c.Handles(u.Kind) {
			h = c
			break
		}
	}
	if h == nil {
		r.rec.Left = append(r.rec.Left, fmt.Sprintf("%s: %s (%s) needs a recovery handler this gameday does not have here (is the runtime's engine reachable?)", what, u.Detail, u.Kind))
		return true
	}
	lines, err := h.Undo(ctx, runID, u)
	r.rec.Done = append(r.rec.Done, lines...)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("recover %s: %w", what, err))
		return true
	}
	return false
}
