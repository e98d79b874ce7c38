//go:build kubernetes

package kubernetes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/internal/k8stest"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

// The real tests: `go test -tags kubernetes ./platform/kubernetes/` on a
// machine that can run deploy/kubernetes/testcluster (root, containerd…)
// and has a Docker engine to build the image.

// clusterSpec is the shop of the variant as runner.ShopSpec builds it, with
// its policy file written to the run directory.
func clusterSpec(t *testing.T, variant string, replicas map[string]int) platform.Spec {
	t.Helper()
	v, err := policy.Load(variant)
	if err != nil {
		t.Fatal(err)
	}
	if replicas != nil {
		if v, err = v.Apply(replicas, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	b, err := v.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := platform.Spec{Gateway: sut.Gateway, Variant: v.Name, Policy: pol, RunDir: dir, Seed: 1,
		RunID: fmt.Sprintf("k8stest-%s-%d", variant, time.Now().UnixNano()%1e9)}
	for _, name := range sut.Services() {
		s.Services = append(s.Services, platform.Service{Name: name, Replicas: max(1, v.Replicas(name)), Stateful: sut.Stateful(name)})
	}
	for _, e := range sut.Edges() {
		s.Edges = append(s.Edges, faults.Edge{From: e.From, To: e.To})
	}
	return s
}

// ClusterEnv names a kubeconfig whose current context the real tests use
// instead of gameday's own test cluster (a kind cluster, a cloud cluster):
// the image (DefaultImage) must be in its nodes already, for example with
// `kind load docker-image gameday/sut:dev`.
const ClusterEnv = "GAMEDAY_TEST_KUBECONFIG"

type testCluster struct {
	Kubeconfig string
	cs         kubernetes.Interface
	own        *k8stest.Cluster // nil with $GAMEDAY_TEST_KUBECONFIG
}

func requireCluster(t *testing.T) testCluster {
	t.Helper()
	if kc := os.Getenv(ClusterEnv); kc != "" {
		cs, _, err := Connect(ClusterRef{Kubeconfig: kc})
		if err != nil {
			t.Fatalf("$%s: %v", ClusterEnv, err)
		}
		return testCluster{Kubeconfig: kc, cs: cs}
	}
	c := k8stest.Require(t)
	dockertest.Images(t, "sut")
	c.ImportImage(t, DefaultImage)
	return testCluster{Kubeconfig: c.Kubeconfig, cs: c.Clientset(t), own: c}
}

// Namespace is a namespace of the test's own, deleted when it ends.
func (c testCluster) Namespace(t *testing.T, prefix string) string {
	t.Helper()
	if c.own != nil {
		return c.own.Namespace(t, prefix)
	}
	ns, err := c.cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_ = c.cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		for ctx.Err() == nil {
			if _, err := c.cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("namespace %s not gone", ns.Name)
	})
	for range 100 { // pods are refused until its default ServiceAccount exists
		if _, err := c.cs.CoreV1().ServiceAccounts(ns.Name).Get(t.Context(), "default", metav1.GetOptions{}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ns.Name
}

// deploy starts the spec on the cluster with a journal of the test's own;
// Close runs at the end of the test (and must leave no namespace).
func (c testCluster) deploy(t *testing.T, s platform.Spec) (*Deployment, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Journal = j
	s.Settings.Kubeconfig = c.Kubeconfig
	s.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	d, err := Start(ctx, Config{Spec: s})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	t.Logf("%d instances ready after %s in namespace %s", len(d.all), time.Since(start).Round(10*time.Millisecond), d.Namespace())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		t.Logf("closed in %s", time.Since(start).Round(10*time.Millisecond))
		c.noNamespaceOf(t, d)
		if res, _ := j.Resources(); len(res) != 0 {
			t.Errorf("journal records left after Close: %+v", res)
		}
	})
	return d, j
}

func (c testCluster) noNamespaceOf(t *testing.T, d *Deployment) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.cs.CoreV1().Namespaces().Get(ctx, d.Namespace(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s still there: %v", d.Namespace(), err)
	}
	l, err := c.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: d.obj.runSelector()})
	if err != nil || len(l.Items) != 0 {
		t.Errorf("namespaces of the run left: %v %v", l, err)
	}
}

func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), nil
}

