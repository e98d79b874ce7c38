//go:build docker

package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
	"github.com/gameday/gameday/sut/policy"
)

// TestComposeRunsTheShopOffline brings docker-compose.yml up from the images
// built here (nothing can be pulled on this machine), checks out through the
// gateway, checks that Prometheus scrapes every instance and that nothing is
// published beyond 127.0.0.1, then tears everything down; once as is (naive)
// and once with deploy/docker/compose.resilient.yml (the replicas).
func TestComposeRunsTheShopOffline(t *testing.T) {
	RequireCompose(t)
	Images(t)
	root := RepoRoot(t)
	t.Run("naive", func(t *testing.T) {
		testCompose(t, root, "naive", nil)
	})
	t.Run("resilient", func(t *testing.T) {
		testCompose(t, root, "resilient", []string{"deploy/docker/compose.resilient.yml"})
	})
}

// project is one docker-compose project of the test.
type project struct {
	name  string
	root  string
	files []string // -f arguments, absolute
	env   []string
}

func (p *project) compose(ctx context.Context, args ...string) ([]byte, error) {
	all := []string{"-p", p.name}
	for _, f := range p.files {
		all = append(all, "-f", f)
	}
	cmd := exec.CommandContext(ctx, "docker-compose", append(all, args...)...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = p.root, p.env, 5*time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("docker-compose %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

func docker(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return out, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr))
	}
	return out, nil
}

