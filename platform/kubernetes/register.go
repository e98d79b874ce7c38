package kubernetes

import (
	"context"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
)

func init() { platform.Register(Runtime{}) }

// Runtime is the Kubernetes runtime as the platform registry has it. Its
// fields are the cluster-side choices of Config (the zero value is the
// registered one: the cluster's default storage class, ReadWriteMany).
type Runtime struct {
	StorageClass string
	AccessMode   string
}

var (
	_ platform.ImageRuntime   = Runtime{}
	_ platform.Recoverer      = Runtime{}
	_ platform.ClusterRuntime = Runtime{}
	_ platform.Deployment     = (*Deployment)(nil)
)

// Name is "kubernetes".
func (Runtime) Name() string { return Name }

// Summary says where the instances run.
func (Runtime) Summary() string {
	return "pods of the image " + DefaultImage + " on a Kubernetes cluster (kubeconfig), one namespace per run, reached through port-forwards"
}

// DefaultImage is the image every instance runs unless Settings.Image says otherwise.
func (Runtime) DefaultImage() string { return DefaultImage }

// UsesKubeconfig implements platform.ClusterRuntime: the cluster is the
// one Settings.Kubeconfig and KubeContext choose, as kubectl's.
func (Runtime) UsesKubeconfig() {}

// Capabilities is a nil *Deployment: its methods say what faults it takes.
func (Runtime) Capabilities() faults.Runtime { return (*Deployment)(nil) }

// Deploy creates the run's namespace and objects and waits until every pod
// is ready.
func (r Runtime) Deploy(ctx context.Context, s platform.Spec) (platform.Deployment, error) {
	d, err := Start(ctx, Config{Spec: s, StorageClass: r.StorageClass, AccessMode: r.AccessMode})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Recovery returns the handler of the runtime's journal kinds. It connects
// to each record's cluster (its kubeconfig and context) when it needs it:
// an unreachable cluster fails that record's undo, which is then kept.
func (Runtime) Recovery(context.Context) (journal.Handler, func(), error) {
	return &Recoverer{}, func() {}, nil
}
