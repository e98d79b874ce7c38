package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// ErrForeign is the error of an action refused because the object is not
// the run's (its labels or namespace say otherwise).
var ErrForeign = errors.New("not an object of this run")

var (
	_ faults.ProcessRuntime = (*Deployment)(nil)
	_ faults.Stopper        = (*Deployment)(nil)
	_ faults.LinkRuntime    = (*Deployment)(nil)
	_ faults.HTTPRuntime    = (*Deployment)(nil)
)

// Instances implements faults.InstanceLister: the instances of a service
// whose current pod is ready, in index order. Ref is the pod's UID, so that
// a fault chosen against one pod never acts on its successor.
func (d *Deployment) Instances(service string) ([]faults.Instance, error) {
	if err := d.graph.CheckService(service); err != nil {
		return nil, err
	}
	var out []faults.Instance
	for _, in := range d.byService[service] {
		if t := in.up(); t != nil {
			out = append(out, faults.Instance{Service: in.service, Index: in.index, ID: in.id, Ref: string(t.uid)})
		}
	}
	return out, nil
}

// Kill implements faults.ProcessRuntime: the instance's pod is deleted with
// grace period 0 (after checking its namespace, labels and UID), then the
// restart policy: "delay" with no delay leaves the StatefulSet controller
// to recreate the pod at once; a delay (doubled on kills in a row, as a
// kubelet's back-off), "end" and "never" first scale the instance's
// StatefulSet to 0 (journalled as a kubernetes.scale undo) and scale it back
// to 1 after the delay, at Restart, or never (until Close).
func (d *Deployment) Kill(ctx context.Context, fi faults.Instance, pol faults.RestartPolicy) error {
	return d.end(ctx, fi, pol, 0)
}

// Stop implements faults.Stopper: like Kill, but the pod is deleted with a
// grace period (SIGTERM, the shop drains, SIGKILL after grace), and Stop
// returns once the pod is gone.
func (d *Deployment) Stop(ctx context.Context, fi faults.Instance, grace time.Duration, pol faults.RestartPolicy) error {
	return d.end(ctx, fi, pol, max(grace, time.Second))
}

func (d *Deployment) end(ctx context.Context, fi faults.Instance, pol faults.RestartPolicy, grace time.Duration) error {
	in, err := d.instance(fi.ID)
	if err != nil {
		return err
	}
	in.mu.Lock()
	t := in.tun
	ran := time.Since(in.upSince)
	in.mu.Unlock()
	if t == nil || string(t.uid) != fi.Ref {
		return fmt.Errorf("%s (pod %s) is no longer running", fi.ID, fi.Ref)
	}
	pod, err := d.ownedPod(ctx, podName(in.id), t.uid)
	if err != nil {
		return err
	}
	delay := time.Duration(0)
	if pol.Mode == faults.RestartAfterDelay {
		in.mu.Lock()
		in.backoff.Ran(ran)
		delay = in.backoff.Next(pol.Delay)
		in.mu.Unlock()
	}
	scale := pol.Mode != faults.RestartAfterDelay || delay > 0
	if scale {
		if err := d.scaleDown(ctx, in); err != nil {
			return err
		}
	}
	in.mu.Lock()
	in.killed[pod.UID] = true
	in.mu.Unlock()
	if err := d.deletePod(ctx, pod, grace); err != nil {
		in.mu.Lock()
		delete(in.killed, pod.UID)
		in.mu.Unlock()
		return err
	}
	in.dropTunnel()
	if grace > 0 {
		if err := d.waitPodGone(ctx, pod); err != nil {
			return err
		}
	}
	if scale && pol.Mode == faults.RestartAfterDelay {
		d.restartAfter(in, delay)
	}
	return nil
}

// ownedPod gets the pod and checks that it is the run's (namespace, labels)
// and the start the fault chose (UID).
func (d *Deployment) ownedPod(ctx context.Context, name string, uid types.UID) (*corev1.Pod, error) {
	p, err := d.cs.CoreV1().Pods(d.obj.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", d.obj.ns, name, err)
	}
	if err := d.obj.owned(p.ObjectMeta); err != nil {
		return nil, fmt.Errorf("refusing to touch pod: %w", err)
	}
	if uid != "" && p.UID != uid {
		return nil, fmt.Errorf("pod %s is %s now, not %s: the instance was replaced", name, p.UID, uid)
	}
	return p, nil
}

// deletePod deletes the pod (only that UID) with the grace period given.
func (d *Deployment) deletePod(ctx context.Context, p *corev1.Pod, grace time.Duration) error {
	secs := int64(math.Ceil(grace.Seconds()))
	uid := p.UID
	err := d.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &secs, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	return nil
}

