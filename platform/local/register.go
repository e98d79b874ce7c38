package local

import (
	"context"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
)

// Name is the runtime's name in spec.runtime and --runtime.
const Name = "local"

func init() { platform.Register(Runtime{}) }

// Runtime is the local runtime as the platform registry has it.
type Runtime struct{}

var (
	_ platform.Runtime    = Runtime{}
	_ platform.Recoverer  = Runtime{}
	_ platform.Deployment = (*Deployment)(nil)
	_ faults.Pauser       = (*Deployment)(nil)
	_ faults.LinkRuntime  = (*Deployment)(nil)
	_ faults.HTTPRuntime  = (*Deployment)(nil)
)

// Name is "local".
func (Runtime) Name() string { return Name }

// Summary says where the instances run.
func (Runtime) Summary() string {
	return "child processes on 127.0.0.1, every call edge through gameday's fault proxy"
}

// Capabilities is a nil *Deployment: its methods say what faults it takes.
func (Runtime) Capabilities() faults.Runtime { return (*Deployment)(nil) }

// Deploy starts every instance of s and waits until all are ready.
func (Runtime) Deploy(ctx context.Context, s platform.Spec) (platform.Deployment, error) {
	d, err := Start(ctx, Config{Spec: s})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Recovery implements platform.Recoverer: the local runtime's records (its
// children, the processes its pauses stopped) need only this machine.
func (Runtime) Recovery(context.Context) (journal.Handler, func(), error) {
	return Recoverer{}, func() {}, nil
}
