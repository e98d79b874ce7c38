package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
)

func fillCart(t *testing.T, gw, user string, items ...string) {
	t.Helper()
	for _, it := range items {
		if code := doJSON(t, "POST", gw+"/api/cart/"+user+"/items", "", it, nil); code != 200 {
			t.Fatalf("add %s to %s's cart: %d", it, user, code)
		}
	}
}

func charges(t *testing.T, urls map[string][]string) int {
	t.Helper()
	var list []Charge
	if code := doJSON(t, "GET", urls[sut.Payment][0]+"/admin/charges", testToken, "", &list); code != 200 {
		t.Fatalf("charges: %d", code)
	}
	return len(list)
}

// A checkout of a user's cart empties the cart, and the same cart cannot be
// charged a second time.
func TestCheckoutEmptiesTheCartOnce(t *testing.T) {
	urls := startShop(t, mustVariant(t, "naive"), t.TempDir())
	gw := urls[sut.Gateway][0]
	fillCart(t, gw, "ann", `{"sku":"C1","qty":3}`, `{"sku":"A1","qty":1}`)
	var before CartView
	doJSON(t, "GET", gw+"/api/cart/ann", "", "", &before)
	var o Order
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"ann"}`, &o); code != 201 || o.State != StatePaid || o.TotalCents != 3*599+1999 {
		t.Fatalf("checkout: %d %+v", code, o)
	}
	if o.CartVersion != before.Version || before.Version == 0 {
		t.Fatalf("order's cart version %d, the cart was at %d", o.CartVersion, before.Version)
	}
	var after CartView
	if code := doJSON(t, "GET", gw+"/api/cart/ann", "", "", &after); code != 200 || len(after.Items) != 0 {
		t.Fatalf("cart after checkout: %d %+v, want it empty", code, after)
	}
	var second map[string]any
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"ann"}`, &second); code != 409 {
		t.Fatalf("second checkout of the same cart: %d %v, want 409", code, second)
	}
	if n := charges(t, urls); n != 1 {
		t.Fatalf("%d charges, want 1", n)
	}
	// A checkout that names its items is a purchase of those items: the
	// cart is left as it is.
	fillCart(t, gw, "bob", `{"sku":"B1","qty":1}`)
	var o2 Order
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"bob","items":[{"sku":"A2","qty":1}]}`, &o2); code != 201 || o2.CartVersion != 0 {
		t.Fatalf("checkout with items: %d %+v", code, o2)
	}
	var bob CartView
	if doJSON(t, "GET", gw+"/api/cart/bob", "", "", &bob); len(bob.Items) != 1 {
		t.Fatalf("bob's cart after a checkout of other items: %+v", bob)
	}
	rep, err := client.Integrity(context.Background(), gw, testToken)
	if err != nil || !rep.OK || len(rep.CartChargedTwice) != 0 {
		t.Fatalf("integrity: %+v %v", rep, err)
	}
}

// Concurrent checkouts of one cart (a client retrying with new requests):
// one is paid, the others fail and release their stock; retries of one
// order (the same id, as the gateway's) are the same order.
func TestConcurrentCheckoutsOfOneCartChargeOnce(t *testing.T) {
	urls := startShop(t, mustVariant(t, "naive"), t.TempDir())
	gw, ord := urls[sut.Gateway][0], urls[sut.Orders][0]
	for round := 0; round < 5; round++ {
		user := fmt.Sprintf("u%d", round)
		fillCart(t, gw, user, `{"sku":"A1","qty":2}`)
		codes := make([]int, 6)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Two requests per order id: the second is a retry of the first.
				codes[i] = doJSON(t, "POST", ord+"/orders", "", fmt.Sprintf(`{"id":"r%d-o%d","user":%q}`, round, i/2, user), nil)
			}()
		}
		wg.Wait()
		ok := map[int]bool{}
		for i, c := range codes {
			switch c {
			case 200, 201:
				ok[i/2] = true
			case 409:
			default:
				t.Fatalf("round %d: request %d: %d", round, i, c)
			}
		}
		if len(ok) != 1 {
			t.Fatalf("round %d: orders paid from one cart: %v (codes %v), want exactly one", round, ok, codes)
		}
	}
	if n := charges(t, urls); n != 5 {
		t.Fatalf("%d charges for 5 carts", n)
	}
	rep, err := client.Integrity(context.Background(), gw, testToken)
	if err != nil || !rep.OK || rep.Paid != 5 {
		t.Fatalf("integrity: %+v %v", rep, err)
	}
}

// An order that consumed the cart but could not be charged (payment down,
// as when orders dies between the two) keeps the cart: a new checkout is
// refused, and the reconciler charges the pending order once.
func TestCartOfAPendingOrderIsNotChargedAgain(t *testing.T) {
	urls := startShop(t, mustVariant(t, "naive"), t.TempDir())
	gw, pay := urls[sut.Gateway][0], urls[sut.Payment][0]
	fillCart(t, gw, "ann", `{"sku":"B2","qty":1}`)
	ctx := context.Background()
	if _, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: client.KindAbort, Operation: "charge"}); err != nil {
		t.Fatal(err)
	}
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"ann"}`, nil); code/100 != 5 {
		t.Fatalf("checkout with payment down: %d, want 5xx", code)
	}
	if err := client.ClearAll(ctx, pay, testToken); err != nil {
		t.Fatal(err)
	}
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"ann"}`, nil); code != 409 {
		t.Fatalf("checkout of a cart a pending order holds: %d, want 409", code)
	}
	rep, err := client.Integrity(ctx, gw, testToken) // reconciles: the pending order is paid
	if err != nil || !rep.OK || rep.Paid != 1 || rep.Charges != 1 {
		t.Fatalf("integrity: %+v %v", rep, err)
	}
}

func TestIntegrityFlagsACartChargedTwice(t *testing.T) {
	now := time.Now().UnixMilli()
	l := Ledger{
		Orders: []Order{
			{ID: "o1", User: "ann", Items: []Item{{SKU: "A1", Qty: 1}}, State: StatePaid, CartVersion: 3, CreatedMs: now},
			{ID: "o2", User: "ann", Items: []Item{{SKU: "A1", Qty: 1}}, State: StatePaid, CartVersion: 3, CreatedMs: now},
			{ID: "o3", User: "ann", Items: []Item{{SKU: "A1", Qty: 1}}, State: StatePaid, CartVersion: 5, CreatedMs: now},
			{ID: "o4", User: "bob", Items: []Item{{SKU: "A1", Qty: 1}}, State: StatePaid, CartVersion: 3, CreatedMs: now},
			{ID: "o5", User: "bob", Items: []Item{{SKU: "A1", Qty: 1}}, State: StateFailed, CartVersion: 3, CreatedMs: now},
		},
		Charges: []Charge{{Key: "o1", Order: "o1"}, {Key: "o2", Order: "o2"}, {Key: "o3", Order: "o3"}, {Key: "o4", Order: "o4"}},
		Stock:   StockReport{Initial: map[string]int64{"A1": 10}, Stock: map[string]int64{"A1": 6}},
	}
	rep := checkIntegrity([]string{"o1", "o2", "o3", "o4"}, l)
	if rep.OK || len(rep.CartChargedTwice) != 1 || rep.CartChargedTwice[0] != "ann@3" || len(rep.Problems) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	l.Orders[1].CartVersion = 4
	if rep := checkIntegrity([]string{"o1", "o2", "o3", "o4"}, l); !rep.OK {
		t.Fatalf("one order per cart version: %+v", rep)
	}
}

// With $GAMEDAY_SHOP_HTTP=net/http the shop is an ordinary Go service: the
// same answers, served and called through net/http alone.
func TestTheShopOnPlainNetHTTP(t *testing.T) {
	v := mustVariant(t, "resilient")
	urls := startShop(t, v, t.TempDir(), func(c *Config) { c.NetHTTP = true })
	gw := urls[sut.Gateway][0]
	fillCart(t, gw, "ann", `{"sku":"C1","qty":2}`)
	var o Order
	if code := doJSON(t, "POST", gw+"/api/checkout", "", `{"user":"ann"}`, &o); code != 201 || o.State != StatePaid || o.TotalCents != 2*599 {
		t.Fatalf("checkout on net/http: %d %+v", code, o)
	}
	if n := charges(t, urls); n != 1 {
		t.Fatalf("%d charges, want 1", n)
	}
	s, err := newService(Config{Service: sut.Gateway, Variant: v, Upstreams: map[string][]string{
		sut.Catalog: urls[sut.Catalog], sut.Cart: urls[sut.Cart], sut.Orders: urls[sut.Orders]}, NetHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	for callee, e := range s.edges {
		for i, h := range e.h1 {
			if h != nil {
				t.Errorf("gateway->%s replica %d goes through the shop's own client", callee, i)
			}
		}
	}
	if _, err := ParseHTTPPath("fasthttp"); err == nil || !strings.Contains(err.Error(), `want "own" (the default) or "net/http"`) {
		t.Errorf("bad $%s: %v", HTTPEnv, err)
	}
}