func testCompose(t *testing.T, root, variant string, overrides []string) {
	start := time.Now()
	v, err := policy.Load(variant)
	if err != nil {
		t.Fatal(err)
	}
	var want []string // instances, as Prometheus labels them
	for _, s := range sut.Services() {
		for i := range v.Replicas(s) {
			want = append(want, fmt.Sprintf("%s-%d", s, i))
		}
	}
	slices.Sort(want)

	gwPort, promPort := FreePort(t), FreePort(t)
	for promPort == gwPort {
		promPort = FreePort(t)
	}
	token := randomHex(t, 16)
	p := &project{name: "gd-compose-" + randomHex(t, 4), root: root, files: []string{filepath.Join(root, "docker-compose.yml")}}
	for _, o := range overrides {
		p.files = append(p.files, filepath.Join(root, o))
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GAMEDAY_") && !strings.HasPrefix(kv, "COMPOSE_") {
			p.env = append(p.env, kv)
		}
	}
	p.env = append(p.env, "GAMEDAY_VARIANT="+variant, "GAMEDAY_ADMIN_TOKEN="+token,
		"GAMEDAY_GATEWAY_PORT="+strconv.Itoa(gwPort), "GAMEDAY_PROMETHEUS_PORT="+strconv.Itoa(promPort))
	t.Cleanup(func() { down(t, p) })

	ctx := t.Context()
	if _, err := p.compose(ctx, "up", "-d", "--no-build"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: up -d in %s", p.name, time.Since(start).Round(time.Millisecond))
	gw := fmt.Sprintf("http://127.0.0.1:%d", gwPort)
	prom := fmt.Sprintf("http://127.0.0.1:%d", promPort)

	// The gateway answers on its 127.0.0.1 port.
	eventually(t, 60*time.Second, "gateway /readyz answers 200", func() (bool, string) {
		code, body, err := httpDo(ctx, http.MethodGet, gw+"/readyz", "", nil)
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})

	// Prometheus scrapes every instance of the variant (the replicas too).
	eventually(t, 60*time.Second, fmt.Sprintf("up == 1 for %d shop instances", len(want)), func() (bool, string) {
		res, err := promQuery(ctx, prom, `up{runtime="docker"} == 1`)
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, s := range res {
			got = append(got, s.Metric["instance"])
			if job, _, _ := strings.Cut(s.Metric["instance"], "-"); s.Metric["job"] != job {
				return false, fmt.Sprintf("instance %s has job %q", s.Metric["instance"], s.Metric["job"])
			}
		}
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("up: %v", got)
	})

	// Real checkouts through the gateway: a cart, then its checkout.
	const checkouts = 4
	var ids []string
	for i := range checkouts {
		user := fmt.Sprintf("dockertest-%d", i)
		code, body, err := httpDo(ctx, http.MethodPost, gw+"/api/cart/"+user+"/items", "", map[string]any{"sku": "A1", "qty": 2})
		if err != nil || code/100 != 2 {
			t.Fatalf("add to cart: %d %s %v", code, body, err)
		}
		code, body, err = httpDo(ctx, http.MethodPost, gw+"/api/checkout", "", map[string]any{"user": user})
		if err != nil || code != http.StatusCreated {
			t.Fatalf("checkout: %d %s %v", code, body, err)
		}
		var order struct {
			ID         string `json:"id"`
			State      string `json:"state"`
			TotalCents int64  `json:"totalCents"`
		}
		if err := json.Unmarshal(body, &order); err != nil || order.State != "paid" || order.TotalCents <= 0 || order.ID == "" {
			t.Fatalf("checkout answered %s (%v), want a paid order", body, err)
		}
		ids = append(ids, order.ID)
	}
	for _, id := range ids {
		code, body, err := httpDo(ctx, http.MethodGet, gw+"/api/orders/"+id, "", nil)
		if err != nil || code != http.StatusOK || !bytes.Contains(body, []byte(`"state":"paid"`)) {
			t.Fatalf("order %s: %d %s %v", id, code, body, err)
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rep, err := client.Integrity(ictx, gw, token)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Acknowledged != checkouts || rep.Paid != checkouts || rep.Charges != checkouts {
		t.Fatalf("integrity after %d checkouts: %+v", checkouts, rep)
	}

	// The shop's metrics reach Prometheus, down to payment.
	for q, atLeast := range map[string]float64{
		`sum(shop_server_requests_total{service="gateway",operation="checkout",code="201"})`: checkouts,
		`sum(shop_server_requests_total{service="payment",operation="charge",code="201"})`:   checkouts,
		fmt.Sprintf(`count(shop_policy_info{variant=%q})`, variant):                          float64(len(want)),
	} {
		eventually(t, 15*time.Second, q+" >= "+strconv.FormatFloat(atLeast, 'f', -1, 64), func() (bool, string) {
			res, err := promQuery(ctx, prom, q)
			if err != nil {
				return false, err.Error()
			}
			if len(res) != 1 {
				return false, fmt.Sprintf("%d series", len(res))
			}
			return res[0].Value >= atLeast, fmt.Sprint(res[0].Value)
		})
	}
	if v.Replicas(sut.Orders) > 1 {
		// gateway->orders balances least-in-flight, ties in turn: sequential
		// checkouts go to every orders replica, through the override's --upstream.
		q := `count(sum by (instance) (shop_server_requests_total{service="orders",operation="create_order"}) > 0)`
		eventually(t, 15*time.Second, "every orders replica created orders", func() (bool, string) {
			res, err := promQuery(ctx, prom, q)
			if err != nil || len(res) != 1 {
				return false, fmt.Sprint(res, err)
			}
			return int(res[0].Value) == v.Replicas(sut.Orders), fmt.Sprint(res[0].Value)
		})
	}

	checkPublishedAndLabelled(t, p, len(want)+1, map[string]int{"gateway": gwPort, "prometheus": promPort})
	if out, err := p.compose(ctx, "port", "gateway", "8080"); err != nil || strings.TrimSpace(string(out)) != "127.0.0.1:"+strconv.Itoa(gwPort) {
		t.Errorf("docker-compose port gateway 8080 = %q, %v", out, err)
	}
	t.Logf("%s: checked in %s", p.name, time.Since(start).Round(time.Millisecond))
}

// checkPublishedAndLabelled checks that the project has n containers, that
// only the services in published publish a port, each on 127.0.0.1 and the
// port given, and that every container, network and volume of the project
// carries io.gameday.compose=1.
func checkPublishedAndLabelled(t *testing.T, p *project, n int, published map[string]int) {
	t.Helper()
	ctx := t.Context()
	ids := lines(t, ctx, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+p.name)
	if len(ids) != n {
		t.Errorf("%d containers in project %s, want %d", len(ids), p.name, n)
	}
	out, err := docker(ctx, append([]string{"inspect"}, ids...)...)
	if err != nil {
		t.Fatal(err)
	}
	type binding struct{ HostIp, HostPort string }
	var cs []struct {
		Name   string
		Config struct{ Labels map[string]string }
		State  struct{ Running bool }
		Host   struct{ PortBindings map[string][]binding } `json:"HostConfig"`
		Net    struct{ Ports map[string][]binding }        `json:"NetworkSettings"`
	}
	if err := json.Unmarshal(out, &cs); err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		svc := c.Config.Labels["com.docker.compose.service"]
		if c.Config.Labels["io.gameday.compose"] != "1" {
			t.Errorf("container %s lacks io.gameday.compose=1", c.Name)
		}
		if !c.State.Running {
			t.Errorf("container %s is not running", c.Name)
		}
		var bs []binding
		for _, b := range c.Host.PortBindings {
			bs = append(bs, b...)
		}
		for _, b := range c.Net.Ports {
			bs = append(bs, b...)
		}
		for _, b := range bs {
			if b.HostIp != "127.0.0.1" {
				t.Errorf("container %s publishes on %q (port %s), want 127.0.0.1 only", c.Name, b.HostIp, b.HostPort)
			}
			if want, ok := published[svc]; !ok || b.HostPort != strconv.Itoa(want) {
				t.Errorf("container %s publishes port %s, want %v", c.Name, b.HostPort, published[svc])
			}
		}
		if len(bs) > 0 {
			seen[svc] = true
		}
	}
	for svc := range published {
		if !seen[svc] {
			t.Errorf("service %s publishes nothing", svc)
		}
	}
	for _, kind := range []string{"network", "volume"} {
		for _, l := range lines(t, ctx, kind, "ls", "--filter", "label=com.docker.compose.project="+p.name,
			"--format", `{{.Name}} {{.Label "io.gameday.compose"}}`) {
			if name, label, _ := strings.Cut(l, " "); label != "1" {
				t.Errorf("%s %s lacks io.gameday.compose=1", kind, name)
			}
		}
	}
}

// down removes the project (containers, network, volumes) and checks that
// nothing of it is left.
func down(t *testing.T, p *project) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if t.Failed() {
		if out, err := p.compose(ctx, "logs", "--no-color", "--tail=30"); err == nil {
			t.Logf("logs of %s:\n%s", p.name, out)
		}
	}
	start := time.Now()
	if _, err := p.compose(ctx, "down", "-v", "--remove-orphans", "--timeout", "10"); err != nil {
		t.Errorf("down: %v", err)
	}
	t.Logf("%s: down -v in %s", p.name, time.Since(start).Round(time.Millisecond))
	for _, what := range [][]string{{"ps", "-a", "-q"}, {"network", "ls", "-q"}, {"volume", "ls", "-q"}} {
		for _, filter := range []string{"label=com.docker.compose.project=" + p.name, "name=" + p.name} {
			args := append(slices.Clone(what), "--filter", filter)
			out, err := docker(ctx, args...)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			if left := strings.Fields(string(out)); len(left) > 0 {
				t.Errorf("after down -v, docker %s finds %v", strings.Join(args, " "), left)
			}
		}
	}
}

func lines(t *testing.T, ctx context.Context, args ...string) []string {
	t.Helper()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.FieldsFunc(string(out), func(r rune) bool { return r == '\n' })
}

// eventually polls cond every 250 ms until it holds or timeout passes, then
// fails t with cond's last description.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: want %s; last: %s", timeout, what, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("want %s: %v", what, t.Context().Err())
		case <-tick.C:
		}
	}
}

func httpDo(ctx context.Context, method, url, token string, body any) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type sample struct {
	Metric map[string]string
	Value  float64
}

// promQuery runs an instant query against Prometheus' HTTP API.
func promQuery(ctx context.Context, base, q string) ([]sample, error) {
	code, body, err := httpDo(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(q), "", nil)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		return nil, fmt.Errorf("query %s: %d %s %v", q, code, body, err)
	}
	var out []sample
	for _, s := range r.Data.Result {
		var v string
		if err := json.Unmarshal(s.Value[1], &v); err != nil {
			return nil, fmt.Errorf("query %s: value %s: %w", q, s.Value[1], err)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %q: %w", q, v, err)
		}
		out = append(out, sample{Metric: s.Metric, Value: f})
	}
	return out, nil
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
