package kubernetes

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/gameday/gameday/journal"
)

// Recoverer is the runtime's journal.Handler: it removes what a crashed run
// left on its cluster, without the harness that made it. Namespaces are
// found by the run's labels, never by name alone; a StatefulSet is scaled
// only if its labels and namespace are the run's.
type Recoverer struct {
	// Connect returns a client for a record's cluster; nil: Connect (the
	// kubeconfig and context of the record).
	Connect func(ClusterRef) (kubernetes.Interface, error)
	// Wait bounds the wait until a deleted namespace is gone (default 2m).
	Wait time.Duration

	mu      sync.Mutex
	clients map[ClusterRef]kubernetes.Interface
}

var _ journal.Handler = (*Recoverer)(nil)

// Handles implements journal.Handler.
func (r *Recoverer) Handles(k journal.Kind) bool { return k == UndoNamespace || k == UndoScale }

func (r *Recoverer) client(ref ClusterRef) (kubernetes.Interface, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.clients[ref]; c != nil {
		return c, nil
	}
	var c kubernetes.Interface
	var err error
	if r.Connect != nil {
		c, err = r.Connect(ref)
	} else {
		c, _, err = Connect(ref)
	}
	if err != nil {
		return nil, err
	}
	if r.clients == nil {
		r.clients = map[ClusterRef]kubernetes.Interface{}
	}
	r.clients[ref] = c
	return c, nil
}

// Undo implements journal.Handler: it deletes the run's namespaces (by
// label) or scales a killed instance's StatefulSet back, and says what it
// did. An unreachable cluster is an error: the record is kept.
func (r *Recoverer) Undo(ctx context.Context, runID string, u journal.Undo) ([]string, error) {
	label := RunLabel(runID)
	if run := u.Ref["run"]; run != label {
		return nil, fmt.Errorf("%s: record of run label %q filed under run %q (label %q)", u.Detail, run, runID, label)
	}
	cs, err := r.client(ClusterRef{Kubeconfig: u.Ref["kubeconfig"], Context: u.Ref["context"]})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.Detail, err)
	}
	switch u.Kind {
	case UndoNamespace:
		wait := r.Wait
		if wait <= 0 {
			wait = 2 * time.Minute
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		lines, err := deleteRunNamespaces(wctx, cs, label, u.Ref["namespace"], true)
		if err == nil && len(lines) == 0 {
			lines = []string{fmt.Sprintf("run %s: no namespace labelled %s=%s left", runID, LabelRun, label)}
		}
		return lines, err
	case UndoScale:
		return r.rescale(ctx, cs, label, u)
	}
	return nil, fmt.Errorf("kubernetes recovery: unknown undo kind %q", u.Kind)
}

func (r *Recoverer) rescale(ctx context.Context, cs kubernetes.Interface, label string, u journal.Undo) ([]string, error) {
	ns, name := u.Ref["namespace"], u.Ref["statefulset"]
	n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return []string{fmt.Sprintf("namespace %s is gone: statefulset %s went with it", ns, name)}, nil
	case err != nil:
		return nil, fmt.Errorf("namespace %s: %w", ns, err)
	case n.DeletionTimestamp != nil:
		return []string{fmt.Sprintf("namespace %s is being deleted: statefulset %s goes with it", ns, name)}, nil
	case n.Labels[LabelRun] != label || n.Labels[LabelManagedBy] != ManagedBy:
		return []string{fmt.Sprintf("left namespace %s alone: not labelled as run %s's", ns, label)}, nil
	}
	replicas, err := strconv.Atoi(u.Ref["replicas"])
	if err != nil || replicas < 0 {
		return nil, fmt.Errorf("%s: replicas %q", u.Detail, u.Ref["replicas"])
	}
	if err := scaleStatefulSet(ctx, cs, ns, label, name, int32(replicas)); err != nil {
		if apierrors.IsNotFound(err) {
			return []string{fmt.Sprintf("statefulset %s/%s is gone: nothing to scale", ns, name)}, nil
		}
		return nil, err
	}
	return []string{fmt.Sprintf("scaled statefulset %s/%s back to %d (%s)", ns, name, replicas, u.Detail)}, nil
}

// scaleStatefulSet sets the replicas of StatefulSet name in ns if it carries
// the run's labels (retrying on update conflicts).
func scaleStatefulSet(ctx context.Context, cs kubernetes.Interface, ns, label, name string, replicas int32) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("statefulset %s/%s: %w", ns, name, err)
		}
		if sts.Namespace != ns || sts.Labels[LabelRun] != label || sts.Labels[LabelManagedBy] != ManagedBy {
			return fmt.Errorf("refusing to scale statefulset %s/%s: %w (labels %v)", ns, name, ErrForeign, sts.Labels)
		}
		if sts.Spec.Replicas != nil && *sts.Spec.Replicas == replicas {
			return nil
		}
		sts.Spec.Replicas = &replicas
		_, err = cs.AppsV1().StatefulSets(ns).Update(ctx, sts, metav1.UpdateOptions{})
		return err
	})
}

// deleteRunNamespaces deletes every namespace labelled as the run's (label
// value, managed by gameday), foreground, and, if wait, waits until they are
// gone (bounded by ctx). expected, if set, is the namespace the run was
// given: it is named when found already gone. It never deletes a namespace
// by name alone: the list is by label, and each is checked again.
func deleteRunNamespaces(ctx context.Context, cs kubernetes.Interface, label, expected string, wait bool) ([]string, error) {
	sel := LabelManagedBy + "=" + ManagedBy + "," + LabelRun + "=" + label
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list namespaces of run %s: %w", label, err)
	}
	var lines []string
	var pending []string
	fg := metav1.DeletePropagationForeground
	for _, n := range list.Items {
		if n.Labels[LabelRun] != label || n.Labels[LabelManagedBy] != ManagedBy {
			continue // a client that ignores selectors must not widen the blast radius
		}
		uid := n.UID
		err := cs.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{PropagationPolicy: &fg,
			Preconditions: &metav1.Preconditions{UID: &uid}})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return lines, fmt.Errorf("delete namespace %s: %w", n.Name, err)
		}
		lines = append(lines, fmt.Sprintf("deleted namespace %s (run %s)", n.Name, label))
		pending = append(pending, n.Name)
	}
	if len(list.Items) == 0 && expected != "" {
		lines = append(lines, fmt.Sprintf("namespace %s is gone already", expected))
	}
	if !wait {
		return lines, nil
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 {
		_, err := cs.CoreV1().Namespaces().Get(ctx, pending[0], metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			pending = pending[1:]
			continue
		case err != nil && ctx.Err() == nil:
			return lines, fmt.Errorf("namespace %s: %w", pending[0], err)
		}
		select {
		case <-ctx.Done():
			return lines, fmt.Errorf("namespace %s still terminating: %w", pending[0], ctx.Err())
		case <-tick.C:
		}
	}
	return lines, nil
}
