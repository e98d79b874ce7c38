// Package docker runs the shop as Docker containers, one per instance, on a
// bridge network of its own, through the Docker Engine API (never the docker
// CLI). Every call edge passes through the harness's fault proxy as on the
// local runtime, but the proxy of an edge listens inside the caller
// container's network namespace (on 127.0.0.1) and dials the callee from
// there, so that per-edge faults behave exactly as on the local runtime
// without netem (which this kernel lacks) and a partition is a packet filter
// (iptables) in the caller's namespace. Everything the runtime creates
// carries the run's labels; no action touches a container without them.
package docker

import (
	"time"

	"github.com/docker/docker/client"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// DefaultImage is the shop's image, built offline by
// deploy/docker/build-images.sh.
const DefaultImage = "gameday/sut:dev"

// Labels on every container, network and volume of a run. LabelRun is the
// one that proves ownership: a fault acts on a container only if it carries
// the run's id.
const (
	LabelRun        = "io.gameday.run"
	LabelService    = "io.gameday.service"
	LabelInstance   = "io.gameday.instance"
	LabelHarnessPID = "io.gameday.harness-pid"
)

const (
	// containerPort is where every instance listens inside its container.
	containerPort = 8080
	// edgePortBase is the first port of the edge proxies inside a caller's
	// namespace: caller → callee instance k listens on 127.0.0.1:base+n.
	edgePortBase = 20000
	// policyPath is where the run's policy file is copied in each container.
	policyPath = "/gameday/policy.yaml"
	// dataPath is the mount point of a stateful service's volume.
	dataPath = "/data"
)

// Service is one service to deploy (the platform contract's).
type Service = platform.Service

// RestartConfig is what happens to an instance that exits on its own (or
// is killed by a kill fault with restart "delay"); see
// platform.RestartConfig.
type RestartConfig = platform.RestartConfig

// Config describes a Docker deployment of the shop: the platform spec, of
// which the Docker runtime reads Image (run by every instance, default
// DefaultImage; its entrypoint is the shop's binary, `sut`) and Env (added
// to each container's environment, KEY=VALUE, for example
// GAMEDAY_SHOP_HTTP=net/http: containers do not inherit the harness's
// environment); the policy file is copied into each container and passed
// with --policy. The run directory receives logs/<instance>.log (the
// containers' output, saved at Close); the journal records the run and its
// Docker objects so that `gameday recover` can remove them after a crash;
// the run id labels everything of the run. ReadyTimeout defaults to 30s.
type Config struct {
	platform.Spec
	// Client talks to the Docker engine; nil: one from the environment
	// (DOCKER_HOST…) with API version negotiation, closed by Close.
	Client *client.Client
	// ProxyMetrics, when set, receives the metrics of every edge proxy.
	ProxyMetrics *proxy.Metrics
}

func (c *Config) defaults() error {
	if c.Image == "" {
		c.Image = DefaultImage
	}
	return fleet.Defaults(&c.Spec, Name, 30*time.Second)
}
