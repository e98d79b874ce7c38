//go:build docker

package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform/docker"
)

// crashScenario pauses payment and partitions orders from inventory on the
// docker runtime, for longer than the test waits.
const crashScenario = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: docker-crash, description: the harness is SIGKILLed with faults injected}
spec:
  runtime: docker
  sut: {variant: naive}
  load:
    stages: [{duration: 60s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
  faults:
    - {name: freeze, type: pause, target: {service: payment}, at: 2s, duration: 50s}
    - {name: cut, type: partition, target: {groups: [[orders], [inventory]]}, at: 2s, duration: 50s, params: {mode: blackhole}}
  slos:
    - {name: browse available, promql: 'gameday:availability:ratio10s', expect: '>= 0.5'}
`

// The crash path, through the real binaries: `gameday run` on the
// docker runtime is SIGKILLed with a container paused and a partition's
// packet filter in place; `gameday recover` must leave no paused container,
// no filter chain and no container, network or volume of the run.
func TestDockerSIGKILLThenRecoverLeavesNothingBehind(t *testing.T) {
	dockertest.Images(t, "sut")
	ctx := context.Background()
	cli, err := docker.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	dir := t.TempDir()
	bin, err := e2etest.Build(dir, "github.com/gameday/gameday/cmd/gameday")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "crash.yaml")
	if err := os.WriteFile(file, []byte(crashScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	env := append(os.Environ(), "GAMEDAY_STATE_DIR="+state)
	run := exec.Command(bin, "run", file, "--out", filepath.Join(dir, "runs"))
	run.Env = env
	var out strings.Builder
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()

	// Wait until both faults are journalled and payment is paused.
	j, err := journal.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	runFilter := filters.NewArgs(filters.Arg("label", docker.LabelRun))
	var runID, payment string
	deadline := time.Now().Add(90 * time.Second)
	for {
		if time.Now().After(deadline) {
			_ = run.Process.Kill()
			t.Fatalf("the faults were not injected in time; output:\n%s", out.String())
		}
		select {
		case err := <-exited:
			t.Fatalf("the run ended on its own (%v):\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		intents, _ := j.Intents()
		if len(intents) < 2 {
			continue
		}
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: runFilter})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Labels[docker.LabelService] == "payment" && c.State == "paused" {
				runID, payment = c.Labels[docker.LabelRun], c.ID
			}
		}
		if payment != "" {
			break
		}
	}
	if err := run.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	t.Logf("SIGKILLed run %s with payment paused", runID)

	rec := exec.Command(bin, "recover")
	rec.Env = env
	said, err := rec.CombinedOutput()
	t.Logf("recover said:\n%s", said)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	for _, want := range []string{"unpaused container", "removed iptables chain", "removed network"} {
		if !strings.Contains(string(said), want) {
			t.Errorf("recover did not say %q", want)
		}
	}
	f := filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+runID))
	cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	vs, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if len(cs)+len(ns)+len(vs.Volumes) != 0 {
		t.Errorf("left after recover: %d containers, %d networks, %d volumes", len(cs), len(ns), len(vs.Volumes))
	}
	again := exec.Command(bin, "recover")
	again.Env = env
	if said, err := again.CombinedOutput(); err != nil || !strings.Contains(string(said), "nothing to recover") {
		t.Errorf("a second recover: %v\n%s", err, said)
	}
}
