package local

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut"
)

// realShop deploys the real shop (sut/server) with the naive variant and
// two payment instances.
func realShop(t *testing.T) *Deployment {
	t.Helper()
	var svcs []Service
	for _, s := range sut.Services() {
		n := 1
		if s == sut.Payment {
			n = 2
		}
		svcs = append(svcs, Service{Name: s, Replicas: n})
	}
	var edges []faults.Edge
	for _, e := range sut.Edges() {
		edges = append(edges, faults.Edge{From: e.From, To: e.To})
	}
	j, err := journal.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	d, err := Start(ctx, Config{Spec: platform.Spec{
		Settings: platform.Settings{Command: []string{os.Args[0], "sut"}, Env: []string{"LOCAL_TEST_CHILD=shop"}},
		Services: svcs, Edges: edges, Variant: "naive",
		RunDir: t.TempDir(), Journal: j, Seed: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shop of %d instances up in %v", len(d.Status()), time.Since(start))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func status(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRealShopServesThroughProxiesAndTakesHTTPFaults(t *testing.T) {
	d := realShop(t)
	if code, body := status(t, d.GatewayURL()+"/api/products"); code != 200 {
		t.Fatalf("GET /api/products: %d %s", code, body)
	}
	for _, tg := range d.Targets() {
		if code, body := status(t, tg.URL); code != 200 || !strings.Contains(body, "shop_") {
			t.Fatalf("scrape %s: %d, no shop_ metrics", tg.URL, code)
		}
	}
	abort, err := faults.New(faults.Spec{Name: "abort", Type: "http-abort", Target: faults.Target{Service: "gateway"},
		Params: map[string]string{"operation": "list_products", "status": "503"}}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := abort.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := status(t, d.GatewayURL()+"/api/products"); code != 503 {
		t.Errorf("with http-abort 503: status %d", code)
	}
	if err := abort.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := abort.Revert(context.Background()); err != nil {
		t.Fatalf("second revert: %v", err)
	}
	if code, _ := status(t, d.GatewayURL()+"/api/products"); code != 200 {
		t.Errorf("after revert: status %d", code)
	}
	delay, err := faults.New(faults.Spec{Name: "slow", Type: "http-delay", Target: faults.Target{Service: "catalog"},
		Params: map[string]string{"operation": "list_products", "delay": "200ms"}}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := delay.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _ := status(t, d.GatewayURL()+"/api/products")
	took := time.Since(start)
	if err := delay.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code != 200 || took < 200*time.Millisecond {
		t.Errorf("with http-delay 200ms on catalog: %d after %v", code, took)
	}
	start = time.Now()
	status(t, d.GatewayURL()+"/api/products")
	if after := time.Since(start); after > 150*time.Millisecond {
		t.Errorf("after revert still slow: %v", after)
	}
}
