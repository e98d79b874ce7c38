package docker

import (
	"context"
	"fmt"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
)

// Name is the runtime's name in spec.runtime and --runtime.
const Name = "docker"

func init() { platform.Register(Runtime{}) }

// Runtime is the Docker runtime as the platform registry has it.
type Runtime struct{}

var (
	_ platform.ImageRuntime = Runtime{}
	_ platform.Recoverer    = Runtime{}
	_ platform.Deployment   = (*Deployment)(nil)
	_ faults.Stopper        = (*Deployment)(nil)
	_ faults.LinkRuntime    = (*Deployment)(nil)
	_ faults.HTTPRuntime    = (*Deployment)(nil)
)

// Name is "docker".
func (Runtime) Name() string { return Name }

// Summary says where the instances run.
func (Runtime) Summary() string {
	return "Docker containers of the image " + DefaultImage + " on a network of the run's own, published on 127.0.0.1"
}

// DefaultImage is the image every instance runs unless Settings.Image says otherwise.
func (Runtime) DefaultImage() string { return DefaultImage }

// Capabilities is a nil *Deployment: its methods say what faults it takes.
func (Runtime) Capabilities() faults.Runtime { return (*Deployment)(nil) }

// Deploy creates the run's network, volumes and containers and waits until
// every instance is ready.
func (Runtime) Deploy(ctx context.Context, s platform.Spec) (platform.Deployment, error) {
	d, err := Start(ctx, Config{Spec: s})
	if err != nil {
		return nil, err
	}
	if s.Logger != nil {
		s.Logger.Info("docker deployment", "image", d.ImageID(), "network", d.Network(), "subnet", d.Subnet())
	}
	return d, nil
}

// Recovery connects to the Docker engine: its handler unpauses containers,
// removes packet filters and a crashed run's containers, network and
// volumes (each only if it carries the run's label).
func (Runtime) Recovery(ctx context.Context) (journal.Handler, func(), error) {
	cli, err := NewClient(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("docker engine: %w", err)
	}
	return &Recoverer{Client: cli}, func() { cli.Close() }, nil
}
