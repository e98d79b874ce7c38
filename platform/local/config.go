// Package local runs the shop as child processes on 127.0.0.1, every call
// edge and the gateway's inbound traffic wired through the harness's own
// fault proxy (faults/proxy), so that each edge can be faulted on its own.
// It needs no root, no Docker and no cluster.
package local

import (
	"fmt"
	"os"
	"time"

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

// Config describes a local deployment: the platform spec, of which the
// local runtime reads Command (the argv prefix that runs the shop; each
// instance gets `serve --service … --listen 127.0.0.1:0 --instance …
// [--policy FILE | --variant NAME] --upstream … --data DIR` appended;
// default: this binary followed by "sut") and Env (added to each child's
// environment, KEY=VALUE; each child also gets GOMAXPROCS=1 unless this or
// the harness's environment sets GOMAXPROCS, see childMaxProcs and
// docs/runtimes.md). The run directory receives logs/<instance>.log and
// data/<service>/; the journal records the run and every child (pid, start
// time, run id) so that `gameday recover` can end them after a crash; the
// run id marks every child (GAMEDAY_RUN_ID). ReadyTimeout defaults to 20s.
type Config struct {
	platform.Spec
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
	return fleet.Defaults(&c.Spec, Name, 20*time.Second)
}
