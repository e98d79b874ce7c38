// Package platform is the contract between the harness and the runtimes
// that run the system under test (platform/local, platform/docker, …): what
// a runtime is given to deploy (Spec), what a deployment offers (Deployment)
// and the registry that runtimes join from their own package, as fault
// types join the faults catalog. Nothing here knows a concrete runtime; the
// list of runtimes built into gameday is the import list in
// platform/runtimes.
//
// What a runtime can do to its instances (kill, pause, shape call edges,
// HTTP faults) is not declared here: it is the set of faults capability
// interfaces (faults.ProcessRuntime, faults.LinkRuntime, …) that its
// deployments implement, so the fault types a runtime supports are derived,
// never listed by hand (see Supports).
package platform

import (
	"context"
	"log/slog"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/metrics"
)

// RunIDEnv is the environment variable that marks every instance a runtime
// starts with the id of its run, so that what a run started is found by
// identity (never by name), also by `gameday recover`.
const RunIDEnv = "GAMEDAY_RUN_ID"

// Service is one service to deploy: how many instances it gets and whether
// it keeps durable state (then its instances share storage that outlives
// any one of them, as replicas behind one database would).
type Service struct {
	Name     string
	Replicas int
	Stateful bool
}

// RestartConfig is what happens to an instance that exits on its own (or
// is ended by a fault whose restart policy is "delay"): restarted after
// Delay, doubling for each restart in a row up to MaxDelay (like a kubelet's
// CrashLoopBackOff, shorter), the count reset once an instance ran for
// ResetAfter. Never leaves an instance that exits on its own down.
type RestartConfig struct {
	Never      bool
	Delay      time.Duration // default 1s
	MaxDelay   time.Duration // default 30s (at least Delay)
	ResetAfter time.Duration // default 10s
}

// Settings are the user's choices of how a runtime runs the shop, from the
// command line; a runtime uses those that apply to it.
type Settings struct {
	// Command is the argv prefix that runs the shop on this machine (the
	// gameday binary followed by "sut"); empty: the runtime's default.
	Command []string
	// Image runs every instance on runtimes that run images (see
	// ImageRuntime); empty: the runtime's default.
	Image string
	// Env is added to every instance's environment where it does not
	// inherit the harness's own (containers), KEY=VALUE.
	Env []string
	// Kubeconfig and KubeContext choose the cluster on runtimes that run
	// on one (as kubectl: empty Kubeconfig is $KUBECONFIG, then
	// ~/.kube/config; empty KubeContext is the file's current context).
	Kubeconfig  string
	KubeContext string
}

// Spec is everything a runtime needs to deploy the system under test for
// one run.
type Spec struct {
	// Services to deploy; Edges are the call edges between them (caller →
	// callee); Gateway names the service that receives the load.
	Services []Service
	Edges    []faults.Edge
	Gateway  string
	// Policy is the effective policy file (variant + overrides); Variant
	// names it.
	Policy  string
	Variant string
	// RunDir receives the run's logs and data. Required.
	RunDir string
	// RunID marks everything of the run; empty: the runtime makes one.
	RunID string
	// Journal, when set, records what the runtime creates, so that
	// `gameday recover` can undo it after a crash.
	Journal *journal.Journal
	// Seed seeds the runtime's random choices (its proxies).
	Seed    int64
	Restart RestartConfig
	// AdminToken guards the instances' /admin fault API; empty: random.
	AdminToken string
	// ReadyTimeout bounds the wait for one instance's /readyz; zero: the
	// runtime's default.
	ReadyTimeout time.Duration
	// StopGrace is how long an instance may drain after SIGTERM (teardown,
	// a graceful stop) before SIGKILL; zero: 5s.
	StopGrace time.Duration
	// Logger, when set, receives the runtime's own notes (an image id, a
	// network).
	Logger *slog.Logger
	Settings
}

// Instances is the number of instances the spec deploys.
func (s Spec) Instances() int {
	n := 0
	for _, sv := range s.Services {
		n += max(1, sv.Replicas)
	}
	return n
}

// Deployment is a running system under test. It is also the faults.Runtime
// that fault types act on: they find the capability interfaces they need
// on its dynamic type.
type Deployment interface {
	faults.Runtime
	// RunID is the run's id as the runtime marks its objects with it.
	RunID() string
	// AdminToken guards the instances' /admin fault API.
	AdminToken() string
	// GatewayURL is where the load goes (the first of GatewayURLs).
	GatewayURL() string
	GatewayURLs() []string
	// Targets are the Prometheus scrape targets of every instance.
	Targets() []metrics.Target
	// Close stops everything the deployment started and removes what it
	// created; ctx bounds the graceful part.
	Close(ctx context.Context) error
}

// Runtime deploys the system under test somewhere (child processes,
// containers, a cluster).
type Runtime interface {
	// Name is what spec.runtime and --runtime call it.
	Name() string
	// Summary says in one line where the instances run, for --help and
	// the docs.
	Summary() string
	// Deploy starts every instance and returns once all are ready.
	Deploy(ctx context.Context, s Spec) (Deployment, error)
	// Capabilities returns a value of the dynamic type of its deployments
	// (a nil pointer will do): Supports asserts the faults capability
	// interfaces on it before anything is deployed.
	Capabilities() faults.Runtime
}

// ImageRuntime is a runtime that runs an image (Settings.Image).
type ImageRuntime interface {
	Runtime
	DefaultImage() string
}

// ClusterRuntime is a runtime that runs the system under test on a
// cluster chosen by a kubeconfig (Settings.Kubeconfig and KubeContext),
// so the command line offers --kubeconfig and --context for it.
type ClusterRuntime interface {
	Runtime
	// UsesKubeconfig marks the runtime; it does nothing.
	UsesKubeconfig()
}

// Recoverer is a runtime whose journal records (intents and resources of
// its own kinds) need a handler of its own to be undone by `gameday
// recover`. The handler may need the runtime's engine: an error says it is
// not reachable, and those records are then kept for a later recover.
type Recoverer interface {
	Runtime
	// Recovery returns the runtime's undo handler and a function that
	// releases what it holds.
	Recovery(ctx context.Context) (journal.Handler, func(), error)
}