// TestClusterShop deploys the resilient shop and, on that one deployment
// (a deploy costs the 2-core machine half a minute): the gateway answers,
// every metrics target is scraped, a 50 ms latency on orders→payment moves
// that edge by 50 ms, an http-abort answers 503, kills in every restart
// mode leave a foreign Deployment (in the run's namespace without the run's
// label, and in another namespace) untouched, and Close leaves nothing.
func TestClusterShop(t *testing.T) {
	c := requireCluster(t)
	foreignNS := c.Namespace(t, "gd-foreign")
	d, _ := c.deploy(t, clusterSpec(t, "resilient", nil))
	ctx := t.Context()

	t.Run("products", func(t *testing.T) {
		for _, u := range d.GatewayURLs() {
			code, body, err := get(ctx, u+"/api/products")
			if err != nil || code != 200 {
				t.Fatalf("GET %s/api/products: %d %v %.200s", u, code, err, body)
			}
		}
		for _, s := range d.cfg.Services {
			l, err := d.Instances(s.Name)
			if err != nil || len(l) != s.Replicas {
				t.Errorf("%s: %d instances up, want %d (%v)", s.Name, len(l), s.Replicas, err)
			}
		}
	})

	t.Run("restarts", func(t *testing.T) {
		pods, err := c.cs.CoreV1().Pods(d.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: d.obj.runSelector()})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			for _, st := range p.Status.ContainerStatuses {
				if st.RestartCount > 0 {
					t.Errorf("pod %s restarted: %s", p.Name, describePod(&p))
				}
			}
		}
	})

	t.Run("targets", func(t *testing.T) {
		var jobs []string
		for _, tg := range d.Targets() {
			code, body, err := get(ctx, tg.URL)
			if err != nil || code != 200 {
				t.Errorf("scrape %s %s: %d %v", tg.Job, tg.URL, code, err)
				continue
			}
			want := "shop_"
			if tg.Job == ProxyJob {
				want = "gameday_proxy_"
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s (%s): no %s series", tg.Instance, tg.Job, want)
			}
			jobs = append(jobs, tg.Job)
		}
		if !slices.Contains(jobs, ProxyJob) || !slices.Contains(jobs, "payment") {
			t.Errorf("jobs %v", jobs)
		}
	})

	t.Run("latency", func(t *testing.T) { testLatency(t, d) })
	t.Run("http-abort", func(t *testing.T) { testHTTPAbort(t, d) })
	t.Run("kill", func(t *testing.T) { testKills(t, c, d, foreignNS) })
}

// edgeClient is an HTTP client whose connections go to 127.0.0.1:port
// inside the caller instance's pod (its sidecar's edge listener), through
// the instance's port-forward: the edge as the caller's shop sees it.
func edgeClient(in *instance, port int) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			t := in.current()
			if t == nil {
				return nil, fmt.Errorf("%s down", in.id)
			}
			return t.dial(ctx, port)
		}}}
}

// p50 times n sequential GET /healthz through the edge (keep-alive, after a
// warm-up) and returns the median.
func p50(t *testing.T, c *http.Client, n int) time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := range n + 5 {
		start := time.Now()
		resp, err := c.Get("http://edge/healthz")
		if err != nil {
			t.Fatalf("edge: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i >= 5 {
			ds = append(ds, time.Since(start))
		}
	}
	sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
	return ds[len(ds)/2]
}

