package fleet

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
)

func TestOrderAndLevelsStartCalleesBeforeCallers(t *testing.T) {
	services := []Service{{Name: "gateway", Replicas: 1}, {Name: "orders", Replicas: 1, Stateful: true}, {Name: "payment", Replicas: 1},
		{Name: "catalog", Replicas: 1}, {Name: "inventory", Replicas: 1, Stateful: true}}
	edges := []faults.Edge{{From: "gateway", To: "orders"}, {From: "gateway", To: "catalog"}, {From: "orders", To: "payment"},
		{From: "orders", To: "catalog"}, {From: "catalog", To: "inventory"}}
	ordered, err := Order(services, edges)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ordered), "[{payment 1 false} {inventory 1 true} {catalog 1 false} {orders 1 true} {gateway 1 false}]"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	got := fmt.Sprint(Levels(ordered, edges))
	want := "[[{payment 1 false} {inventory 1 true}] [{catalog 1 false}] [{orders 1 true}] [{gateway 1 false}]]"
	if got != want {
		t.Errorf("levels %s, want %s", got, want)
	}
	_, err = Order(services, append(edges, faults.Edge{From: "payment", To: "gateway"}))
	if err == nil || !strings.Contains(err.Error(), "call cycle") {
		t.Errorf("a call cycle: %v", err)
	}
}

func TestGraphFindsTheEdgesIntoAService(t *testing.T) {
	g := NewGraph([]Service{{Name: "payment", Replicas: 1}, {Name: "gateway", Replicas: 1}, {Name: "orders", Replicas: 2}},
		[]faults.Edge{{From: "gateway", To: "orders"}, {From: "orders", To: "payment"}, {From: "gateway", To: "payment"}}, "gateway")
	edges := g.Edges()
	if got, want := fmt.Sprint(edges), "[{client gateway} {gateway orders} {orders payment} {gateway payment}]"; got != want {
		t.Errorf("edges %s, want %s", got, want)
	}
	edges[0].To = "changed"
	if g.Edges()[0].To != "gateway" {
		t.Error("Edges returned the graph's own slice")
	}
	for _, tc := range []struct{ to, from, want string }{
		{"payment", "", "[{orders payment} {gateway payment}]"},
		{"payment", "gateway", "[{gateway payment}]"},
		{"gateway", "client", "[{client gateway}]"},
	} {
		got, err := g.Into(tc.to, tc.from)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("Into(%s, %s) = %v, %v; want %s", tc.to, tc.from, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ to, from, want string }{
		{"stock", "", `no service "stock" (deployed: gateway, orders, payment)`},
		{"payment", "client", "client does not call payment (callers: orders, gateway)"},
	} {
		if _, err := g.Into(tc.to, tc.from); err == nil || err.Error() != tc.want {
			t.Errorf("Into(%s, %s): %v, want %q", tc.to, tc.from, err, tc.want)
		}
	}
	if err := g.CheckService("orders"); err != nil {
		t.Error(err)
	}
}

// link stands for a runtime's link type.
type link string

func (l link) AddToxic(context.Context, proxy.Toxic) (string, error) { return string(l), nil }
func (l link) RemoveToxic(context.Context, string) error             { return nil }

func TestLinksCollectsTheLinksOfTheEdgesInto(t *testing.T) {
	g := NewGraph([]Service{{Name: "gateway", Replicas: 1}, {Name: "orders", Replicas: 1}, {Name: "payment", Replicas: 2}},
		[]faults.Edge{{From: "gateway", To: "payment"}, {From: "orders", To: "payment"}}, "gateway")
	links := map[faults.Edge][]link{
		{From: "gateway", To: "payment"}: {"g>p0", "g>p1"},
		{From: "orders", To: "payment"}:  {"o>p0", "o>p1"},
		{From: "client", To: "gateway"}:  {"c>g0"},
	}
	all, err := Links(g, links, "payment", "")
	if err != nil || fmt.Sprint(all) != "[g>p0 g>p1 o>p0 o>p1]" {
		t.Errorf("into payment: %v %v", all, err)
	}
	one, err := Links(g, links, "payment", "orders")
	if err != nil || fmt.Sprint(one) != "[o>p0 o>p1]" {
		t.Errorf("orders → payment: %v %v", one, err)
	}
	if _, err := Links(g, links, "payment", "client"); err == nil {
		t.Error("a link of an edge that does not exist")
	}
}
