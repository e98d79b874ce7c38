package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// instance is one instance of a service: its StatefulSet, the tunnel to its
// current pod, and the harness's stable local addresses in front of it.
type instance struct {
	d       *Deployment
	service string
	index   int
	id      string

	ctl    *proxy.Proxy // → :8080, never faulted: metrics and admin API
	admin  *proxy.Proxy // → the sidecar's :9901 (callers only)
	client *proxy.Proxy // gateway only: the load generator's edge
	links  []*sidecarLink

	wakeup chan struct{} // kick: the reconciler has something to look at

	mu         sync.Mutex
	tun        *tunnel // to the current pod (running, not being deleted); nil while none
	ready      bool    // that pod is ready
	upSince    time.Time
	replaced   int           // tunnels opened after the first
	changed    chan struct{} // closed and replaced whenever tun changes
	scaledDown bool          // a kill scaled the StatefulSet to 0
	downGen    int           // counts those kills: a scale-up clears only its own
	pending    *pendingRestart
	killed     map[types.UID]bool // pods a kill deleted: never attached again (the cache may lag)
	backoff    fleet.Backoff
}

// pendingRestart is a delayed scale-up after a kill with restart "delay".
type pendingRestart struct{ cancel context.CancelFunc }

func newInstance(d *Deployment, service string, i int) *instance {
	return &instance{d: d, service: service, index: i, id: instanceID(service, i),
		wakeup: make(chan struct{}, 1), changed: make(chan struct{}), backoff: fleet.NewBackoff(d.cfg.Restart),
		killed: map[types.UID]bool{}}
}

func (in *instance) kick() {
	select {
	case in.wakeup <- struct{}{}:
	default:
	}
}

// listen opens a local proxy that dials port of the instance's current pod.
func (in *instance) listen(name string, port int, opts ...proxy.Option) (*proxy.Proxy, error) {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return in.dial(ctx, port)
	}
	opts = append([]proxy.Option{proxy.WithName(name), proxy.WithDialer(dial),
		proxy.WithSeed(fleet.Seed(in.d.cfg.Seed, name))}, opts...)
	px, err := proxy.Listen(context.Background(), "127.0.0.1:0", fmt.Sprintf("%s/%s:%d", in.d.obj.ns, podName(in.id), port), opts...)
	if err != nil {
		return nil, fmt.Errorf("local address of %s: %w", in.id, err)
	}
	return px, nil
}

// dial connects to port of the instance's current pod. A tunnel found
// stuck is replaced by the reconciler; dial waits for the new one (within
// ctx) and tries again.
func (in *instance) dial(ctx context.Context, port int) (net.Conn, error) {
	t := in.current()
	for {
		if t == nil {
			return nil, fmt.Errorf("%s has no running pod", in.id)
		}
		c, err := t.dial(ctx, port)
		if err != nil {
			in.d.log.Debug("kubernetes: dial through port-forward", "instance", in.id, "port", port, "err", err)
		}
		if !errors.Is(err, errStuck) {
			return c, err
		}
		in.kick()
		if t, err = in.nextTunnel(ctx, t); err != nil {
			return nil, err
		}
	}
}

