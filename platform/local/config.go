// Package local runs the shop as child processes on 127.0.0.1, every call
// edge and the gateway's inbound traffic wired through the harness's own
// fault proxy (faults/proxy), so that each edge can be faulted on its own.
// It needs no root, no Docker and no cluster.
package local

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
)

// Service is one service to deploy and how many instances it gets.
type Service struct {
	Name     string
	Replicas int
}

// RestartConfig is what happens to an instance that exits on its own (or
// is killed by a kill fault with restart "delay"): restarted after Delay,
// doubling for each restart in a row up to MaxDelay (like a kubelet's
// CrashLoopBackOff), the count reset once an instance ran for ResetAfter.
type RestartConfig struct {
	Never      bool
	Delay      time.Duration // default 1s
	MaxDelay   time.Duration // default 30s
	ResetAfter time.Duration // default 10s
}

// Config describes a local deployment.
type Config struct {
	// Command is the argv prefix that runs the shop; each instance gets
	// `serve --service … --listen 127.0.0.1:0 --instance … [--policy FILE |
	// --variant NAME] --upstream … --data DIR` appended. Default: this
	// binary followed by "sut".
	Command []string
	// Services to deploy; Edges are the call edges between them (caller →
	// callee). Gateway names the service that receives the load generator's
	// traffic (default "gateway").
	Services []Service
	Edges    []faults.Edge
	Gateway  string
	// Policy is a policy file passed with --policy; else Variant with --variant.
	Policy  string
	Variant string
	// RunDir receives logs/<instance>.log and data/<instance>/. Required.
	RunDir string
	// Journal, when set, records the run and every child (pid, start time,
	// run id) so that `gameday recover` can end them after a crash.
	Journal *faults.Journal
	// RunID marks every child (GAMEDAY_RUN_ID); default: random.
	RunID string
	// AdminToken guards the children's /admin API; default: random.
	AdminToken string
	// Env is added to each child's environment (KEY=VALUE).
	Env     []string
	Restart RestartConfig
	// ReadyTimeout bounds the wait for one instance's /readyz (default 20s).
	ReadyTimeout time.Duration
	// StopGrace is how long Close waits after SIGTERM before SIGKILL (default 5s).
	StopGrace time.Duration
	// Seed seeds the proxies' random choices.
	Seed int64
	// ProxyMetrics, when set, receives the metrics of every edge proxy
	// (gameday_proxy_*), for the harness's own registry.
	ProxyMetrics *proxy.Metrics
}

func (c *Config) defaults() error {
	if len(c.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
		c.Command = []string{exe, "sut"}
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
		c.RunID = "local-" + randomHex(6)
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
		c.ReadyTimeout = 20 * time.Second
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

// order returns the services callees first, so that the proxies into a
// service exist before its callers start.
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