// testLatency measures the edge orders-0 → payment-0 itself: requests to
// its listener in orders-0's pod (127.0.0.1:PORT, the address orders-0's
// shop calls) through the harness's port-forward. The port-forward's own
// cost is in both medians and cancels out; the shop's retries, hedging and
// load balancing (which a measurement through the gateway would include)
// do not enter.
func testLatency(t *testing.T, d *Deployment) {
	ctx := t.Context()
	orders := d.byID["orders-0"]
	port := 0
	for _, ep := range d.obj.edges("orders") {
		if ep.Name == "orders->payment-0" {
			port = ep.Port
		}
	}
	c := edgeClient(orders, port)
	before := p50(t, c, 50)
	f, err := faults.New(faults.Spec{Name: "slow-payment", Type: "latency", Target: faults.Target{Service: "payment", From: "orders"},
		Params: map[string]string{"delay": "50ms", "direction": "upstream"}, Seed: 1}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	during := p50(t, c, 50)
	if err := f.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	after := p50(t, c, 50)
	t.Logf("orders-0 → payment-0 p50: %s → %s (+%s) → %s after the revert",
		before.Round(10*time.Microsecond), during.Round(10*time.Microsecond), (during - before).Round(10*time.Microsecond), after.Round(10*time.Microsecond))
	if delta := during - before; delta < 45*time.Millisecond || delta > 55*time.Millisecond {
		t.Errorf("latency moved the edge's p50 by %s, want 50 ± 5 ms", delta)
	}
	if after > before+5*time.Millisecond {
		t.Errorf("after the revert p50 %s, before %s", after, before)
	}
	// Another edge is untouched while the fault is active.
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Revert(context.Background())
	inv := 0
	for _, ep := range d.obj.edges("orders") {
		if ep.Name == "orders->inventory-0" {
			inv = ep.Port
		}
	}
	if other := p50(t, edgeClient(orders, inv), 30); other > before+10*time.Millisecond {
		t.Errorf("orders → inventory p50 %s during a payment latency", other)
	}
}

func testHTTPAbort(t *testing.T, d *Deployment) {
	ctx := t.Context()
	f, err := faults.New(faults.Spec{Name: "abort-list", Type: "http-abort", Target: faults.Target{Service: "gateway", Instances: "all"},
		Params: map[string]string{"status": "503", "operation": "list_products"}, Seed: 1}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	code, body, err := get(ctx, d.GatewayURL()+"/api/products")
	if err != nil || code != 503 {
		t.Errorf("during http-abort: %d %v %.100s", code, err, body)
	}
	if err := f.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _, err := get(ctx, d.GatewayURL()+"/api/products"); err != nil || code != 200 {
		t.Errorf("after the revert: %d %v", code, err)
	}
}

// foreign creates a Deployment of the shop's image in ns whose pod carries
// payment's name and instance labels but not the run's, and waits until it
// is ready.
func foreign(t *testing.T, cs kubernetes.Interface, ns string) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	lbl := map[string]string{LabelName: "payment", LabelInstance: "payment-0", "test": "foreign"}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "payment-0", Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "shop", Image: DefaultImage, ImagePullPolicy: corev1.PullNever,
					Args: []string{"serve", "--service", "payment", "--listen", "0.0.0.0:8080", "--variant", "naive", "--data", "/data"}}}}}}}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "test=foreign"})
		if err == nil && len(l.Items) == 1 && podReady(&l.Items[0]) {
			return &l.Items[0]
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("foreign pod in %s not ready", ns)
	return nil
}

// backUp waits until the instance is up on a pod other than old and
// answers /readyz through its stable address, and returns when.
func backUp(t *testing.T, d *Deployment, id string, old string, timeout time.Duration) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	in := d.byID[id]
	if err := in.waitUp(ctx, typesUID(old)); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	base, _ := d.AdminURL(id)
	for {
		if code, _, err := get(ctx, base+"/readyz"); err == nil && code == 200 {
			return time.Now()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s up but /readyz does not answer", id)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func testKills(t *testing.T, c testCluster, d *Deployment, otherNS string) {
	ctx := t.Context()
	inRun := foreign(t, c.cs, d.Namespace())
	inOther := foreign(t, c.cs, otherNS)
	if l, _ := d.Instances("payment"); slices.ContainsFunc(l, func(i faults.Instance) bool {
		return i.Ref == string(inRun.UID) || i.Ref == string(inOther.UID)
	}) {
		t.Fatalf("a foreign pod is listed as an instance: %v", l)
	}
	pick := func() faults.Instance {
		l, err := d.Instances("payment")
		if err != nil || len(l) == 0 {
			t.Fatalf("payment instances: %v %v", l, err)
		}
		return l[0]
	}
	for _, tc := range []struct {
		name string
		pol  faults.RestartPolicy
	}{
		{"delay 0s", faults.RestartPolicy{Mode: faults.RestartAfterDelay}},
		{"delay 2s", faults.RestartPolicy{Mode: faults.RestartAfterDelay, Delay: 2 * time.Second}},
		{"end", faults.RestartPolicy{Mode: faults.RestartAtRevert}},
		{"never", faults.RestartPolicy{Mode: faults.RestartNever}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi := pick()
			start := time.Now()
			if err := d.Kill(ctx, fi, tc.pol); err != nil {
				t.Fatal(err)
			}
			killed := time.Since(start)
			if l, _ := d.Instances("payment"); slices.ContainsFunc(l, func(i faults.Instance) bool { return i.ID == fi.ID }) {
				t.Errorf("%s listed right after the kill", fi.ID)
			}
			switch tc.pol.Mode {
			case faults.RestartAfterDelay:
				at := backUp(t, d, fi.ID, fi.Ref, 2*time.Minute)
				t.Logf("kill (%s) of %s: pod deleted in %s, a new pod serves %s after the kill",
					tc.name, fi.ID, killed.Round(time.Millisecond), at.Sub(start).Round(time.Millisecond))
				if at.Sub(start) < tc.pol.Delay {
					t.Errorf("back before the delay")
				}
			default:
				time.Sleep(3 * time.Second)
				if d.byID[fi.ID].isUp() {
					t.Fatalf("%s up again with restart %s", fi.ID, tc.pol.Mode)
				}
				p, err := c.cs.CoreV1().Pods(d.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + fi.ID + "," + LabelRun + "=" + d.obj.label})
				if err != nil || len(p.Items) != 0 {
					t.Errorf("pods of %s while it should be down: %d %v", fi.ID, len(p.Items), err)
				}
				rs := time.Now()
				rctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				if err := d.Restart(rctx, fi); err != nil {
					dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					t.Fatalf("%v\nstatus %+v\n%v", err, d.Status(), d.diagnose(dctx, d.byID[fi.ID]))
				}
				at := backUp(t, d, fi.ID, fi.Ref, 2*time.Minute)
				t.Logf("kill (%s) of %s: pod deleted in %s, Restart returned after %s, serving %s after the Restart",
					tc.name, fi.ID, killed.Round(time.Millisecond), time.Since(rs).Round(time.Millisecond), at.Sub(rs).Round(time.Millisecond))
			}
			// The deployment is as it was: every instance up, the
			// StatefulSet at 1 replica, the gateway answers.
			sts, err := c.cs.AppsV1().StatefulSets(d.Namespace()).Get(ctx, fi.ID, metav1.GetOptions{})
			if err != nil || *sts.Spec.Replicas != 1 {
				t.Errorf("statefulset %s: %v", fi.ID, err)
			}
			if code, _, err := get(ctx, d.GatewayURL()+"/api/products"); err != nil || code != 200 {
				t.Errorf("gateway after the kill: %d %v", code, err)
			}
		})
	}
	for _, p := range []*corev1.Pod{inRun, inOther} {
		got, err := c.cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		switch {
		case err != nil:
			t.Errorf("foreign pod %s/%s: %v", p.Namespace, p.Name, err)
		case got.UID != p.UID || got.DeletionTimestamp != nil || got.Status.ContainerStatuses[0].RestartCount != 0:
			t.Errorf("foreign pod %s/%s touched: uid %s (was %s), deleting %v, %s", p.Namespace, p.Name, got.UID, p.UID, got.DeletionTimestamp, describePod(got))
		}
	}
}