// nextTunnel waits until the instance's tunnel is another one than old (nil:
// the pod is gone) and returns it.
func (in *instance) nextTunnel(ctx context.Context, old *tunnel) (*tunnel, error) {
	for {
		in.mu.Lock()
		t, changed := in.tun, in.changed
		in.mu.Unlock()
		if t != old && (t != nil || in.livePod() == nil) {
			return t, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: port-forward not replaced: %w", in.id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (in *instance) current() *tunnel {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.tun
}

// up returns the tunnel of the instance's current pod if it is ready.
func (in *instance) up() *tunnel {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.ready {
		return nil
	}
	return in.tun
}

func (in *instance) isUp() bool { return in.up() != nil }

// setReadyLocked records whether the current pod is ready. Called with
// in.mu held.
func (in *instance) setReadyLocked(r bool) {
	if in.ready != r {
		in.ready = r
		close(in.changed)
		in.changed = make(chan struct{})
	}
}

// setTunnel makes t (nil: none) the current tunnel and releases waiters;
// it returns the one it replaced. Called with in.mu held.
func (in *instance) setTunnelLocked(t *tunnel) *tunnel {
	old := in.tun
	if old == t {
		return nil
	}
	in.tun, in.ready = t, false
	if t != nil {
		if !in.upSince.IsZero() {
			in.replaced++
		}
		in.upSince = time.Now()
	}
	close(in.changed)
	in.changed = make(chan struct{})
	return old
}

// dropTunnel closes the current tunnel (the pod is gone, or Close).
func (in *instance) dropTunnel() {
	in.mu.Lock()
	old := in.setTunnelLocked(nil)
	in.mu.Unlock()
	if old != nil && !old.broken.Load() { // a broken one is being closed already
		old.Close()
	}
}

// waitUp waits until the instance has a tunnel to a ready pod other than
// notUID.
func (in *instance) waitUp(ctx context.Context, notUID types.UID) error {
	for {
		in.mu.Lock()
		t, ch, ready := in.tun, in.changed, in.ready
		in.mu.Unlock()
		if t != nil && ready && t.uid != notUID {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s not up: %w", in.id, ctx.Err())
		}
	}
}

// livePod is the instance's pod that runs and is not being deleted, from
// the informer's cache (which only holds the run's pods).
func (in *instance) livePod() *corev1.Pod {
	if in.d.pods == nil {
		return nil
	}
	sel := labels.SelectorFromSet(in.d.obj.labels(LabelInstance, in.id))
	pods, err := in.d.pods.Pods(in.d.obj.ns).List(sel)
	if err != nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, p := range pods {
		if !in.killed[p.UID] && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && in.d.obj.owned(p.ObjectMeta) == nil {
			return p
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// reconcileLoop keeps the instance's tunnel on its current pod: a new pod
// (new UID, running) gets a new tunnel, the local proxies are re-pointed
// (they dial the current tunnel) and the sidecar's active toxics applied
// again; no running pod, no tunnel. The instance is up while that pod is
// ready. It runs until ctx ends.
func (in *instance) reconcileLoop(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		var lost <-chan bool
		if t := in.current(); t != nil {
			lost = t.done()
		}
		select {
		case <-ctx.Done():
			return
		case <-in.wakeup:
		case <-lost:
		case <-retry.C:
		}
		if err := in.reconcile(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			in.d.log.Warn("kubernetes: port-forward", "instance", in.id, "err", err)
			retry.Reset(500 * time.Millisecond)
		}
	}
}

func (in *instance) reconcile(ctx context.Context) error {
	p := in.livePod()
	in.mu.Lock()
	t := in.tun
	in.mu.Unlock()
	if p == nil || t != nil && (closed(t.done()) || t.broken.Load() || t.uid != p.UID) {
		in.dropTunnel() // a lost tunnel is dialled again below
		t = nil
	}
	if p == nil {
		return nil
	}
	if t == nil {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		nt, err := dialTunnel(dctx, in.d.rest, in.d.forwardURL(p.Name), p.Name, p.UID)
		cancel()
		if err != nil {
			return err
		}
		in.mu.Lock()
		if in.d.isClosing() {
			in.mu.Unlock()
			nt.Close()
			return nil
		}
		old := in.setTunnelLocked(nt)
		in.mu.Unlock()
		in.d.log.Debug("kubernetes: port-forward open", "instance", in.id, "pod", p.Name, "uid", p.UID, "replaces", old != nil)
		if old != nil && !old.broken.Load() {
			old.Close()
		}
		t = nt
	}
	ready := podReady(p)
	if ready {
		// A new pod's sidecar has no toxics: apply the active ones before
		// the instance counts as up again.
		for _, l := range in.links {
			if err := l.reapply(ctx, t); err != nil {
				return fmt.Errorf("toxics of edge %s on pod %s: %w", l.name, p.Name, err)
			}
		}
	}
	in.mu.Lock()
	if in.tun == t {
		in.setReadyLocked(ready)
	}
	in.mu.Unlock()
	return nil
}

func closed(ch <-chan bool) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
