package kubernetes

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

// shopSpec is the shop's topology with the resilient variant's replicas
// (as runner.ShopSpec builds it; the runner is above the platform).
func shopSpec(t *testing.T) platform.Spec {
	t.Helper()
	s := platform.Spec{Gateway: "gateway", Variant: "resilient", RunDir: t.TempDir(), RunID: "payment-slowdown-20261207T230000Z",
		AdminToken: "tok", StopGrace: 3 * time.Second, Settings: platform.Settings{Env: []string{"GAMEDAY_SHOP_HTTP=net/http", "GOMAXPROCS=2"}}}
	for _, sv := range []platform.Service{{Name: "gateway", Replicas: 1}, {Name: "catalog", Replicas: 2}, {Name: "cart", Replicas: 2, Stateful: true},
		{Name: "orders", Replicas: 2, Stateful: true}, {Name: "inventory", Replicas: 2, Stateful: true}, {Name: "payment", Replicas: 3, Stateful: true}} {
		s.Services = append(s.Services, sv)
	}
	for _, e := range [][2]string{{"gateway", "catalog"}, {"gateway", "cart"}, {"gateway", "orders"}, {"orders", "cart"},
		{"orders", "inventory"}, {"orders", "payment"}, {"orders", "catalog"}, {"catalog", "inventory"}} {
		s.Edges = append(s.Edges, faults.Edge{From: e[0], To: e[1]})
	}
	return s
}

func testObjects(t *testing.T) *objects {
	t.Helper()
	cfg := &Config{Spec: shopSpec(t)}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	return newObjects(cfg)
}

func TestRunLabel(t *testing.T) {
	for in, want := range map[string]string{
		"payment-slowdown-20261207T230000Z": "payment-slowdown-20261207t230000z",
		"kubernetes-0a1b2c3d4e5f":           "kubernetes-0a1b2c3d4e5f",
		"--Odd__id..":                       "odd-id",
	} {
		if got := RunLabel(in); got != want {
			t.Errorf("RunLabel(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("a", 80)
	l1, l2 := RunLabel(long), RunLabel(long+"b")
	if len(Namespace(long)) > 63 || l1 == l2 {
		t.Errorf("long ids: %q %q (namespace %d chars)", l1, l2, len(Namespace(long)))
	}
	if RunLabel("") == "" {
		t.Error("empty id: empty label")
	}
}

func TestEdgePorts(t *testing.T) {
	o := testObjects(t)
	eps := o.edges("orders")
	var names []string
	for _, ep := range eps {
		names = append(names, ep.Name)
	}
	want := []string{"orders->cart-0", "orders->cart-1", "orders->inventory-0", "orders->inventory-1",
		"orders->payment-0", "orders->payment-1", "orders->payment-2", "orders->catalog-0", "orders->catalog-1"}
	if !slices.Equal(names, want) {
		t.Fatalf("edges of orders: %v, want %v", names, want)
	}
	for i, ep := range eps {
		if ep.Port != edgePortBase+i {
			t.Errorf("%s on port %d, want %d", ep.Name, ep.Port, edgePortBase+i)
		}
	}
	if len(o.edges("payment")) != 0 {
		t.Error("payment calls nobody")
	}
}

func TestShopAndProxyArgs(t *testing.T) {
	o := testObjects(t)
	args := strings.Join(o.shopArgs(o.service("orders"), 1), " ")
	for _, want := range []string{
		"serve --service orders --instance orders-1 --listen 0.0.0.0:8080 --variant resilient",
		"--upstream cart=http://127.0.0.1:15001,http://127.0.0.1:15002",
		"--upstream payment=http://127.0.0.1:15005,http://127.0.0.1:15006,http://127.0.0.1:15007",
		"--data /data --replicas 2",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("orders-1 args %q lack %q", args, want)
		}
	}
	ips := map[string]string{}
	for _, s := range o.cfg.Services {
		for i := range s.Replicas {
			ips[instanceID(s.Name, i)] = "10.96.0." + string(rune('a'+len(ips)))
		}
	}
	ips["payment-2"] = "10.96.1.2"
	pargs, err := o.proxyArgs(o.service("orders"), 0, ips)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pargs, " "); !strings.HasPrefix(got, "proxy --admin 0.0.0.0:9901 --seed ") || !strings.Contains(got, " --edge orders->cart-0=127.0.0.1:15001=") ||
		!strings.Contains(got, "--edge orders->payment-2=127.0.0.1:15007=10.96.1.2:8080") {
		t.Errorf("proxy args %q", got)
	}
	delete(ips, "payment-2")
	if _, err := o.proxyArgs(o.service("orders"), 0, ips); err == nil {
		t.Error("a callee without a cluster IP: no error")
	}
	o.cfg.Policy = "/run/policy.yaml"
	if got := strings.Join(o.shopArgs(o.service("payment"), 0), " "); !strings.Contains(got, "--policy /etc/gameday/policy.yaml") || strings.Contains(got, "--upstream") {
		t.Errorf("payment-0 args with a policy file: %q", got)
	}
}

func TestStatefulSet(t *testing.T) {
	o := testObjects(t)
	o.cfg.Policy = "/run/policy.yaml"
	ips := map[string]string{}
	for _, s := range o.cfg.Services {
		for i := range s.Replicas {
			ips[instanceID(s.Name, i)] = "10.96.0.10"
		}
	}
	sts, err := o.statefulSet(o.service("orders"), 1, ips, storage{mode: corev1.ReadWriteMany})
	if err != nil {
		t.Fatal(err)
	}
	if sts.Name != "orders-1" || sts.Namespace != "gameday-payment-slowdown-20261207t230000z" || *sts.Spec.Replicas != 1 {
		t.Errorf("statefulset %s/%s replicas %d", sts.Namespace, sts.Name, *sts.Spec.Replicas)
	}
	want := map[string]string{LabelManagedBy: "gameday", LabelRun: "payment-slowdown-20261207t230000z", LabelName: "orders", LabelInstance: "orders-1"}
	for _, m := range []map[string]string{sts.Labels, sts.Spec.Template.Labels, sts.Spec.Selector.MatchLabels} {
		for k, v := range want {
			if m[k] != v {
				t.Errorf("label %s=%q, want %q (%v)", k, m[k], v, m)
			}
		}
	}
	ps := sts.Spec.Template.Spec
	if len(ps.Containers) != 2 || ps.Containers[0].Name != "shop" || ps.Containers[1].Name != "proxy" {
		t.Fatalf("containers %+v", ps.Containers)
	}
	if *ps.TerminationGracePeriodSeconds != 3 {
		t.Errorf("grace %d", *ps.TerminationGracePeriodSeconds)
	}
	shop := ps.Containers[0]
	if shop.ImagePullPolicy != corev1.PullNever || shop.Image != "gameday/sut:dev" {
		t.Errorf("image %s pull %s", shop.Image, shop.ImagePullPolicy)
	}
	if shop.ReadinessProbe.HTTPGet.Path != "/readyz" || shop.ReadinessProbe.HTTPGet.Port.IntValue() != 8080 ||
		ps.Containers[1].ReadinessProbe.HTTPGet.Port.IntValue() != 9901 {
		t.Errorf("probes %+v %+v", shop.ReadinessProbe.HTTPGet, ps.Containers[1].ReadinessProbe.HTTPGet)
	}
	env := map[string]corev1.EnvVar{}
	var names []string
	for _, e := range shop.Env {
		env[e.Name] = e
		names = append(names, e.Name)
	}
	if env["GAMEDAY_RUN_ID"].Value != "payment-slowdown-20261207T230000Z" || env["GAMEDAY_ADMIN_TOKEN"].ValueFrom.SecretKeyRef.Key != "GAMEDAY_ADMIN_TOKEN" ||
		env["GOMAXPROCS"].Value != "2" || env["GAMEDAY_SHOP_HTTP"].Value != "net/http" {
		t.Errorf("env %v", shop.Env)
	}
	if slices.Index(names, "GOMAXPROCS") != len(names)-1 && slices.Index(names, "GAMEDAY_SHOP_HTTP") != len(names)-1 {
		t.Errorf("the user's env is not last: %v", names)
	}
	mounts := map[string]string{}
	for _, m := range shop.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["policy"] != "/etc/gameday" || mounts["data"] != "/data" {
		t.Errorf("mounts %v", mounts)
	}
	for _, v := range ps.Volumes {
		if v.Name == "data" && (v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "data-orders") {
			t.Errorf("data volume %+v", v.VolumeSource)
		}
	}
	// hostPath fallback, and a service without callees has no sidecar.
	sts, err = o.statefulSet(o.service("payment"), 0, ips, storage{hostPath: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sts.Spec.Template.Spec.Containers); n != 1 {
		t.Errorf("payment has %d containers", n)
	}
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Name == "data" && (v.HostPath == nil || v.HostPath.Path != "/var/lib/gameday/gameday-payment-slowdown-20261207t230000z/payment") {
			t.Errorf("hostPath %+v", v.VolumeSource)
		}
	}
	// catalog keeps no state: an emptyDir.
	sts, _ = o.statefulSet(o.service("catalog"), 0, ips, storage{hostPath: true})
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Name == "data" && v.EmptyDir == nil {
			t.Errorf("catalog data %+v", v.VolumeSource)
		}
	}
}

