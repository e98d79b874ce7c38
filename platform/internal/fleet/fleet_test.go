package fleet

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

var shop = []Service{{Name: "gateway", Replicas: 1}, {Name: "orders", Replicas: 2}, {Name: "payment", Replicas: 1}}
var shopEdges = []faults.Edge{{From: "gateway", To: "orders"}, {From: "orders", To: "payment"}}

func TestDefaultsFillInWhatIsUnset(t *testing.T) {
	c := platform.Spec{RunDir: "/tmp/run", Services: shop, Edges: shopEdges}
	if err := Defaults(&c, "local", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if c.Gateway != "gateway" || c.ReadyTimeout != 20*time.Second || c.StopGrace != 5*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	if !regexp.MustCompile(`^local-[0-9a-f]{12}$`).MatchString(c.RunID) {
		t.Errorf("run id %q", c.RunID)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(c.AdminToken) {
		t.Errorf("admin token %q", c.AdminToken)
	}
	if want := (RestartConfig{Delay: time.Second, MaxDelay: 30 * time.Second, ResetAfter: 10 * time.Second}); c.Restart != want {
		t.Errorf("restart %+v, want %+v", c.Restart, want)
	}
	other := platform.Spec{RunDir: "/tmp/run", Services: shop, Edges: shopEdges}
	if err := Defaults(&other, "local", time.Second); err != nil {
		t.Fatal(err)
	}
	if other.RunID == c.RunID || other.AdminToken == c.AdminToken {
		t.Error("two runs got the same random id or token")
	}
}

func TestDefaultsKeepWhatIsSet(t *testing.T) {
	c := platform.Spec{Services: shop, Edges: shopEdges, Gateway: "orders", RunDir: "d", RunID: "r", AdminToken: "tok",
		Restart:      RestartConfig{Never: true, Delay: time.Minute, MaxDelay: time.Second, ResetAfter: time.Hour},
		ReadyTimeout: time.Millisecond, StopGrace: time.Microsecond}
	if err := Defaults(&c, "docker", time.Hour); err != nil {
		t.Fatal(err)
	}
	// MaxDelay below Delay is raised: to 30s, or Delay if that is more.
	wantRestart := RestartConfig{Never: true, Delay: time.Minute, MaxDelay: time.Minute, ResetAfter: time.Hour}
	if c.Gateway != "orders" || c.RunDir != "d" || c.RunID != "r" || c.AdminToken != "tok" || c.Restart != wantRestart ||
		c.ReadyTimeout != time.Millisecond || c.StopGrace != time.Microsecond {
		t.Errorf("got %+v, want what was set (restart %+v)", c, wantRestart)
	}
}

func TestDefaultsRefuseABadTopology(t *testing.T) {
	for _, tc := range []struct {
		services []Service
		edges    []faults.Edge
		gateway  string
		runDir   string
		want     string
	}{
		{nil, nil, "", "d", "no services"},
		{shop, shopEdges, "", "", "no run directory"},
		{[]Service{{Name: "gateway", Replicas: 1}, {Name: "orders", Replicas: 0}}, nil, "", "d", "service orders: 0 replicas"},
		{shop, shopEdges, "front", "d", `gateway "front" is not among`},
		{shop, append(shopEdges, faults.Edge{From: "orders", To: "stock"}), "", "d", "edge orders→stock names a service that is not deployed"},
	} {
		c := platform.Spec{Services: tc.services, Edges: tc.edges, Gateway: tc.gateway, RunDir: tc.runDir}
		err := Defaults(&c, "x", time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc, err, tc.want)
		}
	}
}

func TestSeedDiffersByNameAndFollowsTheRunsSeed(t *testing.T) {
	if Seed(1, "a") == Seed(1, "b") || Seed(1, "a") == Seed(2, "a") {
		t.Error("seeds collide")
	}
	if Seed(7, "orders->payment#0") != Seed(7, "orders->payment#0") {
		t.Error("seed not repeatable")
	}
}

func TestMetricsTarget(t *testing.T) {
	got := MetricsTarget("payment", "payment-1", "127.0.0.1:4000", "docker")
	if got.Job != "payment" || got.Instance != "payment-1" || got.URL != "http://127.0.0.1:4000/metrics" ||
		len(got.Labels) != 1 || got.Labels["runtime"] != "docker" {
		t.Errorf("%+v", got)
	}
}
