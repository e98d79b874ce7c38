package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// RunRecord says that a harness process owns a run. The harness holds an
// exclusive lock (flock) on the run's lock file for as long as the run
// lasts; the kernel drops the lock when the process ends, however it ends,
// so a run whose lock can be taken is a run whose harness is gone. No pid
// is trusted for that (pids are reused); PID is only for people.
type RunRecord struct {
	RunID   string    `json:"runId"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// ownedRun is a run this process began: its held lock and how many
// callers began it (the runner and the runtime both do).
type ownedRun struct {
	lock *os.File
	refs int
	rec  RunRecord
}

// ErrRunHeld says another live harness owns the run.
var ErrRunHeld = errors.New("the run is held by another running harness")

func (j *Journal) runPath(id string) string { return filepath.Join(j.dir, "runs", fileName(id)) }

func (j *Journal) lockPath(id string) string { return j.runPath(id) + ".lock" }

// lock takes the run's lock without waiting; ErrRunHeld if a live harness
// (this process through another Journal, or another process) holds it.
func (j *Journal) lock(id string) (*os.File, error) {
	f, err := os.OpenFile(j.lockPath(id), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("journal: run %s: %w", id, ErrRunHeld)
		}
		return nil, fmt.Errorf("journal: lock run %s: %w", id, err)
	}
	return f, nil
}

// BeginRun records the calling process as the harness of runID and holds
// the run's lock until EndRun. Beginning a run this journal already began
// counts one more owner; each calls EndRun.
func (j *Journal) BeginRun(runID string) (RunRecord, error) {
	j.runsMu.Lock()
	defer j.runsMu.Unlock()
	if o := j.runs[runID]; o != nil {
		o.refs++
		return o.rec, nil
	}
	f, err := j.lock(runID)
	if err != nil {
		return RunRecord{}, err
	}
	rec := RunRecord{RunID: runID, PID: os.Getpid(), Started: time.Now().UTC()}
	if err := j.write(filepath.Join("runs", fileName(runID)), rec); err != nil {
		f.Close()
		return RunRecord{}, err
	}
	j.runs[runID] = &ownedRun{lock: f, refs: 1, rec: rec}
	return rec, nil
}

// EndRun removes the run record once its last owner ends it (after the
// run's intents and resources are gone) and releases the lock.
func (j *Journal) EndRun(runID string) error {
	j.runsMu.Lock()
	defer j.runsMu.Unlock()
	o := j.runs[runID]
	if o != nil {
		if o.refs--; o.refs > 0 {
			return nil
		}
		delete(j.runs, runID)
	}
	err := j.remove(filepath.Join("runs", fileName(runID)))
	if o != nil {
		_ = os.Remove(j.lockPath(runID))
		o.lock.Close()
	}
	return err
}

// Runs lists the run records left in the journal.
func (j *Journal) Runs() ([]RunRecord, error) {
	return readAll[RunRecord](filepath.Join(j.dir, "runs"))
}

// claim takes the lock of a run whose harness is gone, for as long as a
// recovery works on it (so two recoveries never undo one run at once);
// ErrRunHeld says the harness is alive. release removes the run record
// and its lock file when done is true.
func (j *Journal) claim(runID string) (release func(done bool) error, err error) {
	f, err := j.lock(runID)
	if err != nil {
		return nil, err
	}
	return func(done bool) error {
		defer f.Close()
		if !done {
			return nil
		}
		err := j.remove(filepath.Join("runs", fileName(runID)))
		_ = os.Remove(j.lockPath(runID))
		return err
	}, nil
}

// Alive says whether the harness of runID is still running.
func (j *Journal) Alive(runID string) bool {
	if _, err := os.Stat(j.lockPath(runID)); err != nil {
		return false // a harness takes the lock before it writes its record
	}
	f, err := j.lock(runID)
	if err != nil {
		return errors.Is(err, ErrRunHeld)
	}
	f.Close()
	return false
}
