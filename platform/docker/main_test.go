//go:build docker

package docker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/docker/netns"
	"github.com/gameday/gameday/platform/internal/fleet"
	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

// TestMain doubles as a harness for the crash test: re-executed with
// DOCKER_TEST_HARNESS set, the binary deploys, injects and waits to be
// SIGKILLed (see crashHarness).
func TestMain(m *testing.M) {
	if os.Getenv("DOCKER_TEST_HARNESS") != "" {
		os.Exit(crashHarness())
	}
	os.Exit(m.Run())
}

func engine(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := NewClient(ctx)
	if err != nil {
		t.Fatalf("the docker tests need the engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// shopConfig is the shop's services and edges with a variant's policy,
// written to dir.
func shopConfig(dir, variant string, replicas map[string]int) (Config, error) {
	v, err := policy.Load(variant)
	if err != nil {
		return Config{}, err
	}
	if v, err = v.Apply(replicas, nil); err != nil {
		return Config{}, err
	}
	b, err := v.Marshal()
	if err != nil {
		return Config{}, err
	}
	pf := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pf, b, 0o644); err != nil {
		return Config{}, err
	}
	cfg := Config{Spec: platform.Spec{Gateway: sut.Gateway, Policy: pf, RunDir: dir, RunID: "dt-" + fleet.RandomHex(4)}}
	for _, s := range sut.Services() {
		cfg.Services = append(cfg.Services, Service{Name: s, Replicas: v.Replicas(s), Stateful: sut.Stateful(s)})
	}
	for _, e := range sut.Edges() {
		cfg.Edges = append(cfg.Edges, faults.Edge{From: e.From, To: e.To})
	}
	return cfg, nil
}

// deployShop builds the image if needed, deploys the shop and removes it
// (checking nothing of the run is left) when the test ends.
func deployShop(t *testing.T, variant string, replicas map[string]int, tweak func(*Config)) *Deployment {
	t.Helper()
	dockertest.Images(t, "sut")
	cli := engine(t)
	cfg, err := shopConfig(t.TempDir(), variant, replicas)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client = cli
	cfg.Restart.Delay = 200 * time.Millisecond
	if tweak != nil {
		tweak(&cfg)
	}
	start := time.Now()
	d, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d instances up in %v (network %s %s)", variant, len(d.roster.All()), time.Since(start).Round(time.Millisecond), d.Network(), d.Subnet())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		assertRunGone(t, cli, cfg.RunID)
	})
	return d
}

// leftOf lists every container, network and volume labelled with the run.
func leftOf(t *testing.T, cli *client.Client, runID string) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: runFilter(runID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		left = append(left, "container "+strings.Join(c.Names, ","))
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: runFilter(runID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		left = append(left, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: runFilter(runID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		left = append(left, "volume "+v.Name)
	}
	return left
}

func assertRunGone(t *testing.T, cli *client.Client, runID string) {
	t.Helper()
	if left := leftOf(t, cli, runID); len(left) != 0 {
		t.Errorf("left behind by run %s: %v", runID, left)
	}
}

var httpc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func checkout(t *testing.T, d *Deployment, user string) (int, string) {
	t.Helper()
	return do(t, http.MethodPost, d.GatewayURL()+"/api/checkout", fmt.Sprintf(`{"user":%q,"items":[{"sku":"A1","qty":1}]}`, user))
}

// chainsIn lists the GD- chains in the network namespace of a container.
func chainsIn(t *testing.T, d *Deployment, instance string) []string {
	t.Helper()
	cid, err := d.ContainerID(instance)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.cli.ContainerInspect(context.Background(), cid)
	if err != nil {
		t.Fatal(err)
	}
	chains, err := nsOf(st.NetworkSettings.SandboxKey, st.State.Pid).Chains(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var gd []string
	for _, c := range chains {
		if strings.HasPrefix(c, "GD-") {
			gd = append(gd, c)
		}
	}
	sort.Strings(gd)
	return gd
}

// nsOfInstance is the network namespace of an instance's container now.
func nsOfInstance(t *testing.T, d *Deployment, instance string) netns.NS {
	t.Helper()
	cid, err := d.ContainerID(instance)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.cli.ContainerInspect(context.Background(), cid)
	if err != nil {
		t.Fatal(err)
	}
	return nsOf(st.NetworkSettings.SandboxKey, st.State.Pid)
}
