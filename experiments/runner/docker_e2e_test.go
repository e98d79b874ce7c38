//go:build docker

package runner_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/internal/libtest"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/docker"
	_ "github.com/gameday/gameday/platform/runtimes"
	"github.com/gameday/gameday/reports"
)

// TestPaymentSlowdownGivesTheSameVerdictsOnDockerAsOnLocal runs the
// library's payment-slowdown scenario on the local runtime, then on the
// docker runtime, and compares the verdict of every check. Some checks sit
// close to their bound on a loaded 2-core machine (a p99 against twice the
// baseline): a pair of runs that disagrees is run once more, and the test
// fails only if the second pair disagrees too.
func TestPaymentSlowdownGivesTheSameVerdictsOnDockerAsOnLocal(t *testing.T) {
	dockertest.Images(t, "sut")
	ctx := context.Background()
	cli, err := docker.NewClient(ctx)
	if err != nil {
		t.Fatalf("the docker tests need the engine: %v", err)
	}
	defer cli.Close()
	sutBin, err := e2etest.Build(t.TempDir(), "github.com/gameday/gameday/cmd/sut")
	if err != nil {
		t.Fatal(err)
	}
	settings := platform.Settings{Command: []string{sutBin}}
	var diffs []string
	for attempt := 1; attempt <= 2; attempt++ {
		local := runSlowdown(t, cli, settings, "local")
		dock := runSlowdown(t, cli, settings, "docker")
		diffs = nil
		for name, pass := range local {
			if got, ok := dock[name]; !ok || got != pass {
				diffs = append(diffs, name+": local pass="+strconv.FormatBool(pass)+", docker pass="+strconv.FormatBool(got))
			}
		}
		if len(dock) != len(local) {
			diffs = append(diffs, "docker evaluated "+strconv.Itoa(len(dock))+" checks, local "+strconv.Itoa(len(local)))
		}
		if len(diffs) == 0 {
			t.Logf("attempt %d: the same verdict for all %d checks", attempt, len(local))
			return
		}
		t.Logf("attempt %d: verdicts differ: %v", attempt, diffs)
	}
	t.Errorf("docker and local verdicts differ twice in a row: %v", diffs)
}

// runSlowdown runs payment-slowdown on one runtime, checks that nothing of
// the run is left, and returns the verdict of each check by name.
func runSlowdown(t *testing.T, cli *client.Client, settings platform.Settings, rt string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	// CI runs payment-slowdown compressed (30 s of load at 40 req/s, the
	// slow replica from 10 s to 22 s); GAMEDAY_DOCKER_FULL=1 runs it as the
	// library has it (90 s).
	filename, data, err := experiments.Resolve("payment-slowdown")
	if err != nil {
		t.Fatal(err)
	}
	e := libtest.Short(t, "payment-slowdown", 30*time.Second, 40, 10*time.Second, 12*time.Second)
	if os.Getenv("GAMEDAY_DOCKER_FULL") == "1" {
		if e, err = experiments.Parse(filename, data); err != nil {
			t.Fatal(err)
		}
	}
	e.Spec.Runtime = rt
	journal, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*e.TotalDuration()+2*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	start := time.Now()
	out, err := runner.Run(rctx, runner.Options{
		Experiment: e, YAML: string(data), RunsDir: t.TempDir(), Settings: settings,
		Journal: journal, Out: &stdout, Version: "e2e",
	})
	if err != nil {
		t.Fatalf("%s: %v", rt, err)
	}
	t.Logf("%s: code %d, verdict %s (%s), wall time %s", rt, out.Code, out.Run.Verdict, out.Run.Reason, time.Since(start).Round(time.Second))
	verdicts := map[string]bool{}
	for _, c := range out.Run.Checks {
		obs := "no data"
		if c.Observed != nil {
			obs = strconv.FormatFloat(*c.Observed, 'g', 4, 64)
		}
		t.Logf("  %-6s %-5v %-45s %-20s observed %s", rt, c.Passed(), c.Name, c.Bound, obs)
		verdicts[c.Name] = c.Passed()
	}
	if len(out.Run.Checks) == 0 {
		t.Errorf("%s: no check evaluated:\n%s", rt, stdout.String())
	}
	if _, err := reports.Load(filepath.Join(out.Dir, "run.json")); err != nil {
		t.Errorf("%s: run.json does not load back: %v", rt, err)
	}
	intents, _ := journal.Intents()
	resources, _ := journal.Resources()
	runs, _ := journal.Runs()
	if len(intents)+len(resources)+len(runs) != 0 {
		t.Errorf("%s: journal not empty: %v %v %v", rt, intents, resources, runs)
	}
	if rt == "docker" {
		f := filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+out.Run.ID))
		cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: f})
		vs, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if len(cs)+len(ns)+len(vs.Volumes) != 0 {
			t.Errorf("docker objects of run %s left: %d containers, %d networks, %d volumes", out.Run.ID, len(cs), len(ns), len(vs.Volumes))
		}
	} else if pids := e2etest.ProcessesOf(out.Run.ID); len(pids) > 0 {
		t.Errorf("processes of run %s still alive: %v", out.Run.ID, pids)
	}
	return verdicts
}
