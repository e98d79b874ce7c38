//go:build docker

package docker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/e2etest"
)

// edgeClient sends requests from inside a caller container's network
// namespace (where its edge proxies listen), as the caller itself would.
func edgeClient(t *testing.T, d *Deployment, caller string, timeout time.Duration) *http.Client {
	t.Helper()
	ns := nsOfInstance(t, d, caller)
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.DialContext(ctx, network, addr)
		},
	}}
}

// edgeURL is the base URL of the link caller → callee instance, in the
// caller's namespace.
func edgeURL(t *testing.T, d *Deployment, caller, callee string) string {
	t.Helper()
	in, err := d.instance(caller)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range in.outbound {
		if l.callee.ID == callee {
			return fmt.Sprintf("http://127.0.0.1:%d", l.port)
		}
	}
	t.Fatalf("no link %s → %s", caller, callee)
	return ""
}

func newFault(t *testing.T, d *Deployment, typ string, target faults.Target, params map[string]string) faults.Fault {
	t.Helper()
	f, err := faults.New(faults.Spec{Name: typ, Type: typ, Target: target, Params: params, Seed: 1}, d)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := f.(faults.Preparer); ok {
		if _, err := p.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestLatencyOnAnEdgeMeasures50msAndIsGoneAfterRevert(t *testing.T) {
	d := deployShop(t, "naive", map[string]int{"payment": 2}, nil)
	c := edgeClient(t, d, "orders-0", 5*time.Second)
	url := edgeURL(t, d, "orders-0", "payment-0") + "/healthz"
	other := edgeURL(t, d, "orders-0", "inventory-0") + "/healthz"
	e2etest.MedianGet(t, c, url, 20) // warm up
	before := e2etest.MedianGet(t, c, url, 101)
	f := newFault(t, d, "latency", faults.Target{Service: "payment", From: "orders"}, map[string]string{"delay": "50ms"})
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, l := range d.EdgeLinks("orders", "payment") {
		if l.Toxics != 1 {
			t.Errorf("link %s→%s: %d toxics during the fault", l.Caller, l.Callee, l.Toxics)
		}
	}
	during := e2etest.MedianGet(t, c, url, 41)
	otherDuring := e2etest.MedianGet(t, c, other, 21)
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, l := range d.EdgeLinks("orders", "payment") {
		if l.Toxics != 0 {
			t.Errorf("link %s→%s: %d toxics after revert", l.Caller, l.Callee, l.Toxics)
		}
	}
	after := e2etest.MedianGet(t, c, url, 101)
	t.Logf("orders→payment-0 p50: before %v, during %v (shift %v), after %v; orders→inventory during %v",
		before, during, during-before, after, otherDuring)
	if shift := during - before; shift < 47*time.Millisecond || shift > 53*time.Millisecond {
		t.Errorf("shift %v, want 50 ± 3 ms", shift)
	}
	if after-before > 3*time.Millisecond {
		t.Errorf("after revert %v, before %v", after, before)
	}
	if otherDuring > before+10*time.Millisecond {
		t.Errorf("orders→inventory slowed to %v by a fault on payment", otherDuring)
	}
}

func TestKillRestartsAfterTheDelayAndTheEdgesWorkAgain(t *testing.T) {
	d := deployShop(t, "naive", map[string]int{"payment": 2}, nil)
	ctx := context.Background()
	f := newFault(t, d, "kill", faults.Target{Service: "orders"}, map[string]string{"restart": "delay", "restartDelay": "1s"})
	cid, _ := d.ContainerID("orders-0")
	before, err := d.cli.ContainerInspect(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	killed := time.Since(start)
	st, err := d.cli.ContainerInspect(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Running || st.State.ExitCode != 137 {
		t.Fatalf("after kill: running %v, exit code %d (want 137, SIGKILL)", st.State.Running, st.State.ExitCode)
	}
	if ins, _ := d.Instances("orders"); len(ins) != 0 {
		t.Errorf("orders instances while down: %v", ins)
	}
	// Back after the delay: wait for the instance to be listed again.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ins, _ := d.Instances("orders")
		if len(ins) == 1 && refPID(ins[0].Ref) != before.State.Pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("orders-0 not back within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	down := time.Since(start)
	if err := f.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := d.cli.ContainerInspect(ctx, cid)
	if after.State.StartedAt == before.State.StartedAt {
		t.Error("orders-0 was not restarted")
	}
	// Its outbound edges are re-opened in its new namespace ...
	c := edgeClient(t, d, "orders-0", 5*time.Second)
	for _, callee := range []string{"payment-0", "payment-1", "inventory-0", "cart-0", "catalog-0"} {
		if _, err := e2etest.TimedGet(c, edgeURL(t, d, "orders-0", callee)+"/healthz"); err != nil {
			t.Errorf("orders-0 → %s after restart: %v", callee, err)
		}
	}
	// ... and a checkout, which crosses every edge of orders, succeeds.
	code, body := checkout(t, d, "u-kill")
	t.Logf("kill: SIGKILL took %v, down for %v (restart delay 1s), checkout after restart: %d", killed.Round(time.Millisecond), down.Round(time.Millisecond), code)
	if code != 200 && code != 201 {
		t.Errorf("checkout after the restart: %d %s", code, body)
	}
	if down < time.Second {
		t.Errorf("back after %v, before the 1s delay", down)
	}
}

func TestPauseFreezesTheContainerUntilRevert(t *testing.T) {
	d := deployShop(t, "naive", nil, nil)
	ctx := context.Background()
	c := edgeClient(t, d, "orders-0", 500*time.Millisecond)
	url := edgeURL(t, d, "orders-0", "payment-0") + "/healthz"
	if _, err := e2etest.TimedGet(c, url); err != nil {
		t.Fatal(err)
	}
	f := newFault(t, d, "pause", faults.Target{Service: "payment"}, nil)
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil { // idempotent
		t.Fatalf("second pause: %v", err)
	}
	cid, _ := d.ContainerID("payment-0")
	st, _ := d.cli.ContainerInspect(ctx, cid)
	took, err := e2etest.TimedGet(c, url)
	if !st.State.Paused {
		t.Error("payment-0 not paused")
	}
	if err == nil {
		t.Errorf("request to a paused payment answered in %v", took)
	}
	start := time.Now()
	if err := f.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Revert(ctx); err != nil {
		t.Fatalf("second revert: %v", err)
	}
	resumed, rerr := e2etest.TimedGet(c, url)
	t.Logf("pause: request while paused failed after %v (%v); after revert (%v) it took %v", took.Round(time.Millisecond), err, time.Since(start).Round(time.Millisecond), resumed)
	if rerr != nil {
		t.Errorf("after revert: %v", rerr)
	}
	st, _ = d.cli.ContainerInspect(ctx, cid)
	if st.State.Paused {
		t.Error("payment-0 still paused after revert")
	}
}

func TestPartitionIsAnIptablesChainInTheCallersNamespace(t *testing.T) {
	d := deployShop(t, "naive", nil, nil)
	ctx := context.Background()
	url := edgeURL(t, d, "orders-0", "payment-0") + "/healthz"
	other := edgeURL(t, d, "orders-0", "inventory-0") + "/healthz"
	for _, tc := range []struct {
		mode     string
		failFast bool
	}{{"refuse", true}, {"blackhole", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			c := edgeClient(t, d, "orders-0", time.Second)
			if _, err := e2etest.TimedGet(c, url); err != nil {
				t.Fatal(err)
			}
			f := newFault(t, d, "partition", faults.Target{Groups: [][]string{{"orders"}, {"payment"}}}, map[string]string{"mode": tc.mode})
			if err := f.Inject(ctx); err != nil {
				t.Fatal(err)
			}
			chains := chainsIn(t, d, "orders-0")
			links := d.EdgeLinks("orders", "payment")
			took, err := e2etest.TimedGet(c, url)
			_, otherErr := e2etest.TimedGet(c, other)
			if err := f.Revert(ctx); err != nil {
				t.Fatal(err)
			}
			after := chainsIn(t, d, "orders-0")
			back, backErr := e2etest.TimedGet(c, url)
			t.Logf("partition %s: chains during %v; cut edge failed after %v (%v); after revert chains %v, request %v (%v)",
				tc.mode, chains, took.Round(time.Millisecond), err, after, back.Round(time.Millisecond), backErr)
			if len(chains) != 1 || len(links) != 1 || !slices.Equal(links[0].Chains, chains) {
				t.Errorf("chains in orders-0's namespace %v, links %+v", chains, links)
			}
			if err == nil {
				t.Error("the cut edge answered")
			}
			if tc.failFast && took > 200*time.Millisecond {
				t.Errorf("refuse took %v to fail", took)
			}
			if !tc.failFast && took < 900*time.Millisecond {
				t.Errorf("blackhole failed after %v, before the client's 1s timeout", took)
			}
			if otherErr != nil {
				t.Errorf("orders→inventory cut too: %v", otherErr)
			}
			if len(after) != 0 {
				t.Errorf("chains left after revert: %v", after)
			}
			if backErr != nil {
				t.Errorf("after revert: %v", backErr)
			}
		})
	}
}

func TestStopDrainsAndARestartBringsItBack(t *testing.T) {
	d := deployShop(t, "naive", nil, nil)
	ctx := context.Background()
	cid, _ := d.ContainerID("payment-0")
	before, _ := d.cli.ContainerInspect(ctx, cid)
	f := newFault(t, d, "stop", faults.Target{Service: "payment"}, map[string]string{"restart": "delay", "restartDelay": "0s", "grace": "5s"})
	// The restart follows at once (delay 0s), so the container may be
	// running again before it can be inspected: the exit code is read
	// from the engine's "die" event instead, subscribed before the stop.
	evCtx, cancelEv := context.WithTimeout(ctx, 30*time.Second)
	defer cancelEv()
	died, evErrs := d.cli.Events(evCtx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("container", cid), filters.Arg("type", "container"), filters.Arg("event", "die"))})
	start := time.Now()
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(start)
	select {
	case m := <-died:
		if code := m.Actor.Attributes["exitCode"]; code != "0" {
			t.Errorf("after stop: exit code %s (want 0: drained on SIGTERM)", code)
		}
	case err := <-evErrs:
		t.Fatalf("engine events: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ins, _ := d.Instances("payment"); len(ins) == 1 && refPID(ins[0].Ref) != before.State.Pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("payment-0 not back within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	back := time.Since(start)
	if err := f.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	code, body := checkout(t, d, "u-stop")
	t.Logf("stop: drained and exited in %v, up again after %v; checkout %d", stopped.Round(time.Millisecond), back.Round(time.Millisecond), code)
	if code != 200 && code != 201 {
		t.Errorf("checkout after the restart: %d %s", code, body)
	}
}

// refPID is the host pid in an instance's Ref.
func refPID(ref string) int {
	pid, _, _ := strings.Cut(ref, "@")
	n, _ := strconv.Atoi(pid)
	return n
}
