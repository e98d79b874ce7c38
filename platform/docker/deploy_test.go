//go:build docker

package docker

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestDeployServesCheckoutAndCloseLeavesNothing(t *testing.T) {
	for _, variant := range []string{"naive", "resilient"} {
		t.Run(variant, func(t *testing.T) {
			d := deployShop(t, variant, map[string]int{"payment": 2}, nil)
			for _, s := range d.Status() {
				if s.State != StateRunning {
					t.Errorf("%s: %s", s.ID, s.State)
				}
			}
			if code, body := do(t, http.MethodGet, d.GatewayURL()+"/api/products", ""); code != 200 {
				t.Fatalf("GET /api/products: %d %s", code, body)
			}
			for i := range 4 {
				if code, body := checkout(t, d, "u"+string(rune('a'+i))); code != 200 && code != 201 {
					t.Fatalf("checkout %d: %d %s", i, code, body)
				}
			}
			for _, tg := range d.Targets() {
				if code, body := do(t, http.MethodGet, tg.URL, ""); code != 200 || !strings.Contains(body, "shop_") {
					t.Errorf("scrape %s (%s): %d", tg.URL, tg.Instance, code)
				}
			}
			ins, err := d.Instances("payment")
			if err != nil || len(ins) != 2 {
				t.Fatalf("payment instances %v %v", ins, err)
			}
			_ = context.Background()
		})
	}
}

// A forced close (its context already done, as after a second Ctrl-C) skips
// the drain but still leaves no container, network or volume behind.
func TestCloseWithItsContextDoneStillRemovesEverything(t *testing.T) {
	cli := engine(t)
	d := deployShop(t, "naive", nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("forced close: %v", err)
	}
	assertRunGone(t, cli, d.RunID())
}

// Config.Env reaches the containers: with GAMEDAY_SHOP_HTTP=net/http every
// instance is an ordinary net/http service, and the shop still works.
func TestEnvReachesTheContainers(t *testing.T) {
	d := deployShop(t, "naive", nil, func(c *Config) { c.Env = []string{"GAMEDAY_SHOP_HTTP=net/http"} })
	if code, body := checkout(t, d, "u-env"); code != 200 && code != 201 {
		t.Fatalf("checkout on net/http: %d %s", code, body)
	}
	for _, name := range []string{"gateway-0", "orders-0"} {
		cid, err := d.ContainerID(name)
		if err != nil {
			t.Fatal(err)
		}
		if out := logTail(context.Background(), d.cli, cid); !strings.Contains(out, "http=net/http") {
			t.Errorf("%s's log does not say http=net/http:\n%s", name, out)
		}
	}
}
