package kubernetes

import (
	"context"
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
)

// fakeDeployment is a deployment of the resilient shop on a fake
// clientset holding objs; no pod, no tunnel, nothing started.
func fakeDeployment(t *testing.T, j *journal.Journal, objs ...runtime.Object) (*Deployment, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	cfg := Config{Spec: shopSpec(t), Client: cs}
	cfg.Journal = j
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	d := newDeployment(cfg)
	t.Cleanup(d.cancel)
	return d, cs
}

// up pretends that the instance's pod uid is current and ready.
func up(d *Deployment, id string, uid types.UID) faults.Instance {
	in := d.byID[id]
	in.mu.Lock()
	in.setTunnelLocked(&tunnel{pod: podName(id), uid: uid})
	in.setReadyLocked(true)
	in.mu.Unlock()
	return faults.Instance{Service: in.service, Index: in.index, ID: id, Ref: string(uid)}
}

func pod(ns, name string, uid types.UID, lbl map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid, Labels: lbl}}
}

func TestKillRefusesWhatIsNotTheRuns(t *testing.T) {
	o := testObjects(t)
	ns, own := o.ns, o.labels(LabelName, "payment", LabelInstance, "payment-0")
	foreign := map[string]string{LabelName: "payment", LabelInstance: "payment-0"} // no run, no managed-by
	other := o.labels(LabelName, "payment", LabelInstance, "payment-0")
	other[LabelRun] = "another-run"
	for name, p := range map[string]*corev1.Pod{
		"no run label":       pod(ns, "payment-0-0", "u1", foreign),
		"another run":        pod(ns, "payment-0-0", "u1", other),
		"replaced (new uid)": pod(ns, "payment-0-0", "u2", own),
	} {
		t.Run(name, func(t *testing.T) {
			d, cs := fakeDeployment(t, nil, p)
			fi := up(d, "payment-0", "u1")
			for _, mode := range []faults.RestartMode{faults.RestartAfterDelay, faults.RestartAtRevert} {
				err := d.Kill(context.Background(), fi, faults.RestartPolicy{Mode: mode})
				if err == nil {
					t.Fatalf("kill (%s) of %v: no error", mode, p.Labels)
				}
				if name != "replaced (new uid)" && !errors.Is(err, ErrForeign) {
					t.Errorf("error %v is not ErrForeign", err)
				}
			}
			if _, err := cs.CoreV1().Pods(ns).Get(context.Background(), "payment-0-0", metav1.GetOptions{}); err != nil {
				t.Errorf("the pod was touched: %v", err)
			}
			if _, err := d.SetHTTPFault(context.Background(), fi, faults.HTTPFault{Status: 503, Percent: 1}); err == nil {
				t.Error("http fault on a foreign pod: no error")
			}
		})
	}
	t.Run("other namespace", func(t *testing.T) {
		p := pod("default", "payment-0-0", "u1", own)
		d, cs := fakeDeployment(t, nil, p)
		fi := up(d, "payment-0", "u1")
		if err := d.Kill(context.Background(), fi, faults.RestartPolicy{Mode: faults.RestartAfterDelay}); err == nil {
			t.Fatal("kill found a pod outside the run's namespace")
		}
		if _, err := cs.CoreV1().Pods("default").Get(context.Background(), "payment-0-0", metav1.GetOptions{}); err != nil {
			t.Errorf("the pod was touched: %v", err)
		}
	})
	t.Run("statefulset without the run label", func(t *testing.T) {
		sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payment-0", Labels: foreign}}
		d, cs := fakeDeployment(t, nil, pod(ns, "payment-0-0", "u1", own), sts)
		fi := up(d, "payment-0", "u1")
		err := d.Kill(context.Background(), fi, faults.RestartPolicy{Mode: faults.RestartNever})
		if !errors.Is(err, ErrForeign) {
			t.Fatalf("kill scaled a foreign statefulset: %v", err)
		}
		got, _ := cs.AppsV1().StatefulSets(ns).Get(context.Background(), "payment-0", metav1.GetOptions{})
		if got.Spec.Replicas != nil {
			t.Errorf("foreign statefulset scaled to %d", *got.Spec.Replicas)
		}
	})
}

func TestKillModes(t *testing.T) {
	o := testObjects(t)
	ns := o.ns
	own := o.labels(LabelName, "payment", LabelInstance, "payment-0")
	one := int32(1)
	sts := func() *appsv1.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payment-0", Labels: own}, Spec: appsv1.StatefulSetSpec{Replicas: &one}}
	}
	replicas := func(cs *fake.Clientset) int32 {
		s, err := cs.AppsV1().StatefulSets(ns).Get(context.Background(), "payment-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *s.Spec.Replicas
	}
	t.Run("delay 0: the controller recreates", func(t *testing.T) {
		d, cs := fakeDeployment(t, nil, pod(ns, "payment-0-0", "u1", own), sts())
		fi := up(d, "payment-0", "u1")
		if err := d.Kill(context.Background(), fi, faults.RestartPolicy{Mode: faults.RestartAfterDelay}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods(ns).Get(context.Background(), "payment-0-0", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("pod not deleted: %v", err)
		}
		if r := replicas(cs); r != 1 {
			t.Errorf("replicas %d", r)
		}
		if l, _ := d.Instances("payment"); len(l) != 0 {
			t.Errorf("killed instance still listed: %v", l)
		}
		var deleteGrace *int64
		for _, a := range cs.Actions() {
			if da, ok := a.(interface{ GetDeleteOptions() metav1.DeleteOptions }); ok && a.GetVerb() == "delete" {
				deleteGrace = da.GetDeleteOptions().GracePeriodSeconds
			}
		}
		if deleteGrace == nil || *deleteGrace != 0 {
			t.Errorf("pod deleted with grace %v, want 0", deleteGrace)
		}
	})
	t.Run("end: scaled to 0, journalled, back at Restart", func(t *testing.T) {
		j, err := journal.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		d, cs := fakeDeployment(t, j, pod(ns, "payment-0-0", "u1", own), sts())
		fi := up(d, "payment-0", "u1")
		if err := d.Kill(context.Background(), fi, faults.RestartPolicy{Mode: faults.RestartAtRevert}); err != nil {
			t.Fatal(err)
		}
		if r := replicas(cs); r != 0 {
			t.Errorf("replicas %d after kill with restart end", r)
		}
		res, _ := j.Resources()
		if len(res) != 1 || res[0].Undo.Kind != UndoScale || res[0].Undo.Ref["statefulset"] != "payment-0" || res[0].Undo.Ref["namespace"] != ns {
			t.Fatalf("journal %+v", res)
		}
		// The pod of the scaled-up StatefulSet comes up (as the informer
		// would report it): Restart returns once it is.
		done := make(chan error, 1)
		go func() { done <- d.Restart(context.Background(), fi) }()
		for replicas(cs) != 1 {
			time.Sleep(time.Millisecond)
		}
		up(d, "payment-0", "u3")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if res, _ := j.Resources(); len(res) != 0 {
			t.Errorf("undo left in the journal after the restart: %+v", res)
		}
		if err := d.Restart(context.Background(), fi); err != nil {
			t.Errorf("restart of a running instance: %v", err)
		}
	})
}
