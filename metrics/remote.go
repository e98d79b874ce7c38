package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Remote is a Querier over a user's Prometheus HTTP API.
type Remote struct {
	url string
	api v1.API
}

// NewRemote returns a Querier for the Prometheus at url (for example
// http://127.0.0.1:9090). It does not contact the server.
func NewRemote(url string) (*Remote, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", url, err)
	}
	return &Remote{url: url, api: v1.NewAPI(c)}, nil
}

// Instant runs an instant query at t.
func (r *Remote) Instant(ctx context.Context, q string, t time.Time) (model.Value, error) {
	// Prometheus rounds the time it is sent to milliseconds, the embedded
	// engine truncates: truncate here so both answer for the same instant.
	v, _, err := r.api.Query(ctx, q, t.Truncate(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("query %q on %s: %w", q, r.url, err)
	}
	return v, nil
}

// Range runs a range query over [start, end] every step.
func (r *Remote) Range(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	if step <= 0 {
		return nil, fmt.Errorf("range query %q: step must be positive, got %s", q, step)
	}
	v, _, err := r.api.QueryRange(ctx, q, v1.Range{Start: start.Truncate(time.Millisecond), End: end.Truncate(time.Millisecond), Step: step})
	if err != nil {
		return nil, fmt.Errorf("range query %q on %s: %w", q, r.url, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("range query %q on %s: got a %s, want a matrix", q, r.url, v.Type())
	}
	return m, nil
}

// fileSDGroup is one entry of a Prometheus file_sd file.
type fileSDGroup struct {
	Targets []string       `json:"targets"`
	Labels  model.LabelSet `json:"labels"`
}

// WriteFileSD writes targets as a Prometheus file_sd JSON file (targets with
// the same labels share a group) so that a user's Prometheus with a
// file_sd_configs entry on path scrapes them. The write is atomic (a
// temporary file in the same directory, then a rename), so Prometheus never
// reads half a file. Call it again when instances move.
func WriteFileSD(path string, targets []Target) error {
	byKey := map[string]*fileSDGroup{}
	for _, t := range targets {
		addr, ls, err := targetLabels(t)
		if err != nil {
			return fmt.Errorf("write file_sd %s: %w", path, err)
		}
		key := ls.String()
		g := byKey[key]
		if g == nil {
			g = &fileSDGroup{Labels: ls}
			byKey[key] = g
		}
		g.Targets = append(g.Targets, addr)
	}
	groups := make([]*fileSDGroup, 0, len(byKey))
	for _, g := range byKey {
		sort.Strings(g.Targets)
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Labels.String() < groups[j].Labels.String() })
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return fmt.Errorf("write file_sd %s: %w", path, err)
	}
	if err := writeAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write file_sd %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// Prometheus' file_sd only watches *.json, *.yml and *.yaml: the
	// temporary name must not match them.
	f, err := os.CreateTemp(dir, "."+strings.TrimSuffix(base, filepath.Ext(base))+"-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
