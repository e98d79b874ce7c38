package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
)

// TestShopResilientInProcess runs the whole shop (resilient: replicas share
// their stores) in-process, browses, fills a cart, checks out concurrently,
// and checks integrity.
func TestShopResilientInProcess(t *testing.T) {
	urls := startShop(t, mustVariant(t, "resilient"), t.TempDir())
	gw := urls[sut.Gateway][0]
	var list struct{ Products []Product }
	if code := doJSON(t, "GET", gw+"/api/products", "", "", &list); code != 200 || len(list.Products) != len(Products()) || list.Products[0].Badge != "in_stock" {
		t.Fatalf("products: %d %+v", code, list)
	}
	if code := doJSON(t, "GET", gw+"/api/products/ZZ", "", "", nil); code != 404 {
		t.Fatalf("unknown product: %d", code)
	}
	if code := doJSON(t, "POST", gw+"/api/cart/ann/items", "", `{"sku":"C1","qty":3}`, nil); code != 200 {
		t.Fatalf("add to cart: %d", code)
	}
	var o Order
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"ann"}`, &o); code != 201 || o.State != StatePaid || o.TotalCents != 3*599 {
		t.Fatalf("checkout of ann's cart: %d %+v", code, o)
	}
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"items":[{"sku":"NOPE","qty":1}]}`, nil); code != 400 {
		t.Fatalf("checkout of an unknown sku: %d, want 400", code)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := []string{o.ID}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				var o Order
				if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"items":[{"sku":"A1","qty":1},{"sku":"B2","qty":2}]}`, &o); code == 201 {
					mu.Lock()
					acked = append(acked, o.ID)
					mu.Unlock()
				} else {
					t.Errorf("checkout: %d", code)
				}
			}
		}()
	}
	wg.Wait()
	var got Order
	if code := doJSON(t, "GET", gw+"/api/orders/"+acked[5], "", "", &got); code != 200 || got.State != StatePaid {
		t.Fatalf("get order: %d %+v", code, got)
	}
	rep, err := client.Integrity(context.Background(), gw, testToken)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Acknowledged != len(acked) || rep.Paid != len(acked) || rep.Charges != len(acked) {
		t.Fatalf("integrity after %d checkouts: %+v", len(acked), rep)
	}
	if _, err := client.Integrity(context.Background(), gw, "wrong"); err == nil {
		t.Fatal("integrity with a wrong token must fail")
	}
	// Both orders replicas served checkouts (least_inflight spreads them) and
	// share one store.
	for _, u := range urls[sut.Orders] {
		if n := metricValue(t, u, "shop_server_requests_total", `operation="create_order"`); n == 0 {
			t.Errorf("orders replica %s served no checkout", u)
		}
	}
}

// TestPromtoolCheckMetrics runs `promtool check metrics` on every service's
// /metrics (after some traffic, so that every label set is present).
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (apt-get install prometheus); CI installs it")
	}
	urls := startShop(t, mustVariant(t, "resilient"), t.TempDir())
	gw := urls[sut.Gateway][0]
	doJSON(t, "GET", gw+"/api/products", "", "", nil)
	doJSON(t, "POST", gw+"/api/checkout", "", `{"items":[{"sku":"A1","qty":1}]}`, nil)
	doJSON(t, "GET", gw+"/api/orders/nope", "", "", nil)
	for _, s := range sut.Services() {
		for _, u := range urls[s] {
			resp, err := http.Get(u + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := []string{"shop_server_requests_total", "shop_policy_info", "shop_build_info", "shop_server_queue_depth"}
			if s == sut.Gateway {
				want = append(want, "shop_server_request_duration_seconds_bucket", "shop_client_attempts_total", "shop_circuit_breaker_state")
			}
			for _, want := range want {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("%s /metrics has no %s", s, want)
				}
			}
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(body)
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("promtool check metrics on %s (%s): %v\n%s", s, u, err, out)
			}
		}
	}
}

func TestServeCommand(t *testing.T) {
	t.Run("prints one listening line and drains on cancel", func(t *testing.T) {
		pr, pw := io.Pipe()
		var stderr bytes.Buffer
		cmd := NewServeCommand(pw, &stderr, func(k string) string {
			if k == AdminTokenEnv {
				return "tok"
			}
			return ""
		})
		cmd.SetArgs([]string{"--service", "catalog", "--listen", "127.0.0.1:0", "--variant", "resilient",
			"--upstream", "inventory=127.0.0.1:1,127.0.0.1:2"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
		buf := make([]byte, 256)
		n, err := pr.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		line := string(buf[:n])
		if !strings.HasPrefix(line, "listening 127.0.0.1:") || strings.Count(line, "\n") != 1 || strings.HasSuffix(line, ":0\n") {
			t.Fatalf("stdout %q", line)
		}
		base := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening "))
		if code := doJSON(t, "GET", base+"/readyz", "", "", nil); code != 200 {
			t.Fatalf("readyz %d", code)
		}
		if code := doJSON(t, "GET", base+"/admin/faults", "tok", "", nil); code != 200 {
			t.Fatalf("admin with the env token: %d", code)
		}
		var pol bytes.Buffer
		req, _ := http.NewRequest("GET", base+"/admin/policy", nil)
		req.Header.Set("Authorization", "Bearer tok")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(&pol, resp.Body)
			resp.Body.Close()
		}
		if !strings.Contains(pol.String(), "name: resilient") {
			t.Fatalf("/admin/policy: %q", pol.String())
		}
		rest := make(chan []byte, 1)
		go func() { b, _ := io.ReadAll(pr); rest <- b }()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve returned %v after cancel, want nil (drained)", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop")
		}
		if b := <-rest; len(b) != 0 {
			t.Fatalf("more stdout after the listening line: %q", b)
		}
	})
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no service":       {[]string{}, "--service is required"},
		"unknown service":  {[]string{"--service", "billing"}, "unknown service"},
		"unknown variant":  {[]string{"--service", "cart", "--variant", "nope"}, "unknown (known: naive"},
		"missing upstream": {[]string{"--service", "catalog"}, "no --upstream for inventory"},
		"bad upstream":     {[]string{"--service", "catalog", "--upstream", "inventory"}, "want SERVICE=URL"},
		"no data":          {[]string{"--service", "payment"}, "--data DIR is required"},
		"both policies":    {[]string{"--service", "payment", "--policy", "x.yaml", "--variant", "naive"}, "not both"},
		"bad policy file":  {[]string{"--service", "payment", "--policy", "/nonexistent.yaml"}, "nonexistent"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := NewServeCommand(&out, io.Discard, func(string) string { return "" })
			cmd.SetArgs(tc.args)
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout %q on failure", out.String())
			}
		})
	}
}
