// Package local runs the shop as child processes on 127.0.0.1, every call
// edge and the gateway's inbound traffic wired through the harness's own
// fault proxy (faults/proxy), so that each edge can be faulted on its own.
// It needs no root, no Docker and no cluster.
package local

import (
	"fmt"
	"os"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// Service is one service to deploy (the platform contract's).
type Service = platform.Service

// RestartConfig is what happens to an instance that exits on its own (or
// is killed by a kill fault with restart "delay"); see
// platform.RestartConfig.
type RestartConfig = platform.RestartConfig

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
	// Env is added to each child's environment (KEY=VALUE). Each child also
	// gets GOMAXPROCS=1 unless this or the harness's environment sets
	// GOMAXPROCS (see childMaxProcs and docs/runtimes.md).
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
	cm := fleet.Common{Gateway: c.Gateway, RunDir: c.RunDir, RunID: c.RunID, AdminToken: c.AdminToken,
		Restart: c.Restart, ReadyTimeout: c.ReadyTimeout, StopGrace: c.StopGrace}
	err := cm.Defaults(c.Services, c.Edges, Name, 20*time.Second)
	c.Gateway, c.RunID, c.AdminToken, c.Restart, c.ReadyTimeout, c.StopGrace = cm.Gateway, cm.RunID, cm.AdminToken, cm.Restart, cm.ReadyTimeout, cm.StopGrace
	return err
}