func TestServicesSelectTheRun(t *testing.T) {
	o := testObjects(t)
	is := o.instanceService("payment", 2)
	if is.Name != "payment-2" || is.Spec.Selector[LabelInstance] != "payment-2" || is.Spec.Selector[LabelRun] != o.label || is.Spec.Ports[0].Port != 8080 {
		t.Errorf("instance service %+v", is)
	}
	s := o.serviceService("payment")
	if s.Spec.Selector[LabelName] != "payment" || s.Spec.Selector[LabelRun] != o.label || s.Spec.Selector[LabelInstance] != "" {
		t.Errorf("service %+v", s.Spec.Selector)
	}
	ns := o.namespace()
	if ns.Name != o.ns || ns.Namespace != "" || ns.Labels[LabelRun] != o.label || ns.Labels[LabelManagedBy] != ManagedBy {
		t.Errorf("namespace %+v", ns.ObjectMeta)
	}
	if sec := o.secret(); sec.StringData[secretKey] != "tok" || sec.Labels[LabelRun] != o.label {
		t.Errorf("secret %+v", sec.ObjectMeta)
	}
	c := o.claim("orders", storage{class: "fast", mode: corev1.ReadWriteMany})
	if *c.Spec.StorageClassName != "fast" || c.Spec.AccessModes[0] != corev1.ReadWriteMany || c.Labels[LabelRun] != o.label {
		t.Errorf("claim %+v", c)
	}
}

func TestPullPolicy(t *testing.T) {
	for img, want := range map[string]corev1.PullPolicy{
		"gameday/sut:dev":                corev1.PullNever,
		"sut":                            corev1.PullNever,
		"registry.example.com/gd/sut:v1": corev1.PullIfNotPresent,
		"localhost:5000/sut:dev":         corev1.PullIfNotPresent,
		"localhost/sut:dev":              corev1.PullIfNotPresent,
	} {
		if got := pullPolicy(img); got != want {
			t.Errorf("pullPolicy(%s) = %s, want %s", img, got, want)
		}
	}
}
