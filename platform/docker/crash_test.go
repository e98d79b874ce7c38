//go:build docker

package docker

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// crashHarness is the harness the crash test kills: it deploys the shop
// with a journal, pauses payment and partitions orders from payment through
// the fault timeline (which journals both), says READY and waits.
func crashHarness() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	j, err := journal.Open(os.Getenv("DOCKER_TEST_STATE"))
	if err != nil {
		return fail(err)
	}
	cfg, err := shopConfig(os.Getenv("DOCKER_TEST_RUNDIR"), "naive", nil)
	if err != nil {
		return fail(err)
	}
	cfg.RunID, cfg.Journal = os.Getenv("DOCKER_TEST_HARNESS"), j
	ctx := context.Background()
	d, err := Start(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	injected := make(chan faults.Event, 2)
	tl := &faults.Timeline{Runtime: d, Journal: j, RunID: cfg.RunID,
		Faults: []faults.Planned{
			{Spec: faults.Spec{Name: "freeze", Type: "pause", Target: faults.Target{Service: "payment"}}, Duration: time.Hour},
			{Spec: faults.Spec{Name: "cut", Type: "partition", Target: faults.Target{Groups: [][]string{{"orders"}, {"payment"}}},
				Params: map[string]string{"mode": "refuse"}}, Duration: time.Hour},
		},
		OnEvent: func(e faults.Event) {
			fmt.Printf("event %s %s %s\n", e.Fault, e.Action, e.Error)
			if e.Action == faults.Inject {
				injected <- e
			}
		},
	}
	if _, err := tl.Start(ctx, time.Now()); err != nil {
		return fail(err)
	}
	for range 2 {
		if e := <-injected; e.Error != "" {
			return fail(fmt.Errorf("inject %s: %s", e.Fault, e.Error))
		}
	}
	fmt.Println("READY")
	select {} // until SIGKILL
}

func TestSIGKILLedHarnessThenRecoverLeavesNothing(t *testing.T) {
	dockertest.Images(t, "sut")
	cli := engine(t)
	ctx := context.Background()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	runID := "dt-crash-" + fleet.RandomHex(4)
	t.Cleanup(func() { // whatever happens, nothing of the run stays
		_, _ = removeRun(context.Background(), cli, runID, time.Second, nil)
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DOCKER_TEST_HARNESS="+runID, "DOCKER_TEST_STATE="+state, "DOCKER_TEST_RUNDIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			t.Logf("harness: %s", sc.Text())
			if sc.Text() == "READY" {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatal("the harness ended before READY")
		}
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the harness was not READY within 120s")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// What the dead harness left: a paused payment, a chain in orders.
	byInstance := map[string]string{}
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: runFilter(runID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		byInstance[c.Labels[LabelInstance]] = c.ID
	}
	pay, err := cli.ContainerInspect(ctx, byInstance["payment-0"])
	if err != nil {
		t.Fatal(err)
	}
	orders, err := cli.ContainerInspect(ctx, byInstance["orders-0"])
	if err != nil {
		t.Fatal(err)
	}
	chains, err := nsOf(orders.NetworkSettings.SandboxKey, orders.State.Pid).Chains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gd []string
	for _, c := range chains {
		if strings.HasPrefix(c, "GD-") {
			gd = append(gd, c)
		}
	}
	if !pay.State.Paused || len(gd) != 1 {
		t.Fatalf("after SIGKILL: payment paused %v, GD- chains in orders %v (want paused and one chain)", pay.State.Paused, gd)
	}

	j, err := journal.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := journal.Recover(ctx, j, &Recoverer{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	report := strings.Join(append(append(append([]string(nil), rec.Found...), rec.Done...), rec.Left...), "\n")
	t.Logf("recover said:\n%s", report)
	for _, want := range []string{
		"unpaused container gameday-" + runID + "-payment-0",
		"removed iptables chain " + gd[0] + " from container gameday-" + runID + "-orders-0",
		"removed container gameday-" + runID + "-payment-0",
		"removed network gameday-" + runID,
		"removed volume gameday-" + runID + "-orders",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("recover did not say %q", want)
		}
	}
	// Unpaused before removal, chain removed before the containers went.
	if strings.Index(report, "unpaused") > strings.Index(report, "removed container") {
		t.Error("containers removed before the unpause")
	}
	assertRunGone(t, cli, runID)
	in, _ := j.Intents()
	res, _ := j.Resources()
	runs, _ := j.Runs()
	if len(in)+len(res)+len(runs) != 0 {
		t.Errorf("journal not empty: intents %v resources %v runs %v", in, res, runs)
	}
	// A second recovery has nothing to do.
	if rec, err := journal.Recover(ctx, j, &Recoverer{Client: cli}); err != nil || len(rec.Found) != 0 {
		t.Errorf("second recovery: %v %v", rec.Found, err)
	}
}
