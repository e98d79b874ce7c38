// Package sut describes the shop, the bundled system under test: its services
// and the call edges between them. The services themselves live in
// sut/server, their resilience policies in sut/policy.
package sut

import (
	"embed"
	"io/fs"
)

// Edge is one call edge of the shop: From calls To over HTTP.
type Edge struct{ From, To string }

// String returns the edge as "from->to", the key used in policy files.
func (e Edge) String() string { return e.From + "->" + e.To }

// The services of the shop.
const (
	Gateway   = "gateway"
	Catalog   = "catalog"
	Cart      = "cart"
	Orders    = "orders"
	Inventory = "inventory"
	Payment   = "payment"
)

// Services returns the services of the shop, callers before callees.
func Services() []string {
	return []string{Gateway, Catalog, Cart, Orders, Inventory, Payment}
}

// Edges returns every call edge of the shop.
func Edges() []Edge {
	return []Edge{
		{Gateway, Catalog}, {Gateway, Cart}, {Gateway, Orders},
		{Orders, Cart}, {Orders, Inventory}, {Orders, Payment}, {Orders, Catalog},
		{Catalog, Inventory},
	}
}

// Callees returns the services that service calls (nil for a leaf or an
// unknown service).
func Callees(service string) []string {
	var out []string
	for _, e := range Edges() {
		if e.From == service {
			out = append(out, e.To)
		}
	}
	return out
}

// Callers returns the services that call service.
func Callers(service string) []string {
	var out []string
	for _, e := range Edges() {
		if e.To == service {
			out = append(out, e.From)
		}
	}
	return out
}

// IsService reports whether name is a service of the shop.
func IsService(name string) bool {
	for _, s := range Services() {
		if s == name {
			return true
		}
	}
	return false
}

// Stateful reports whether service keeps durable state (orders, payments,
// stock, carts, the gateway's ack log).
func Stateful(service string) bool {
	return service != Catalog
}

//go:embed variants/*.yaml
var variantFiles embed.FS

// VariantFiles returns the embedded variant files (variants/NAME.yaml).
func VariantFiles() fs.FS {
	sub, err := fs.Sub(variantFiles, "variants")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}
