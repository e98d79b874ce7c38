//go:build docker

package docker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// startForeign starts a payment container that is not part of the run but
// looks like it to any selector: same image, same service and instance
// labels, a gameday-like name, on the run's network.
func startForeign(t *testing.T, d *Deployment) string {
	t.Helper()
	ctx := context.Background()
	run := "foreign-" + fleet.RandomHex(4)
	resp, err := d.cli.ContainerCreate(ctx, &container.Config{
		Image:  d.imageID,
		Cmd:    []string{"serve", "--service", "payment", "--listen", "0.0.0.0:8080", "--instance", "payment-0", "--variant", "naive", "--data", "/tmp", "--replicas", "1"},
		Env:    []string{platform.RunIDEnv + "=" + run},
		Labels: map[string]string{LabelRun: run, LabelService: "payment", LabelInstance: "payment-0"},
	}, nil, &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{d.netName: {NetworkID: d.netID}}},
		nil, "gameday-"+run+"-payment-0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.cli.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	if err := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return resp.ID
}

type foreignState struct {
	running, paused bool
	startedAt       string
	chains          []string
}

func inspectForeign(t *testing.T, d *Deployment, id string) foreignState {
	t.Helper()
	st, err := d.cli.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	fs := foreignState{running: st.State.Running, paused: st.State.Paused, startedAt: st.State.StartedAt}
	if st.State.Running {
		chains, err := nsOf(st.NetworkSettings.SandboxKey, st.State.Pid).Chains(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chains {
			if strings.HasPrefix(c, "GD-") {
				fs.chains = append(fs.chains, c)
			}
		}
	}
	return fs
}

func TestAForeignContainerIsUntouchedByEveryFault(t *testing.T) {
	d := deployShop(t, "naive", nil, nil)
	ctx := context.Background()
	foreign := startForeign(t, d)
	before := inspectForeign(t, d, foreign)
	if !before.running {
		t.Fatal("the foreign container is not running")
	}
	// Every fault type the docker runtime offers, each aimed at payment
	// (kill and pause would pick "payment-0": the run's, never the foreign
	// one with the same labels).
	specs := map[string]faults.Spec{
		"kill":       {Type: "kill", Target: faults.Target{Service: "payment"}, Params: map[string]string{"restart": "end"}},
		"pause":      {Type: "pause", Target: faults.Target{Service: "payment"}},
		"latency":    {Type: "latency", Target: faults.Target{Service: "payment"}, Params: map[string]string{"delay": "50ms"}},
		"bandwidth":  {Type: "bandwidth", Target: faults.Target{Service: "payment"}, Params: map[string]string{"rate": "10KB"}},
		"loss":       {Type: "loss", Target: faults.Target{Service: "payment"}},
		"reset":      {Type: "reset", Target: faults.Target{Service: "payment"}},
		"corrupt":    {Type: "corrupt", Target: faults.Target{Service: "payment"}},
		"partition":  {Type: "partition", Target: faults.Target{Service: "payment"}, Params: map[string]string{"mode": "refuse"}},
		"http-abort": {Type: "http-abort", Target: faults.Target{Service: "payment"}, Params: map[string]string{"operation": "charge"}},
		"http-delay": {Type: "http-delay", Target: faults.Target{Service: "payment"}, Params: map[string]string{"operation": "charge", "delay": "100ms"}},
		"stop":       {Type: "stop", Target: faults.Target{Service: "payment"}, Params: map[string]string{"restart": "end"}},
	}
	var injected []faults.Fault
	for _, info := range faults.Types() {
		if !platform.Supports(Runtime{}, info) {
			continue
		}
		spec, ok := specs[info.Name]
		if !ok {
			t.Errorf("fault type %s runs on docker but this test does not cover it", info.Name)
			continue
		}
		spec.Name = info.Name
		// Pause before kill would leave nothing to kill: kill last.
		if info.Name == "kill" || info.Name == "stop" {
			defer func() {
				f := newFault(t, d, spec.Type, spec.Target, spec.Params)
				if err := f.Inject(ctx); err != nil {
					t.Errorf("inject %s: %v", spec.Name, err)
				}
				if after := inspectForeign(t, d, foreign); !after.running || after.paused || after.startedAt != before.startedAt {
					t.Errorf("after %s: the foreign container changed: %+v, was %+v", spec.Name, after, before)
				}
				if err := f.Revert(ctx); err != nil {
					t.Errorf("revert %s: %v", spec.Name, err)
				}
			}()
			continue
		}
		f := newFault(t, d, spec.Type, spec.Target, spec.Params)
		if err := f.Inject(ctx); err != nil {
			t.Errorf("inject %s: %v", spec.Name, err)
		}
		injected = append(injected, f)
	}
	during := inspectForeign(t, d, foreign)
	// The faults did hit the run's own payment and its callers.
	own, _ := d.ContainerID("payment-0")
	if st := inspectForeign(t, d, own); !st.paused {
		t.Error("the run's payment-0 is not paused: the test proves nothing")
	}
	if chains := chainsIn(t, d, "orders-0"); len(chains) == 0 {
		t.Error("no partition chain in the run's orders-0: the test proves nothing")
	}
	for _, f := range slices.Backward(injected) { // the pause first: a paused instance cannot clear its HTTP faults
		if err := f.Revert(ctx); err != nil {
			t.Errorf("revert: %v", err)
		}
	}
	t.Logf("foreign container before %+v, with every fault injected %+v", before, during)
	if !during.running || during.paused || during.startedAt != before.startedAt || len(during.chains) != 0 {
		t.Errorf("the foreign container was touched: %+v, was %+v", during, before)
	}
}

// TestTheGuardRefusesAContainerWithoutTheRunsLabel points instances at the
// foreign container, as a bug or a stale id would, and checks that every
// action refuses it.
func TestTheGuardRefusesAContainerWithoutTheRunsLabel(t *testing.T) {
	d := deployShop(t, "naive", nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	foreign := startForeign(t, d)
	before := inspectForeign(t, d, foreign)
	swap := func(id string) func() {
		in, err := d.instance(id)
		if err != nil {
			t.Fatal(err)
		}
		old := in.cid
		in.cid = foreign
		return func() { in.cid = old }
	}
	pay, _ := d.Instances("payment")
	restore := swap("payment-0")
	errs := map[string]error{
		"pause":  d.Pause(ctx, pay[0]),
		"kill":   d.Kill(ctx, pay[0], faults.RestartPolicy{Mode: faults.RestartNever}),
		"stop":   d.Stop(ctx, pay[0], time.Second, faults.RestartPolicy{Mode: faults.RestartNever}),
		"resume": d.Resume(ctx, pay[0]),
	}
	_, errs["http"] = d.SetHTTPFault(ctx, pay[0], faults.HTTPFault{Operation: "charge", Status: 503, Percent: 1})
	restore()
	restore = swap("orders-0")
	links, err := d.Links("payment", "orders")
	if err != nil {
		t.Fatal(err)
	}
	_, errs["partition"] = links[0].AddToxic(ctx, proxy.Partition{Mode: proxy.Refuse})
	restore()
	for what, err := range errs {
		if !errors.Is(err, ErrForeign) {
			t.Errorf("%s on a foreign container: %v, want ErrForeign", what, err)
		}
	}
	t.Logf("refused: %v", errs["pause"])
	after := inspectForeign(t, d, foreign)
	if !after.running || after.paused || after.startedAt != before.startedAt || len(after.chains) != 0 {
		t.Errorf("the foreign container was touched: %+v, was %+v", after, before)
	}
}
