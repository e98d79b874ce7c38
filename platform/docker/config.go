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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/client"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
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

// Service is one service to deploy, how many instances it gets and whether
// it keeps durable state (then its replicas share a named volume at /data,
// as replicas behind one database would).
type Service struct {
	Name     string
	Replicas int
	Stateful bool
}

// RestartConfig is what happens to an instance whose container exits on its
// own (or is killed by a kill fault with restart "delay"): restarted after
// Delay, doubling for each restart in a row up to MaxDelay, the count reset
// once it ran for ResetAfter (a kubelet's CrashLoopBackOff, shorter).
type RestartConfig struct {
	Never      bool
	Delay      time.Duration // default 1s
	MaxDelay   time.Duration // default 30s
	ResetAfter time.Duration // default 10s
}

// Config describes a Docker deployment of the shop.
type Config struct {
	// Client talks to the Docker engine; nil: one from the environment
	// (DOCKER_HOST…) with API version negotiation, closed by Close.
	Client *client.Client
	// Image runs every instance (default DefaultImage); its entrypoint is
	// the shop's binary (`sut`).
	Image string
	// Services to deploy; Edges are the call edges between them. Gateway
	// names the service that receives the load generator's traffic.
	Services []Service
	Edges    []faults.Edge
	Gateway  string
	// Policy is a policy file on this machine, copied into each container
	// and passed with --policy; else Variant with --variant.
	Policy  string
	Variant string
	// RunDir receives logs/<instance>.log (the containers' output, saved
	// at Close). Required.
	RunDir string
	// Journal, when set, records the run and its Docker objects so that
	// `gameday recover` can remove them after a crash.
	Journal *faults.Journal
	// RunID labels everything of the run; default: random.
	RunID string
	// AdminToken guards the instances' /admin API; default: random.
	AdminToken string
	Restart    RestartConfig
	// ReadyTimeout bounds the wait for one instance's /readyz (default 30s).
	ReadyTimeout time.Duration
	// StopGrace is how long Close (and a stop) waits after SIGTERM before
	// SIGKILL (default 5s).
	StopGrace time.Duration
	// Seed seeds the proxies' random choices.
	Seed int64
	// ProxyMetrics, when set, receives the metrics of every edge proxy.
	ProxyMetrics *proxy.Metrics
}

func (c *Config) defaults() error {
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if len(c.Services) == 0 {
		return errors.New("no services to deploy")
	}
	if c.RunDir == "" {
		return errors.New("no run directory")
	}
	if c.Gateway == "" {
		c.Gateway = "gateway"
	}
	known := map[string]bool{}
	for _, s := range c.Services {
		if s.Replicas < 1 {
			return fmt.Errorf("service %s: %d replicas", s.Name, s.Replicas)
		}
		known[s.Name] = true
	}
	if !known[c.Gateway] {
		return fmt.Errorf("gateway %q is not among the services", c.Gateway)
	}
	for _, e := range c.Edges {
		if !known[e.From] || !known[e.To] {
			return fmt.Errorf("edge %s→%s names a service that is not deployed", e.From, e.To)
		}
	}
	if c.RunID == "" {
		c.RunID = "docker-" + randomHex(6)
	}
	if c.AdminToken == "" {
		c.AdminToken = randomHex(16)
	}
	if c.Restart.Delay <= 0 {
		c.Restart.Delay = time.Second
	}
	if c.Restart.MaxDelay < c.Restart.Delay {
		c.Restart.MaxDelay = max(30*time.Second, c.Restart.Delay)
	}
	if c.Restart.ResetAfter <= 0 {
		c.Restart.ResetAfter = 10 * time.Second
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 30 * time.Second
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 5 * time.Second
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// order returns the services callees first, so that every callee is up
// before its callers start.
func order(services []Service, edges []faults.Edge) ([]Service, error) {
	byName := map[string]Service{}
	for _, s := range services {
		byName[s.Name] = s
	}
	state := map[string]int{} // 1 visiting, 2 done
	var out []Service
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("call cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, e := range edges {
			if e.From == n {
				if err := visit(e.To); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, byName[n])
		return nil
	}
	for _, s := range services {
		if err := visit(s.Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}
