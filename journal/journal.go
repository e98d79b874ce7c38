// Package journal is the crash journal: before a run changes anything
// outside the harness (a fault injected, a process started, a container
// created), it writes what undoing that change takes, so that `gameday
// recover` can undo it after the harness died.
//
// The journal does not know what it records. An undo record is a kind, an
// opaque reference and a line for people; the runtime or fault that wrote
// it registers a Handler for its kinds (platform/local for its processes,
// platform/docker for its containers, the runner for its run record), and
// Recover hands each record of a dead run to the handler of its kind. A
// record no handler takes is kept for a later recovery that has one.
//
// Each record is one file, written and fsynced before it is renamed into
// place, so that a crash at any moment leaves complete records or none.
package journal

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

// Kind names what undoing a record takes; the handler of the kind knows.
// Kinds are namespaced by their owner ("local.process", "docker.unpause").
type Kind string

// EndsWithHarness is the one kind the journal itself knows: the change
// lives in the harness process (a proxy toxic) or in something recovery
// ends anyway (an HTTP fault held in a child's memory); recovery only
// reports it.
const EndsWithHarness Kind = "ends-with-harness"

// Undo is one thing a run changed. Ref is opaque to the journal: what the
// kind's handler needs (a pid and its start time, a container id).
type Undo struct {
	Kind   Kind              `json:"kind"`
	Ref    map[string]string `json:"ref,omitempty"`
	Detail string            `json:"detail"`
}

// Intent is the record of a fault about to be injected: what undoing each
// of its changes takes.
type Intent struct {
	ID      string    `json:"id"`
	RunID   string    `json:"runId"`
	Fault   string    `json:"fault"`
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	Undo    []Undo    `json:"undo"`
}

// Resource is something a run created that outlives the harness unless
// removed (a child process, the containers of a run, the run record left
// "running"), recorded before it is created.
type Resource struct {
	ID      string    `json:"id"`
	RunID   string    `json:"runId"`
	Created time.Time `json:"created"`
	Undo    Undo      `json:"undo"`
}

// Journal keeps the records of runs as one file each under its directory.
type Journal struct {
	dir string

	mu sync.Mutex // one write or remove at a time

	runsMu sync.Mutex
	runs   map[string]*ownedRun // runs this process owns (see BeginRun)
}

// Open creates dir (0700) if needed and returns its journal.
func Open(dir string) (*Journal, error) {
	if dir == "" {
		return nil, errors.New("journal: no state directory")
	}
	for _, d := range []string{dir, filepath.Join(dir, "intents"), filepath.Join(dir, "runs"), filepath.Join(dir, "resources")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	return &Journal{dir: dir, runs: map[string]*ownedRun{}}, nil
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

// Intents lists the intents left in the journal, oldest first.
func (j *Journal) Intents() ([]Intent, error) {
	out, err := readAll[Intent](filepath.Join(j.dir, "intents"))
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, err
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
	out, err := readAll[Resource](filepath.Join(j.dir, "resources"))
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, err
}

func fileName(id string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", ":", "_", " ", "_")
	return r.Replace(id) + ".json"
}

func (j *Journal) write(rel string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	path := filepath.Join(j.dir, rel)
	tmp := path + ".tmp"
	j.mu.Lock()
	defer j.mu.Unlock()
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

// readAll decodes every record file in dir; a file that does not decode is
// reported and skipped, the others are still returned.
func readAll[T any](dir string) ([]T, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var out []T
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
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			errs = append(errs, fmt.Errorf("journal: %s: %w", filepath.Join(dir, e.Name()), err))
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}
