package sut

import (
	"io/fs"
	"testing"
)

func TestTopology(t *testing.T) {
	if got := len(Services()); got != 6 {
		t.Fatalf("%d services, want 6", got)
	}
	want := map[string][]string{
		Gateway: {Catalog, Cart, Orders}, Orders: {Cart, Inventory, Payment, Catalog},
		Catalog: {Inventory}, Cart: nil, Inventory: nil, Payment: nil,
	}
	for s, w := range want {
		got := Callees(s)
		if len(got) != len(w) {
			t.Fatalf("Callees(%s) = %v, want %v", s, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("Callees(%s) = %v, want %v", s, got, w)
			}
		}
	}
	for _, e := range Edges() {
		if !IsService(e.From) || !IsService(e.To) {
			t.Errorf("edge %s names an unknown service", e)
		}
	}
	if c := Callers(Payment); len(c) != 1 || c[0] != Orders {
		t.Errorf("Callers(payment) = %v", c)
	}
	if Callees("nope") != nil || IsService("nope") {
		t.Error("unknown service must have no callees")
	}
	if _, err := fs.Stat(VariantFiles(), "naive.yaml"); err != nil {
		t.Fatalf("embedded variants: %v", err)
	}
}