// TestClusterCrashRecovery: a deployment whose harness dies (nothing
// closed, the run's journal lock released) is removed by the recovery
// handler from the journal alone, and only it.
func TestClusterCrashRecovery(t *testing.T) {
	c := requireCluster(t)
	s := clusterSpec(t, "naive", nil)
	j, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Journal, s.Settings.Kubeconfig = j, c.Kubeconfig
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	d, err := Start(ctx, Config{Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	// A kill with restart "never" leaves a kubernetes.scale record too.
	l, _ := d.Instances("payment")
	if err := d.Kill(ctx, l[0], faults.RestartPolicy{Mode: faults.RestartNever}); err != nil {
		t.Fatal(err)
	}
	abandon(d)
	res, _ := j.Resources()
	if len(res) != 2 {
		t.Fatalf("journal: %+v", res)
	}
	start := time.Now()
	rec, err := journal.Recover(ctx, j, &Recoverer{})
	if err != nil {
		t.Fatalf("recover: %v (%+v)", err, rec)
	}
	t.Logf("recovered in %s:\nfound %s\ndid   %s", time.Since(start).Round(10*time.Millisecond),
		strings.Join(rec.Found, "\nfound "), strings.Join(rec.Done, "\ndid   "))
	c.noNamespaceOf(t, d)
	if res, _ := j.Resources(); len(res) != 0 {
		t.Errorf("records left: %+v", res)
	}
}

// abandon drops the deployment as a dead harness would: its goroutines,
// port-forwards and local listeners end, nothing in the cluster is
// touched, the journal's run lock is released.
func abandon(d *Deployment) {
	d.mu.Lock()
	d.closing = true
	d.mu.Unlock()
	for _, in := range d.all {
		for _, px := range []*proxy.Proxy{in.client, in.ctl, in.admin} {
			if px != nil {
				px.Close()
			}
		}
	}
	d.cancel()
	d.factory.Shutdown()
	d.wg.Wait()
	for _, in := range d.all {
		in.dropTunnel()
	}
	_ = d.cfg.Journal.EndRun(d.cfg.RunID)
}

// testLog writes the runtime's log lines to the test's log.
type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func typesUID(s string) types.UID { return types.UID(s) }
