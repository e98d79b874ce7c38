package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// UndoKind is what recovery must do for one thing a fault changed.
type UndoKind string

// Undo kinds.
const (
	// UndoResume: the process may be stopped; send SIGCONT if it is still
	// the one the harness started.
	UndoResume UndoKind = "resume"
	// UndoEndsWithHarness: the change lives in the harness process (a
	// proxy toxic) or in a child that recovery ends anyway (an HTTP fault
	// held in the child's memory); nothing to do but report it.
	UndoEndsWithHarness UndoKind = "ends-with-harness"
)

// Undo is one thing a fault changed, written to the journal before the
// fault is injected. Kinds this package does not know (a runtime's own, such
// as a paused container) carry what their UndoHandler needs in Ref.
type Undo struct {
	Kind   UndoKind          `json:"kind"`
	Proc   *ProcRef          `json:"proc,omitempty"`
	Ref    map[string]string `json:"ref,omitempty"`
	Detail string            `json:"detail"`
}

// Intent is the journal record of a fault about to be injected.
type Intent struct {
	ID      string    `json:"id"`
	RunID   string    `json:"runId"`
	Fault   string    `json:"fault"`
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	Undo    []Undo    `json:"undo"`
}

// ChildRecord is the journal record of a process a runtime started, so that
// recovery can end it if the harness died without doing so.
type ChildRecord struct {
	ProcRef
	Service string `json:"service"`
	ID      string `json:"id"`
	Pgid    bool   `json:"pgid"` // the child leads its own process group
}

// Journal keeps intent and child records as one fsynced file each under
// dir, so that a crash at any moment leaves complete records or none.
type Journal struct {
	dir string
	mu  sync.Mutex
}

// OpenJournal creates dir (0700) if needed and returns its journal.
func OpenJournal(dir string) (*Journal, error) {
	if dir == "" {
		return nil, errors.New("journal: no state directory")
	}
	for _, d := range []string{dir, filepath.Join(dir, "intents"), filepath.Join(dir, "children"), filepath.Join(dir, "runs"), filepath.Join(dir, "resources")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	return &Journal{dir: dir}, nil
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// WriteIntent records the intent durably (write, fsync, rename, fsync dir).
func (j *Journal) WriteIntent(in Intent) error {
	return j.write(filepath.Join("intents", fileName(in.ID)), in)
}

// ClearIntent removes the intent; clearing a missing one is not an error.
func (j *Journal) ClearIntent(id string) error {
	return j.remove(filepath.Join("intents", fileName(id)))
}

// WriteChild records a child process of a run.
func (j *Journal) WriteChild(c ChildRecord) error {
	return j.write(filepath.Join("children", fileName(fmt.Sprintf("%s-%d-%d", c.RunID, c.PID, c.StartTime))), c)
}

// ClearChild removes a child record once the child is known to be gone.
func (j *Journal) ClearChild(c ChildRecord) error {
	return j.remove(filepath.Join("children", fileName(fmt.Sprintf("%s-%d-%d", c.RunID, c.PID, c.StartTime))))
}

// Resource is something a runtime created for a run outside the harness's
// own processes (the containers, network and volumes of a Docker run),
// recorded before it is created so that recovery can remove it if the
// harness dies. Undo says what to do; an UndoHandler of the runtime does it.
type Resource struct {
	ID      string    `json:"id"`
	RunID   string    `json:"runId"`
	Created time.Time `json:"created"`
	Undo    Undo      `json:"undo"`
}

// WriteResource records a resource of a run.
func (j *Journal) WriteResource(r Resource) error {
	return j.write(filepath.Join("resources", fileName(r.ID)), r)
}

// ClearResource removes a resource record once the resource is gone;
// clearing a missing one is not an error.
func (j *Journal) ClearResource(id string) error {
	return j.remove(filepath.Join("resources", fileName(id)))
}

// Resources lists the resource records left in the journal, oldest first.
func (j *Journal) Resources() ([]Resource, error) {
	var out []Resource
	err := readAll(filepath.Join(j.dir, "resources"), func() any { return &Resource{} }, func(v any) { out = append(out, *v.(*Resource)) })
	sort.Slice(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, err
}

// Intents lists the intents left in the journal, oldest first.
func (j *Journal) Intents() ([]Intent, error) {
	var out []Intent
	err := readAll(filepath.Join(j.dir, "intents"), func() any { return &Intent{} }, func(v any) { out = append(out, *v.(*Intent)) })
	sort.Slice(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, err
}

// Children lists the child records left in the journal.
func (j *Journal) Children() ([]ChildRecord, error) {
	var out []ChildRecord
	err := readAll(filepath.Join(j.dir, "children"), func() any { return &ChildRecord{} }, func(v any) { out = append(out, *v.(*ChildRecord)) })
	return out, err
}

func fileName(id string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", ":", "_", " ", "_")
	return r.Replace(id) + ".json"
}

func (j *Journal) write(rel string, v any) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	path := filepath.Join(j.dir, rel)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("journal: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("journal: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func (j *Journal) remove(rel string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	path := filepath.Join(j.dir, rel)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", dir, err)
	}
	return nil
}

func readAll(dir string, alloc func() any, add func(any)) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("journal: %w", err))
			continue
		}
		v := alloc()
		if err := json.Unmarshal(b, v); err != nil {
			errs = append(errs, fmt.Errorf("journal: %s: %w", e.Name(), err))
			continue
		}
		add(v)
	}
	return errors.Join(errs...)
}

// RunRecord says which harness process owns a run, so that recovery leaves
// the records of a run that is still going alone.
type RunRecord struct {
	RunID     string    `json:"runId"`
	PID       int       `json:"pid"`
	StartTime uint64    `json:"startTime"`
	Started   time.Time `json:"started"`
}

// BeginRun records the calling process as the harness of runID.
func (j *Journal) BeginRun(runID string) (RunRecord, error) {
	pid := os.Getpid()
	st, err := ProcStartTime(pid)
	if err != nil {
		return RunRecord{}, fmt.Errorf("journal: %w", err)
	}
	r := RunRecord{RunID: runID, PID: pid, StartTime: st, Started: time.Now().UTC()}
	return r, j.write(filepath.Join("runs", fileName(runID)), r)
}

// EndRun removes the run record (after its children and intents are gone).
func (j *Journal) EndRun(runID string) error {
	return j.remove(filepath.Join("runs", fileName(runID)))
}

// Runs lists the run records left in the journal.
func (j *Journal) Runs() ([]RunRecord, error) {
	var out []RunRecord
	err := readAll(filepath.Join(j.dir, "runs"), func() any { return &RunRecord{} }, func(v any) { out = append(out, *v.(*RunRecord)) })
	return out, err
}

// Alive says whether the run's harness process is still running.
func (r RunRecord) Alive() bool {
	st, err := ProcStartTime(r.PID)
	return err == nil && st == r.StartTime
}
