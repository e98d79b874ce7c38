package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/reports"
)

// The run record is written as the run goes (verdict "running"): when the
// run starts, every CheckpointEvery during the load and once the load has
// stopped, so that a harness killed with SIGKILL leaves a record of what
// was measured. The journal holds a resource of kind UndoCloseRecord for it;
// `gameday recover` hands it to a RecordCloser, which closes the record as
// "crashed" and renders its reports.

// CheckpointEvery is how often the run record is rewritten during the load.
const CheckpointEvery = 5 * time.Second

// UndoCloseRecord is the journal kind of a run record still being written.
const UndoCloseRecord journal.Kind = "close-run-record"

// live is what the run has measured so far, for checkpoints.
type live struct {
	mu        sync.Mutex
	intervals []loadgen.IntervalSummary
	events    []faults.Event
}

func (l *live) addInterval(iv loadgen.Interval) {
	s := iv.Summary()
	l.mu.Lock()
	l.intervals = append(l.intervals, s)
	l.mu.Unlock()
}

func (l *live) addEvent(e faults.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *live) snapshot() ([]loadgen.IntervalSummary, []faults.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loadgen.IntervalSummary(nil), l.intervals...), append([]faults.Event(nil), l.events...)
}

func (r *run) recordPath() string { return filepath.Join(r.dir, "run.json") }

func (r *run) recordResourceID() string { return "record-" + r.id }

// openJournal registers the run and its record in the journal, so that a
// crash is recovered (the platform registers the run again when it deploys;
// the same record).
func (r *run) openJournal() error {
	j := r.o.Journal
	if j == nil {
		return nil
	}
	abs, err := filepath.Abs(r.recordPath())
	if err != nil {
		return fmt.Errorf("run record path: %w", err)
	}
	if _, err := j.BeginRun(r.id); err != nil {
		return err
	}
	return j.WriteResource(journal.Resource{
		ID: r.recordResourceID(), RunID: r.id, Created: time.Now().UTC(),
		Undo: journal.Undo{Kind: UndoCloseRecord, Ref: map[string]string{"path": abs}, Detail: "run record " + abs},
	})
}

// closeJournal removes the record's entry once the final record is written.
func (r *run) closeJournal() {
	j := r.o.Journal
	if j == nil {
		return
	}
	if err := j.ClearResource(r.recordResourceID()); err != nil {
		r.o.Logger.Warn("journal: clear run record", "err", err)
	}
	if err := j.EndRun(r.id); err != nil {
		r.o.Logger.Warn("journal: end run", "err", err)
	}
}

// checkpoint writes the record as it stands, verdict "running".
func (r *run) checkpoint() {
	r.mu.Lock()
	rec := *r.record
	rec.Checks = append([]reports.Check(nil), r.record.Checks...)
	rec.Recovery = append([]reports.Recovery(nil), r.record.Recovery...)
	r.mu.Unlock()
	intervals, events := r.live.snapshot()
	if err := r.fillRecord(&rec, intervals, events); err != nil {
		r.o.Logger.Warn("checkpoint", "err", err)
	}
	rec.End = r.o.Now()
	rec.DurationSeconds = rec.End.Sub(rec.Start).Seconds()
	rec.Verdict = reports.VerdictRunning
	rec.Reason = "the run was still going when this record was written"
	if err := rec.Save(r.recordPath()); err != nil {
		r.o.Logger.Warn("checkpoint", "err", err)
	}
}

// checkpoints rewrites the record every CheckpointEvery until ctx ends.
func (r *run) checkpoints(ctx context.Context) {
	t := time.NewTicker(CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.checkpoint()
		}
	}
}

// RecordCloser is the recovery handler of UndoCloseRecord: it closes the
// record a crashed run left as "running": verdict crashed, every check not
// judged yet marked not evaluated (the harness crashed), faults still
// injected marked as reverted by recovery; then it renders the reports.
type RecordCloser struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
}

var _ journal.Handler = (*RecordCloser)(nil)

// Handles reports whether the kind is UndoCloseRecord.
func (*RecordCloser) Handles(k journal.Kind) bool { return k == UndoCloseRecord }

// Undo closes the record at u.Ref["path"].
func (c *RecordCloser) Undo(_ context.Context, runID string, u journal.Undo) ([]string, error) {
	path := u.Ref["path"]
	if path == "" {
		return nil, errors.New("close run record: no path in the journal entry")
	}
	rec, err := reports.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return []string{fmt.Sprintf("run record %s of run %s is gone: nothing to close", path, runID)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("close run record: %w", err)
	}
	if rec.Verdict != reports.VerdictRunning {
		return []string{fmt.Sprintf("run record %s was already closed (%s)", path, rec.Verdict)}, nil
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	CloseCrashed(rec, now())
	if err := rec.Save(path); err != nil {
		return nil, fmt.Errorf("close run record: %w", err)
	}
	if err := reports.WriteAll(filepath.Dir(path), rec); err != nil {
		return nil, fmt.Errorf("close run record: render reports: %w", err)
	}
	return []string{fmt.Sprintf("closed run record %s as crashed (%d checks, %d not evaluated); reports in %s",
		path, len(rec.Checks), rec.Tally().NotEvaluated, filepath.Dir(path))}, nil
}

// CloseCrashed turns a record left "running" by a dead harness into a
// crashed one. Its End stays the last checkpoint: the record holds nothing
// measured after it.
func CloseCrashed(rec *reports.Run, now time.Time) {
	at := rec.DurationSeconds
	rec.Verdict = reports.VerdictCrashed
	rec.Reason = fmt.Sprintf("the harness died; its last record was written at t=%s (%s); `gameday recover` closed it at %s",
		fmtOffset(at), rec.End.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	for i := range rec.Checks {
		ch := &rec.Checks[i]
		if ch.Status == reports.StatusNotEvaluated && ch.Reason == pendingReason {
			ch.Reason = fmt.Sprintf("not evaluated: the harness crashed (last record at t=%s) before this check", fmtOffset(at))
		}
	}
	for i := range rec.Faults {
		f := &rec.Faults[i]
		if f.InjectedAt != nil && f.RevertedAt == nil {
			f.Error = "the harness crashed while this fault was injected; `gameday recover` reverted what the journal held"
		}
	}
}
