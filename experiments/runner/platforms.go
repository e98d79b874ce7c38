package runner

import (
	"context"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform/docker"
	"github.com/gameday/gameday/platform/local"
	"github.com/gameday/gameday/sut"
)

// Local deploys the shop as child processes on 127.0.0.1 (platform/local).
type Local struct {
	// Command is the argv prefix that runs the shop (for example the
	// gameday binary and "sut"); empty: platform/local's default.
	Command []string
}

var _ Platform = Local{}

// Deploy starts every instance of the variant and waits until all are ready.
func (l Local) Deploy(ctx context.Context, d DeploySpec) (Deployment, error) {
	var services []local.Service
	for _, s := range sut.Services() {
		services = append(services, local.Service{Name: s, Replicas: d.Variant.Replicas(s)})
	}
	dep, err := local.Start(ctx, local.Config{
		Command: l.Command, Services: services, Edges: shopEdges(), Gateway: "gateway",
		Policy: d.PolicyFile, Variant: d.Variant.Name, RunDir: d.RunDir,
		Journal: d.Journal, RunID: d.RunID, Seed: d.Seed,
	})
	if err != nil {
		return nil, err
	}
	return localDeployment{dep}, nil
}

// shopEdges lists the shop's call edges as the platforms take them.
func shopEdges() []faults.Edge {
	var edges []faults.Edge
	for _, e := range sut.Edges() {
		edges = append(edges, faults.Edge{From: e.From, To: e.To})
	}
	return edges
}

// platformTarget is a platform's scrape target: any struct with the fields
// of metrics.Target (local.Target, docker.Target).
type platformTarget interface {
	~struct {
		Job, Instance, URL string
		Labels             map[string]string
	}
}

// metricsTargets converts a platform's scrape targets to the metrics
// package's type.
func metricsTargets[T platformTarget](ts []T) []metrics.Target {
	var out []metrics.Target
	for _, t := range ts {
		out = append(out, metrics.Target(t))
	}
	return out
}

// localDeployment adapts the local deployment's targets to the metrics
// package's type.
type localDeployment struct{ *local.Deployment }

func (d localDeployment) Targets() []metrics.Target { return metricsTargets(d.Deployment.Targets()) }

// Docker deploys the shop as Docker containers (platform/docker): one per
// instance, from the image gameday/sut:dev, on a network of the run's own,
// every call edge through a fault proxy in the caller's network namespace.
type Docker struct {
	// Image runs every instance; empty: platform/docker's default.
	Image string
	// Env is added to every container's environment (KEY=VALUE).
	Env []string
}

var _ Platform = Docker{}

// Deploy creates the run's network, volumes and containers and waits until
// every instance is ready.
func (p Docker) Deploy(ctx context.Context, d DeploySpec) (Deployment, error) {
	var services []docker.Service
	for _, s := range sut.Services() {
		services = append(services, docker.Service{Name: s, Replicas: d.Variant.Replicas(s), Stateful: sut.Stateful(s)})
	}
	dep, err := docker.Start(ctx, docker.Config{
		Image: p.Image, Env: p.Env, Services: services, Edges: shopEdges(), Gateway: "gateway",
		Policy: d.PolicyFile, Variant: d.Variant.Name, RunDir: d.RunDir,
		Journal: d.Journal, RunID: d.RunID, Seed: d.Seed,
	})
	if err != nil {
		return nil, err
	}
	if d.Logger != nil {
		d.Logger.Info("docker deployment", "image", dep.ImageID(), "network", dep.Network(), "subnet", dep.Subnet())
	}
	return dockerDeployment{dep}, nil
}

// dockerDeployment adapts the Docker deployment's targets to the metrics
// package's type.
type dockerDeployment struct{ *docker.Deployment }

func (d dockerDeployment) Targets() []metrics.Target { return metricsTargets(d.Deployment.Targets()) }