// waitPodGone waits until the pod of that UID no longer exists.
func (d *Deployment) waitPodGone(ctx context.Context, p *corev1.Pod) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		cur, err := d.cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || err == nil && cur.UID != p.UID {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for pod %s to end: %w", p.Name, ctx.Err())
		case <-tick.C:
		}
	}
}

func (d *Deployment) scaleResource(in *instance) journal.Resource {
	return journal.Resource{ID: d.cfg.RunID + "-kubernetes-scale-" + in.id, RunID: d.cfg.RunID, Created: time.Now().UTC(),
		Undo: journal.Undo{Kind: UndoScale, Ref: d.ref(map[string]string{"statefulset": in.id, "replicas": "1"}),
			Detail: fmt.Sprintf("statefulset %s/%s scaled to 0 by a kill", d.obj.ns, in.id)}}
}

// scaleDown journals the undo, then scales the instance's StatefulSet to 0.
func (d *Deployment) scaleDown(ctx context.Context, in *instance) error {
	if j := d.cfg.Journal; j != nil {
		if err := j.WriteResource(d.scaleResource(in)); err != nil {
			return err
		}
	}
	in.mu.Lock()
	in.scaledDown = true
	in.downGen++
	gen := in.downGen
	in.mu.Unlock()
	if err := d.scale(ctx, in.id, 0); err != nil {
		in.mu.Lock()
		if in.downGen == gen {
			in.scaledDown = false
		}
		in.mu.Unlock()
		if j := d.cfg.Journal; j != nil {
			_ = j.ClearResource(d.scaleResource(in).ID)
		}
		return err
	}
	return nil
}

// scale sets the replicas of the run's StatefulSet name (checked by labels).
func (d *Deployment) scale(ctx context.Context, name string, replicas int32) error {
	return scaleStatefulSet(ctx, d.cs, d.obj.ns, d.obj.label, name, replicas)
}

// restartAfter scales the instance back up after delay (or at Restart, or
// never once the deployment closes); the goroutine is the deployment's.
func (d *Deployment) restartAfter(in *instance, delay time.Duration) {
	ctx, cancel := context.WithCancel(d.ctx)
	pr := &pendingRestart{cancel: cancel}
	in.mu.Lock()
	if in.pending != nil {
		in.pending.cancel()
	}
	in.pending = pr
	in.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		in.mu.Lock()
		mine := in.pending == pr
		if mine {
			in.pending = nil
		}
		in.mu.Unlock()
		if !mine {
			return
		}
		wctx, wcancel := context.WithTimeout(ctx, d.cfg.ReadyTimeout)
		defer wcancel()
		if err := d.scaleUp(wctx, in); err != nil && ctx.Err() == nil {
			d.log.Error("kubernetes: restart after kill", "instance", in.id, "err", err)
		}
	}()
}

// scaleUp scales a scaled-down instance back to 1, waits until its new pod
// is up and its callers reach it (its Service's new endpoint programmed),
// and clears the journal's undo.
//
// A kill that scales the instance down again meanwhile wins: this scale-up
// then leaves its state and journal record alone.
func (d *Deployment) scaleUp(ctx context.Context, in *instance) error {
	in.mu.Lock()
	gen := in.downGen
	in.mu.Unlock()
	if err := d.scale(ctx, in.id, 1); err != nil {
		return err
	}
	in.mu.Lock()
	if in.downGen == gen {
		in.scaledDown = false
	}
	in.mu.Unlock()
	if err := in.waitUp(ctx, ""); err != nil {
		return err
	}
	killedAgain := func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return in.downGen != gen
	}
	if err := d.waitWired(ctx, func(id string) bool { return id == in.id }, killedAgain); err != nil {
		return err
	}
	in.mu.Lock()
	mine := in.downGen == gen
	in.mu.Unlock()
	if j := d.cfg.Journal; j != nil && mine {
		return j.ClearResource(d.scaleResource(in).ID)
	}
	return nil
}

// Restart implements faults.ProcessRuntime: an instance a kill scaled to 0
// is scaled back to 1 now (a pending delayed restart is brought forward)
// and Restart returns once its new pod is ready; an instance that is not
// scaled down is left alone (the StatefulSet controller brings back a pod
// deleted without scaling).
func (d *Deployment) Restart(ctx context.Context, fi faults.Instance) error {
	in, err := d.instance(fi.ID)
	if err != nil {
		return err
	}
	in.mu.Lock()
	down := in.scaledDown
	if in.pending != nil {
		in.pending.cancel()
		in.pending = nil
	}
	in.mu.Unlock()
	if !down || d.isClosing() {
		return nil
	}
	if err := d.scaleUp(ctx, in); err != nil {
		return fmt.Errorf("restart %s: %w", fi.ID, err)
	}
	return nil
}

