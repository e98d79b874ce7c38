package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// instance is one container of the run.
type instance struct {
	// Member: service, index, id ("payment-0") and Ctl, the stable host
	// address for /metrics and /admin (never faulted).
	fleet.Member
	name string // container name
	cid  string // container id
	ip   netip.Addr
	// outbound are the edge proxies whose caller is this instance: they
	// listen in its network namespace, so each start re-opens them.
	outbound []*edgeLink

	hostIn []*proxy.Proxy // host proxies to the published port (control, client → gateway)
	// Slot: the current generation (nil while down), its state, its
	// restarts (backoff, a kill's or stop's policy, Restart's wake-up).
	fleet.Slot[*generation]
}

// generation is one start of a container, until it stops.
type generation struct {
	pid      int    // the container's init process, seen from the host
	hostAddr string // 127.0.0.1:PORT the engine published for this start
	started  time.Time
	exited   chan struct{} // closed once the container is seen not running
}

// ref is the generation's faults.Instance.Ref: the host pid of the
// container's init process and when this start began, which no later start
// of the container shares.
func (g *generation) ref() string {
	return strconv.Itoa(g.pid) + "@" + strconv.FormatInt(g.started.UnixNano(), 36)
}

func (g *generation) done() bool {
	select {
	case <-g.exited:
		return true
	default:
		return false
	}
}

// inspect returns the container's state after checking it is the run's.
func (d *Deployment) inspect(ctx context.Context, in *instance) (container.InspectResponse, error) {
	st, err := d.cli.ContainerInspect(ctx, in.cid)
	if err != nil {
		return st, fmt.Errorf("inspect %s: %w", in.name, err)
	}
	if err := checkOwned(st, d.cfg.RunID); err != nil {
		return st, err
	}
	return st, nil
}

// startContainer starts the container, reads back its init pid and
// published port, opens its outbound edge proxies in its new network
// namespace, re-points its host proxies and waits for /readyz. On error the
// container is killed before startContainer returns.
func (d *Deployment) startContainer(ctx context.Context, in *instance) (*generation, error) {
	if _, err := d.inspect(ctx, in); err != nil {
		return nil, fmt.Errorf("start %s: %w", in.ID, err)
	}
	if err := d.cli.ContainerStart(ctx, in.cid, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start %s: %w", in.name, err)
	}
	gen := &generation{started: time.Now(), exited: make(chan struct{})}
	d.wg.Add(1)
	go d.watch(in, gen)
	fail := func(err error) (*generation, error) {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		tail := logTail(kctx, d.cli, in.cid)
		_ = d.cli.ContainerKill(kctx, in.cid, "SIGKILL")
		for _, l := range in.outbound {
			l.down()
		}
		if tail != "" {
			err = fmt.Errorf("%w; last output:\n%s", err, tail)
		}
		return nil, fmt.Errorf("start %s: %w", in.ID, err)
	}
	st, err := d.inspect(ctx, in)
	if err != nil {
		return fail(err)
	}
	if st.State == nil || !st.State.Running || st.State.Pid <= 0 {
		return fail(errors.New("exited at once"))
	}
	gen.pid = st.State.Pid
	if st.NetworkSettings != nil {
		for _, b := range st.NetworkSettings.Ports[portKey] {
			if b.HostIP == "127.0.0.1" && b.HostPort != "" {
				gen.hostAddr = net.JoinHostPort(b.HostIP, b.HostPort)
			}
		}
	}
	if gen.hostAddr == "" {
		return fail(fmt.Errorf("no port published for %s", portKey))
	}
	for _, l := range in.outbound {
		if err := l.open(ctx, gen.pid); err != nil {
			return fail(err)
		}
	}
	in.Mu.Lock()
	for _, px := range in.hostIn {
		px.SetUpstream(gen.hostAddr)
	}
	in.Mu.Unlock()
	if err := d.waitReady(ctx, gen); err != nil {
		return fail(err)
	}
	return gen, nil
}

// watch closes gen.exited once the container of this start is not running
// any more. It waits on the engine and, if that wait breaks (an engine
// restart), polls.
func (d *Deployment) watch(in *instance, gen *generation) {
	defer d.wg.Done()
	defer close(gen.exited)
	for d.ctx.Err() == nil {
		okC, errC := d.cli.ContainerWait(d.ctx, in.cid, container.WaitConditionNotRunning)
		select {
		case <-okC:
			return
		case <-errC:
		}
		if d.ctx.Err() != nil {
			return
		}
		ictx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
		st, err := d.cli.ContainerInspect(ictx, in.cid)
		cancel()
		if err == nil && (st.State == nil || !st.State.Running) {
			return
		}
		select {
		case <-d.ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitReady waits up to ReadyTimeout for the container's /readyz (see
// fleet.WaitReady).
func (d *Deployment) waitReady(ctx context.Context, gen *generation) error {
	timeout := time.NewTimer(d.cfg.ReadyTimeout)
	defer timeout.Stop()
	return fleet.WaitReady(ctx, d.client, gen.hostAddr, 20*time.Millisecond, gen.exited, timeout.C)
}

// supervise owns an instance's restarts (see fleet.Slot.Supervise): it
// waits for the container to stop and applies the kill or stop fault's or
// the deployment's restart policy; the edge proxies in the container's
// namespace go down with it (each start re-opens them).
func (d *Deployment) supervise(in *instance, gen *generation) {
	defer d.wg.Done()
	in.Supervise(d.ctx, gen, fleet.Driver[*generation]{
		Exited: func(g *generation) <-chan struct{} { return g.exited },
		Began:  func(g *generation) time.Time { return g.started },
		Start:  func(ctx context.Context) (*generation, error) { return d.startContainer(ctx, in) },
		Gone: func(*generation) {
			for _, l := range in.outbound {
				l.down()
			}
		},
		Closing: d.isClosing,
	})
}
