// Package faults is the fault catalog: one file per fault type, each
// registering itself with its parameters, plus the journal that makes every
// fault revertible after a crash.
package faults

import (
	"context"

	"github.com/gameday/gameday/journal"
)

// Target selects what a fault hits (see docs/architecture.md for the YAML).
type Target struct {
	Service   string     `json:"service,omitempty" yaml:"service,omitempty"`
	From      string     `json:"from,omitempty" yaml:"from,omitempty"`
	Instances string     `json:"instances,omitempty" yaml:"instances,omitempty"` // count, "N%" or "all"
	Index     *int       `json:"index,omitempty" yaml:"index,omitempty"`
	Pick      string     `json:"pick,omitempty" yaml:"pick,omitempty"` // first | random
	Groups    [][]string `json:"groups,omitempty" yaml:"groups,omitempty"`
}

// Spec is one fault as the experiment asks for it.
type Spec struct {
	Name   string
	Type   string
	Target Target
	Params map[string]string // validated against the type's Params
	Seed   int64             // for random picks and probabilistic faults
}

// Fault is an injected-or-injectable fault. Revert must be idempotent and
// safe to call when Inject failed half-way.
type Fault interface {
	Inject(ctx context.Context) error
	Revert(ctx context.Context) error
}

// Constructor builds a fault of one type against a runtime. The runtime is
// whatever the platform offers; each type asserts the capability it needs
// (see the interfaces in runtime.go) and fails with a clear error if absent.
type Constructor func(spec Spec, rt Runtime) (Fault, error)

// Runtime is the minimal thing every platform is; capabilities are separate
// interfaces that a platform may also implement.
type Runtime interface {
	Name() string
}

// Preparer is implemented by faults that resolve their targets before
// injection and say what they will change. The timeline calls Prepare, writes
// the returned undo records to the journal (fsynced), and only then calls
// Inject.
type Preparer interface {
	Prepare(ctx context.Context) ([]journal.Undo, error)
}
