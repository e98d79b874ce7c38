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

	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform"
)

// Defaults checks the spec's call graph (see Check) and run directory, and
// fills in what is unset: the gateway "gateway", the run id
// "<runIDPrefix>-<12 hex digits>", a random admin token, the restart
// defaults (see RestartConfig), readyTimeout and a stop grace of 5s.
func Defaults(s *platform.Spec, runIDPrefix string, readyTimeout time.Duration) error {
	if len(s.Services) == 0 {
		return errors.New("no services to deploy")
	}
	if s.RunDir == "" {
		return errors.New("no run directory")
	}
	if s.Gateway == "" {
		s.Gateway = "gateway"
	}
	if err := Check(s.Services, s.Edges, s.Gateway); err != nil {
		return err
	}
	if s.RunID == "" {
		s.RunID = runIDPrefix + "-" + RandomHex(6)
	}
	if s.AdminToken == "" {
		s.AdminToken = RandomHex(16)
	}
	s.Restart = restartDefaults(s.Restart)
	if s.ReadyTimeout <= 0 {
		s.ReadyTimeout = readyTimeout
	}
	if s.StopGrace <= 0 {
		s.StopGrace = 5 * time.Second
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
