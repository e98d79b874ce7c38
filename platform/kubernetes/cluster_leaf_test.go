//go:build kubernetes

package kubernetes

import (
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

// TestClusterLeafServices deploys services that call nobody (no sidecar):
// inventory (the gateway here) and payment (stateful, 2 instances each, each service
// instances sharing one store); readiness, port-forwards, a kill with
// every restart mode, Close.
func TestClusterLeafServices(t *testing.T) {
	c := requireCluster(t)
	s := platform.Spec{Gateway: "inventory", Variant: "naive", RunDir: t.TempDir(), Seed: 1,
		RunID:    "k8stest-leaf-" + time.Now().UTC().Format("150405.000"),
		Services: []platform.Service{{Name: "inventory", Replicas: 2, Stateful: true}, {Name: "payment", Replicas: 2, Stateful: true}}}
	d, _ := c.deploy(t, s)
	ctx := t.Context()
	code, body, err := get(ctx, d.GatewayURL()+"/readyz")
	if err != nil || code != 200 {
		t.Fatalf("inventory /readyz: %d %v %s", code, err, body)
	}
	for _, tg := range d.Targets() {
		if code, _, err := get(ctx, tg.URL); err != nil || code != 200 {
			t.Errorf("scrape %s: %d %v", tg.URL, code, err)
		}
	}
	for _, pol := range []faults.RestartPolicy{{Mode: faults.RestartAfterDelay}, {Mode: faults.RestartAfterDelay, Delay: 2 * time.Second}, {Mode: faults.RestartAtRevert}} {
		l, err := d.Instances("payment")
		if err != nil || len(l) != 2 {
			t.Fatalf("payment: %v %v", l, err)
		}
		fi := l[1]
		start := time.Now()
		if err := d.Kill(ctx, fi, pol); err != nil {
			t.Fatal(err)
		}
		killed := time.Since(start)
		if pol.Mode == faults.RestartAtRevert {
			time.Sleep(2 * time.Second)
			if d.byID[fi.ID].isUp() {
				t.Fatal("up again before Restart")
			}
			start = time.Now()
			if err := d.Restart(ctx, fi); err != nil {
				t.Fatal(err)
			}
		}
		at := backUp(t, d, fi.ID, fi.Ref, 2*time.Minute)
		t.Logf("kill %s/%s of %s: deleted in %s, serving again %s after the kill (or Restart)", pol.Mode, pol.Delay, fi.ID,
			killed.Round(time.Millisecond), at.Sub(start).Round(time.Millisecond))
	}
}
