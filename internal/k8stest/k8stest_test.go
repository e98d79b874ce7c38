//go:build kubernetes

package k8stest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/internal/k8stest"
)

const sutImage = "gameday/sut:dev"

// TestCluster proves the test cluster does what gameday's tests need: a pod
// of the shop's image (imported from Docker, never pulled) becomes Ready
// through its readiness probe and answers through a port-forward; a pod
// reaches another through a ClusterIP Service on the same node (kube-proxy);
// a StatefulSet replaces a deleted pod.
func TestCluster(t *testing.T) {
	c := k8stest.Require(t)
	dockertest.Images(t, "sut")
	c.ImportImage(t, sutImage)
	cs := c.Clientset(t)
	ns := c.Namespace(t, "k8stest-")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// A catalog pod (no inventory: its products say badge "unknown").
	created := time.Now()
	catalog := shopPod("catalog", "catalog", "--upstream", "inventory=127.0.0.1:1")
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, catalog, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running, ready := waitPod(ctx, t, cs, ns, "catalog", "")
	t.Logf("catalog pod: Running %.2f s, Ready %.2f s after its creation",
		running.Sub(created).Seconds(), ready.Sub(created).Seconds())

	addr := c.PortForward(t, ns, "catalog", 8080)
	body := get(t, "http://"+addr+"/healthz", 10*time.Second)
	t.Logf("port-forward %s -> catalog:8080: GET /healthz: %s", addr, strings.TrimSpace(body))
	logs, err := cs.CoreV1().Pods(ns).GetLogs("catalog", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(logs), "msg=serving") {
		t.Fatalf("logs of the catalog pod (apiserver -> kubelet): %v: %s", err, logs)
	}

	// The gateway reaches the catalog through its Service's ClusterIP:
	// pod -> ClusterIP (kube-proxy's DNAT) -> pod on the same bridge.
	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "catalog"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "catalog"},
			Ports:    []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	upstream := fmt.Sprintf("catalog=http://%s:8080", svc.Spec.ClusterIP)
	gateway := shopPod("gateway", "gateway", "--upstream", upstream,
		"--upstream", "cart=127.0.0.1:1", "--upstream", "orders=127.0.0.1:1", "--data", "/data")
	gateway.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	gateway.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(ctx, t, cs, ns, "gateway", "")
	gw := c.PortForward(t, ns, "gateway", 8080)
	begin := time.Now()
	body = get(t, "http://"+gw+"/api/products", 60*time.Second)
	var products struct {
		Products []struct {
			SKU   string `json:"sku"`
			Badge string `json:"badge"`
		} `json:"products"`
	}
	if err := json.Unmarshal([]byte(body), &products); err != nil || len(products.Products) == 0 {
		t.Fatalf("GET /api/products through the gateway: %v: %s", err, body)
	}
	t.Logf("gateway -> %s (ClusterIP) -> catalog pod: %d products (first answer after %.2f s)",
		upstream, len(products.Products), time.Since(begin).Seconds())

	// Hairpin: a pod reaches itself through its own Service (its gateway
	// container calls its catalog container through the ClusterIP).
	hp, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hairpin"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "hairpin"},
			Ports:    []corev1.ServicePort{{Port: 8081, TargetPort: intstr.FromInt32(8081)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hairpin := shopPod("hairpin", "gateway", "--upstream", fmt.Sprintf("catalog=http://%s:8081", hp.Spec.ClusterIP),
		"--upstream", "cart=127.0.0.1:1", "--upstream", "orders=127.0.0.1:1", "--data", "/data")
	hairpin.Spec.Volumes = gateway.Spec.Volumes
	hairpin.Spec.Containers[0].VolumeMounts = gateway.Spec.Containers[0].VolumeMounts
	side := shopPod("", "catalog", "--upstream", "inventory=127.0.0.1:1").Spec.Containers[0]
	side.Name = "catalog"
	side.Command = slices.Replace(side.Command, 5, 6, "0.0.0.0:8081")
	side.Ports = []corev1.ContainerPort{{ContainerPort: 8081}}
	side.ReadinessProbe.HTTPGet.Port = intstr.FromInt32(8081)
	hairpin.Spec.Containers = append(hairpin.Spec.Containers, side)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, hairpin, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(ctx, t, cs, ns, "hairpin", "")
	body = get(t, "http://"+c.PortForward(t, ns, "hairpin", 8080)+"/api/products", 60*time.Second)
	if !strings.Contains(body, `"sku":"A1"`) {
		t.Fatalf("GET /api/products through the hairpin pod's gateway: %s", body)
	}
	t.Logf("hairpin: pod -> its own Service %s:8081 -> itself: ok", hp.Spec.ClusterIP)

	// A StatefulSet brings a deleted pod back.
	replicas := int32(1)
	labels := map[string]string{"app": "store"}
	tmpl := shopPod("", "catalog", "--upstream", "inventory=127.0.0.1:1")
	tmpl.Labels = labels
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "store"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  labels,
			Ports:     []corev1.ServicePort{{Port: 8080}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = cs.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "store"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "store",
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template:    corev1.PodTemplateSpec{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitPod(ctx, t, cs, ns, "store-0", "")
	old, err := cs.CoreV1().Pods(ns).Get(ctx, "store-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "store-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	running, ready = waitPod(ctx, t, cs, ns, "store-0", old.UID)
	t.Logf("StatefulSet pod store-0 deleted: its replacement Running %.2f s, Ready %.2f s after the delete",
		running.Sub(deleted).Seconds(), ready.Sub(deleted).Seconds())
}

// shopPod is a pod running one service of the shop on 0.0.0.0:8080, Ready
// once /readyz answers 200.
func shopPod(name, service string, args ...string) *corev1.Pod {
	grace := int64(2)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name:            "sut",
				Image:           sutImage,
				ImagePullPolicy: corev1.PullNever,
				// (index 5 is the listen address)
				Command: append([]string{"/sut", "serve", "--service", service, "--listen", "0.0.0.0:8080"}, args...),
				Ports:   []corev1.ContainerPort{{ContainerPort: 8080, Name: "http"}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
}

// waitPod waits until pod name (a different one than notUID, when given) is
// Running and Ready, and returns when it was first seen each way. It fails
// t with the pod's status and events when that takes too long.
func waitPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, notUID types.UID) (running, ready time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last *corev1.Pod
	for {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.UID != notUID && p.DeletionTimestamp == nil {
			last = p
			if p.Status.Phase == corev1.PodRunning && running.IsZero() {
				running = time.Now()
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && !running.IsZero() {
					return running, time.Now()
				}
			}
		}
		select {
		case <-ctx.Done():
			events, _ := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
			var ev []string
			for _, e := range events.Items {
				if e.InvolvedObject.Name == name {
					ev = append(ev, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message))
				}
			}
			status := "never seen"
			if last != nil {
				b, _ := json.Marshal(last.Status)
				status = string(b)
			}
			t.Fatalf("pod %s/%s not Ready in time (last error %v): status %s\nevents:\n%s", ns, name, err, status, strings.Join(ev, "\n"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// get GETs url until it answers 200 or the time is up, and returns the body.
func get(t *testing.T, url string, within time.Duration) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(within)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return string(body)
			}
			err = fmt.Errorf("%s: %s", resp.Status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
