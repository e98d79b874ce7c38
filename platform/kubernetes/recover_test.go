package kubernetes

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday/gameday/journal"
)

func namespaceObj(name string, lbl map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbl}}
}

func TestRecoveryDeletesOnlyTheRunsNamespaces(t *testing.T) {
	run := "payment-slowdown-20261207T230000Z"
	label := RunLabel(run)
	mine := map[string]string{LabelManagedBy: ManagedBy, LabelRun: label}
	cs := fake.NewClientset(
		namespaceObj(Namespace(run), mine),
		namespaceObj("gameday-extra", mine), // the run's by its labels, whatever its name
		namespaceObj("gameday-other", map[string]string{LabelManagedBy: ManagedBy, LabelRun: "other-run"}),
		namespaceObj("default", nil),
		namespaceObj(Namespace(run)+"-x", map[string]string{LabelRun: label}), // not managed by gameday
	)
	r := &Recoverer{Connect: func(ClusterRef) (kubernetes.Interface, error) { return cs, nil }}
	u := journal.Undo{Kind: UndoNamespace, Ref: map[string]string{"namespace": Namespace(run), "run": label}, Detail: "kubernetes namespace"}
	if !r.Handles(UndoNamespace) || !r.Handles(UndoScale) || r.Handles("docker-run") {
		t.Fatal("Handles")
	}
	lines, err := r.Undo(context.Background(), run, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.Join(lines, "\n"))
	list, _ := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	var left []string
	for _, n := range list.Items {
		left = append(left, n.Name)
	}
	slices.Sort(left)
	if want := []string{"default", "gameday-other", Namespace(run) + "-x"}; !slices.Equal(left, want) {
		t.Errorf("namespaces left %v, want %v", left, want)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "deleted namespace") {
		t.Errorf("lines %q", lines)
	}
	// Idempotent: nothing left, said so.
	lines, err = r.Undo(context.Background(), run, u)
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "gone already") {
		t.Errorf("second undo: %q %v", lines, err)
	}
	// A record filed under another run is refused.
	if _, err := r.Undo(context.Background(), "other-run", u); err == nil {
		t.Error("record of another run: no error")
	}
}

func TestRecoveryScale(t *testing.T) {
	run := "kubernetes-0a1b2c3d4e5f"
	label := RunLabel(run)
	ns := Namespace(run)
	mine := map[string]string{LabelManagedBy: ManagedBy, LabelRun: label}
	zero := int32(0)
	u := journal.Undo{Kind: UndoScale, Ref: map[string]string{"namespace": ns, "run": label, "statefulset": "payment-0", "replicas": "1"}, Detail: "scaled"}

	// Namespace gone: nothing to do.
	cs := fake.NewClientset()
	r := &Recoverer{Connect: func(ClusterRef) (kubernetes.Interface, error) { return cs, nil }}
	lines, err := r.Undo(context.Background(), run, u)
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "is gone") {
		t.Errorf("namespace gone: %q %v", lines, err)
	}
	// Namespace and StatefulSet of the run: scaled back.
	cs = fake.NewClientset(namespaceObj(ns, mine),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payment-0", Labels: mine}, Spec: appsv1.StatefulSetSpec{Replicas: &zero}})
	r = &Recoverer{Connect: func(ClusterRef) (kubernetes.Interface, error) { return cs, nil }}
	if lines, err = r.Undo(context.Background(), run, u); err != nil {
		t.Fatal(err)
	}
	s, _ := cs.AppsV1().StatefulSets(ns).Get(context.Background(), "payment-0", metav1.GetOptions{})
	if *s.Spec.Replicas != 1 {
		t.Errorf("replicas %d after recovery (%q)", *s.Spec.Replicas, lines)
	}
	// A foreign StatefulSet of that name: refused, untouched.
	cs = fake.NewClientset(namespaceObj(ns, mine),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payment-0"}, Spec: appsv1.StatefulSetSpec{Replicas: &zero}})
	r = &Recoverer{Connect: func(ClusterRef) (kubernetes.Interface, error) { return cs, nil }}
	if _, err := r.Undo(context.Background(), run, u); err == nil {
		t.Error("foreign statefulset: no error")
	}
	s, _ = cs.AppsV1().StatefulSets(ns).Get(context.Background(), "payment-0", metav1.GetOptions{})
	if *s.Spec.Replicas != 0 {
		t.Error("foreign statefulset scaled")
	}
}

func TestRecoveryUnreachableKeepsTheRecord(t *testing.T) {
	j, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := "kubernetes-dead"
	u := journal.Undo{Kind: UndoNamespace, Ref: map[string]string{"kubeconfig": "/nonexistent/kubeconfig", "namespace": Namespace(run), "run": RunLabel(run)}, Detail: "kubernetes namespace"}
	if err := j.WriteResource(journal.Resource{ID: run + "-kubernetes", RunID: run, Undo: u}); err != nil {
		t.Fatal(err)
	}
	rec, err := journal.Recover(context.Background(), j, &Recoverer{})
	if err == nil {
		t.Fatalf("no error for an unreachable cluster: %+v", rec)
	}
	if res, _ := j.Resources(); len(res) != 1 {
		t.Errorf("record not kept: %+v", res)
	}
}
