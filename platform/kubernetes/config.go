// Package kubernetes runs the shop on a Kubernetes cluster through
// k8s.io/client-go: one namespace per run, one single-replica StatefulSet
// and one ClusterIP Service per instance (a stable identity and address
// each), a fault-proxy sidecar (`sut proxy`) in every caller's pod through
// which each of its call edges passes, and port-forwards (client-go, SPDY)
// as the harness's only way into the cluster: the harness never sends
// traffic to a cluster or pod IP. Everything the runtime creates carries the
// run's labels; no action touches an object without them.
package kubernetes

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// Name is the runtime's name in spec.runtime and --runtime.
const Name = "kubernetes"

// DefaultImage is the shop's image (deploy/docker/build-images.sh sut); its
// entrypoint is the shop's binary, /sut, which also runs the sidecar proxy.
const DefaultImage = "gameday/sut:dev"

// Labels. Every object of a run carries LabelManagedBy=ManagedBy and
// LabelRun=<the run's label value>: together they prove ownership, and
// nothing is acted on without both.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "gameday"
	LabelRun       = "gameday.io/run"
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "gameday.io/instance"
	// AnnotationRunID holds the run's id as the harness knows it (a label
	// value must be DNS-safe; the run id need not be).
	AnnotationRunID = "gameday.io/run-id"
)

// Ports and paths inside a pod.
const (
	shopPort       = 8080
	adminPort      = 9901  // the sidecar's admin API
	edgePortBase   = 15001 // caller → callee instance k listens on 127.0.0.1:edgePortBase+k in the caller's pod
	policyDir      = "/etc/gameday"
	policyFile     = "policy.yaml"
	dataPath       = "/data"
	shopContainer  = "shop"
	proxyContainer = "proxy"
	secretKey      = "GAMEDAY_ADMIN_TOKEN"
	hostPathRoot   = "/var/lib/gameday"
)

// DefaultReadyTimeout bounds the wait until every pod is ready (image pull,
// scheduling, volume provisioning) when the spec sets none.
const DefaultReadyTimeout = 2 * time.Minute

// Service is one service to deploy (the platform contract's).
type Service = platform.Service

// Config describes a Kubernetes deployment of the shop: the platform spec
// (of which the runtime reads Settings.Image, Env, Kubeconfig and
// KubeContext) and the cluster-side choices.
type Config struct {
	platform.Spec
	// Client and RESTConfig talk to the cluster; nil: built from the
	// kubeconfig (Settings.Kubeconfig, KubeContext; kubectl's rules).
	// RESTConfig is needed for port-forwards.
	Client     kubernetes.Interface
	RESTConfig *rest.Config
	// StorageClass of the stateful services' volume claims; empty: the
	// cluster's default class; if the cluster has none, a hostPath volume
	// (single-node clusters only).
	StorageClass string
	// AccessMode of those claims; empty: ReadWriteMany (every instance of
	// a service mounts its claim, possibly from several nodes). A
	// single-node cluster whose provisioner only offers ReadWriteOnce (kind's
	// local-path) can use "ReadWriteOnce".
	AccessMode string
	// NoHostPath refuses the hostPath fallback.
	NoHostPath bool
}

func (c *Config) defaults() error {
	if c.Image == "" {
		c.Image = DefaultImage
	}
	return fleet.Defaults(&c.Spec, Name, DefaultReadyTimeout)
}

// RunLabel is the value of LabelRun (and the namespace's suffix) for a run
// id: lowercase, DNS-safe, at most 55 characters; a long id is cut and
// suffixed with a hash of the whole, so two ids never share a label.
func RunLabel(runID string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(runID) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	const maxLen = 63 - len("gameday-")
	if len(s) > maxLen || s == "" {
		h := fnv.New32a()
		h.Write([]byte(runID))
		s = strings.TrimRight(s[:min(len(s), maxLen-9)], "-") + fmt.Sprintf("-%08x", h.Sum32())
		s = strings.TrimLeft(s, "-")
	}
	return s
}

// Namespace is the namespace of a run.
func Namespace(runID string) string { return "gameday-" + RunLabel(runID) }

// ClusterRef is how a journal record names the cluster: the kubeconfig path
// and context as given (empty: kubectl's defaults at recovery time).
type ClusterRef struct {
	Kubeconfig string
	Context    string
}

// Connect loads the kubeconfig with kubectl's rules (an explicit path, else
// $KUBECONFIG, else ~/.kube/config; the context given or the current one)
// and returns a clientset and its REST config.
func Connect(ref ClusterRef) (kubernetes.Interface, *rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = ref.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: ref.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "gameday"
	// The harness makes bursts of calls (creating a run's objects, a
	// readiness wait, a kill), far below any server's limits.
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, cfg, nil
}
