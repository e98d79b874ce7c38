package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
)

// instance is one container of the run.
type instance struct {
	service string
	index   int
	id      string // "payment-0"
	name    string // container name
	cid     string // container id
	ip      netip.Addr
	// outbound are the edge proxies whose caller is this instance: they
	// listen in its network namespace, so each start re-opens them.
	outbound []*edgeLink
	wake     chan struct{} // Restart asks a down instance to come back now

	mu       sync.Mutex
	ctl      *proxy.Proxy   // stable host address for /metrics and /admin, never faulted
	hostIn   []*proxy.Proxy // host proxies to the published port (control, client → gateway)
	gen      *generation    // nil while down
	state    string
	pending  *faults.RestartPolicy // policy of a kill or stop fault in progress
	inARow   int                   // restarts in a row, for backoff
	restarts int
	up       chan struct{} // closed and replaced each time the instance is up again
}

// generation is one start of a container, until it stops.
type generation struct {
	pid       int    // the container's init process, seen from the host
	startTime uint64 // its start time (clock ticks since boot)
	hostAddr  string // 127.0.0.1:PORT the engine published for this start
	started   time.Time
	exited    chan struct{} // closed once the container is seen not running
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
		return nil, fmt.Errorf("start %s: %w", in.id, err)
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
		return nil, fmt.Errorf("start %s: %w", in.id, err)
	}
	st, err := d.inspect(ctx, in)
	if err != nil {
		return fail(err)
	}
	if st.State == nil || !st.State.Running || st.State.Pid <= 0 {
		return fail(errors.New("exited at once"))
	}
	gen.pid = st.State.Pid
	gen.startTime, _ = faults.ProcStartTime(gen.pid)
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
	in.mu.Lock()
	for _, px := range in.hostIn {
		px.SetUpstream(gen.hostAddr)
	}
	in.mu.Unlock()
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

func (d *Deployment) waitReady(ctx context.Context, gen *generation) error {
	url := "http://" + gen.hostAddr + "/readyz"
	timeout := time.NewTimer(d.cfg.ReadyTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		resp, err := d.client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-gen.exited:
			return errors.New("exited before ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("%s not ready within %v", url, d.cfg.ReadyTimeout)
		case <-tick.C:
		}
	}
}

// supervise owns an instance's restarts: it waits for the container to
// stop and applies the kill fault's or the deployment's restart policy.
func (d *Deployment) supervise(in *instance, gen *generation) {
	defer d.wg.Done()
	for {
		select {
		case <-gen.exited:
		case <-d.ctx.Done():
			return
		}
		for _, l := range in.outbound {
			l.down()
		}
		in.mu.Lock()
		if d.isClosing() {
			in.gen, in.state = nil, StateStopped
			in.mu.Unlock()
			return
		}
		pol := in.pending
		in.pending = nil
		in.gen, in.state = nil, StateDown
		if time.Since(gen.started) >= d.cfg.Restart.ResetAfter {
			in.inARow = 0
		}
		var delay time.Duration
		wait := true // wait for Restart only
		switch {
		case pol != nil && pol.Mode != faults.RestartAfterDelay:
		case pol == nil && d.cfg.Restart.Never:
		default:
			base := d.cfg.Restart.Delay
			if pol != nil { // a fault's own delay, 0 included (stop with restart: delay is a restart)
				base = pol.Delay
			}
			delay = min(base<<min(in.inARow, 20), d.cfg.Restart.MaxDelay)
			in.inARow++
			wait = false
		}
		in.mu.Unlock()
		for {
			if !d.sleepOrWake(in, delay, wait) {
				in.mu.Lock()
				in.state = StateStopped
				in.mu.Unlock()
				return
			}
			ng, err := d.startContainer(d.ctx, in)
			if err == nil {
				gen = ng
				break
			}
			// Could not start: back off and try again, as a kubelet would.
			in.mu.Lock()
			delay = min(d.cfg.Restart.Delay<<min(in.inARow, 20), d.cfg.Restart.MaxDelay)
			in.inARow++
			in.mu.Unlock()
			wait = false
		}
		in.mu.Lock()
		if d.isClosing() {
			in.gen, in.state = nil, StateStopped
			in.mu.Unlock()
			return
		}
		in.gen, in.state = gen, StateRunning
		in.restarts++
		close(in.up)
		in.up = make(chan struct{})
		in.mu.Unlock()
	}
}

// sleepOrWake waits delay (or, if wait, until woken); false when the
// deployment is closing.
func (d *Deployment) sleepOrWake(in *instance, delay time.Duration, wait bool) bool {
	var timer <-chan time.Time
	if !wait {
		t := time.NewTimer(delay)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-d.ctx.Done():
		return false
	case <-in.wake:
		return true
	case <-timer:
		return true
	}
}