// Edges implements faults.LinkRuntime: every call edge, client → gateway
// first.
func (d *Deployment) Edges() []faults.Edge { return d.graph.Edges() }

// Links implements faults.LinkRuntime: for an edge between services, one
// link per caller instance and callee instance (the caller's sidecar edge
// "caller->callee-j", driven through its admin API over the caller's
// port-forward); for the load generator's edge, the local client proxy of
// each gateway instance.
func (d *Deployment) Links(to, from string) ([]faults.Link, error) {
	return fleet.Links(d.graph, d.links, to, from)
}

// SetHTTPFault implements faults.HTTPRuntime through the instance's admin
// API (on its control address), after checking that the pod is the run's.
func (d *Deployment) SetHTTPFault(ctx context.Context, fi faults.Instance, f faults.HTTPFault) (string, error) {
	in, err := d.instance(fi.ID)
	if err != nil {
		return "", err
	}
	t := in.up()
	if t == nil || string(t.uid) != fi.Ref {
		return "", fmt.Errorf("%s (pod %s) is no longer running", fi.ID, fi.Ref)
	}
	if _, err := d.ownedPod(ctx, podName(in.id), t.uid); err != nil {
		return "", err
	}
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return "", err
	}
	return fleet.SetHTTPFault(ctx, base, d.cfg.AdminToken, fi.ID, f)
}

// ClearHTTPFault implements faults.HTTPRuntime. A pod that is gone took its
// faults with it (they live in its memory): clearing succeeds.
func (d *Deployment) ClearHTTPFault(ctx context.Context, fi faults.Instance, id string) error {
	in, err := d.instance(fi.ID)
	if err != nil {
		return err
	}
	t := in.current()
	if t == nil || string(t.uid) != fi.Ref {
		return nil
	}
	base, err := d.AdminURL(fi.ID)
	if err != nil {
		return err
	}
	return fleet.ClearHTTPFault(ctx, base, d.cfg.AdminToken, fi.ID, id)
}

// sidecarLink is one edge of a caller instance's sidecar proxy. It keeps
// the toxics it added, so that a replaced pod (a kill, a crash) gets them
// again: a fault stays in force across restarts, as on the other runtimes.
type sidecarLink struct {
	in    *instance
	name  string // "orders->payment-0"
	token string

	mu     sync.Mutex
	next   int
	active map[string]*activeToxic
}

type activeToxic struct {
	toxic    proxy.Toxic
	uid      types.UID // the pod it is on ("" none yet)
	remoteID string
}

var _ faults.Link = (*sidecarLink)(nil)

func (l *sidecarLink) remote(t *tunnel) *proxy.Remote {
	return &proxy.Remote{URL: "http://sidecar/edges/" + url.PathEscape(l.name), Token: l.token, Client: t.adminHTTP()}
}

// AddToxic implements faults.Link on the current pod's sidecar.
func (l *sidecarLink) AddToxic(ctx context.Context, tx proxy.Toxic) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.in.current()
	var rid string
	for {
		if t == nil {
			return "", fmt.Errorf("edge %s: %s has no running pod", l.name, l.in.id)
		}
		var err error
		if rid, err = l.remote(t).AddToxic(ctx, tx); err == nil {
			break
		}
		if !errors.Is(err, errStuck) {
			return "", fmt.Errorf("edge %s of pod %s: %w", l.name, t.pod, err)
		}
		l.in.kick()
		if t, err = l.in.nextTunnel(ctx, t); err != nil {
			return "", fmt.Errorf("edge %s: %w", l.name, err)
		}
	}
	l.next++
	id := fmt.Sprintf("k%d", l.next)
	l.active[id] = &activeToxic{toxic: tx, uid: t.uid, remoteID: rid}
	return id, nil
}

// RemoveToxic implements faults.Link; an unknown id is not an error, nor is
// a pod that is gone (its toxics went with it).
func (l *sidecarLink) RemoveToxic(ctx context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.active[id]
	if a == nil {
		return nil
	}
	delete(l.active, id)
	t := l.in.current()
	if t == nil || t.uid != a.uid {
		return nil
	}
	if err := l.remote(t).RemoveToxic(ctx, a.remoteID); err != nil {
		return fmt.Errorf("edge %s of pod %s: %w", l.name, t.pod, err)
	}
	return nil
}

// reapply puts every active toxic not yet on the pod of t on it.
func (l *sidecarLink) reapply(ctx context.Context, t *tunnel) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.active {
		if a.uid == t.uid {
			continue
		}
		rid, err := l.remote(t).AddToxic(ctx, a.toxic)
		if err != nil {
			return err
		}
		a.uid, a.remoteID = t.uid, rid
	}
	return nil
}

// toxics counts the active toxics (tests).
func (l *sidecarLink) toxics() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.active)
}
