// Package fleet holds what the shop's runtimes (platform/local,
// platform/docker) do the same way, whatever an instance is (a child
// process, a container): the call graph (checking it, starting callees
// first), the settings every deployment has and their defaults, random run
// ids and seeds, restart backoff and the bookkeeping of an instance's
// restarts, the readiness wait, HTTP faults through the shop's admin API and
// the Prometheus targets. It is internal to platform/: only the runtimes use
// it.
package fleet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/metrics"
)

// Common is the part of a runtime's Config that every runtime has: the call
// graph's gateway, where the run's files go, the run's identity, restarts
// and timeouts.
type Common struct {
	Gateway      string
	RunDir       string
	RunID        string
	AdminToken   string
	Restart      RestartConfig
	ReadyTimeout time.Duration
	StopGrace    time.Duration
}

// Defaults checks the call graph (see Check) and the run directory, and
// fills in what is unset: the gateway "gateway", the run id
// "<runIDPrefix>-<12 hex digits>", a random admin token, the restart
// defaults (see RestartConfig), readyTimeout and a stop grace of 5s.
func (c *Common) Defaults(services []Service, edges []faults.Edge, runIDPrefix string, readyTimeout time.Duration) error {
	if len(services) == 0 {
		return errors.New("no services to deploy")
	}
	if c.RunDir == "" {
		return errors.New("no run directory")
	}
	if c.Gateway == "" {
		c.Gateway = "gateway"
	}
	if err := Check(services, edges, c.Gateway); err != nil {
		return err
	}
	if c.RunID == "" {
		c.RunID = runIDPrefix + "-" + RandomHex(6)
	}
	if c.AdminToken == "" {
		c.AdminToken = RandomHex(16)
	}
	c.Restart = restartDefaults(c.Restart)
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = readyTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 5 * time.Second
	}
	return nil
}

// RandomHex returns n random bytes as 2n hex digits.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Seed derives the seed of one named thing (a proxy) from the run's seed, so
// that each gets its own stream and a run is repeatable.
func Seed(seed int64, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return seed ^ int64(h.Sum64())
}

// MetricsTarget is the scrape target of an instance whose /metrics is at
// addr (host:port): job the service, instance the instance id, and the
// label runtime. The shop's own series already carry service, so only what
// they lack is added.
func MetricsTarget(service, id, addr, runtime string) metrics.Target {
	return metrics.Target{Job: service, Instance: id, URL: "http://" + addr + "/metrics",
		Labels: map[string]string{"runtime": runtime}}
}
