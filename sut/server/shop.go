package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gameday/gameday/sut"
)

// Product is an item of the catalog.
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Stock      *int64 `json:"stock,omitempty"` // from inventory (absent when it could not be asked)
	Badge      string `json:"badge,omitempty"` // in_stock, low, out, unknown
}

// Item is a quantity of one SKU.
type Item struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// Order is an order as the orders service stores it.
type Order struct {
	ID         string `json:"id"`
	User       string `json:"user,omitempty"`
	Items      []Item `json:"items"`
	TotalCents int64  `json:"totalCents"`
	State      string `json:"state"` // pending, paid, failed
	ChargeID   string `json:"chargeId,omitempty"`
	Reason     string `json:"reason,omitempty"`
	CreatedMs  int64  `json:"createdMs"`
	// CartVersion is the version of the user's cart this order checked out
	// (0: the checkout named its items, no cart was consumed). The cart
	// service lets one order only consume one version of a cart.
	CartVersion int64 `json:"cartVersion,omitempty"`
}

// Order states.
const (
	StatePending = "pending"
	StatePaid    = "paid"
	StateFailed  = "failed"
)

// Charge is a payment, stored under its idempotency key.
type Charge struct {
	Key         string `json:"key"`
	Order       string `json:"order"`
	AmountCents int64  `json:"amountCents"`
	AtMs        int64  `json:"atMs"`
}

// Reservation is the stock held for one order.
type Reservation struct {
	Order string `json:"order"`
	Items []Item `json:"items"`
	State string `json:"state"` // active, released
}

// StockReport is inventory's GET /admin/stock.
type StockReport struct {
	Initial      map[string]int64       `json:"initial"`
	Stock        map[string]int64       `json:"stock"`
	Reservations map[string]Reservation `json:"reservations"`
}

// InitialStock is the stock of every SKU when an inventory store is created.
const InitialStock = 1_000_000

// products is the catalog: static, the same in every instance.
var products = []Product{
	{SKU: "A1", Name: "Chaos monkey plush", PriceCents: 1999},
	{SKU: "A2", Name: "Circuit breaker (decorative)", PriceCents: 4999},
	{SKU: "A3", Name: "Retry storm umbrella", PriceCents: 2499},
	{SKU: "A4", Name: "Jitter bug spray", PriceCents: 899},
	{SKU: "B1", Name: "Bulkhead door stop", PriceCents: 1299},
	{SKU: "B2", Name: "Fallback parachute", PriceCents: 8999},
	{SKU: "B3", Name: "Timeout hourglass", PriceCents: 1599},
	{SKU: "B4", Name: "Load balancer scales", PriceCents: 3499},
	{SKU: "C1", Name: "Idempotency key ring", PriceCents: 599},
	{SKU: "C2", Name: "Game day T-shirt", PriceCents: 2199},
	{SKU: "C3", Name: "Pager (muted)", PriceCents: 4299},
	{SKU: "C4", Name: "Postmortem notebook", PriceCents: 999},
}

// Products returns the catalog's products (without stock).
func Products() []Product {
	out := make([]Product, len(products))
	copy(out, products)
	return out
}

func productBySKU(sku string) (Product, bool) {
	for _, p := range products {
		if p.SKU == sku {
			return p, true
		}
	}
	return Product{}, false
}

// operations lists every service's operations (the label values of
// operation, and the names /admin/faults accepts).
var operations = map[string][]string{
	sut.Gateway:   {"list_products", "get_product", "add_cart_item", "get_cart", "checkout", "get_order"},
	sut.Catalog:   {"list_products", "get_product"},
	sut.Cart:      {"add_item", "get_cart", "checkout_cart"},
	sut.Orders:    {"create_order", "get_order"},
	sut.Inventory: {"get_stock", "reserve", "release"},
	sut.Payment:   {"charge"},
}

// Operations returns the operations of service.
func Operations(service string) []string {
	return append([]string(nil), operations[service]...)
}

// buckets of each service's store
var storeBuckets = map[string][]string{
	sut.Gateway:   {"acks"},
	sut.Cart:      {"carts", "consumed"},
	sut.Orders:    {"orders", "pending"},
	sut.Inventory: {"initial", "stock", "reservations"},
	sut.Payment:   {"charges"},
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func getJSONKey(b *bolt.Bucket, key string, v any) (bool, error) {
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}

func putJSONKey(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

func validItems(items []Item) error {
	if len(items) == 0 {
		return errors.New("no items")
	}
	if len(items) > 50 {
		return errors.New("more than 50 items")
	}
	for _, it := range items {
		if _, ok := productBySKU(it.SKU); !ok {
			return fmt.Errorf("unknown sku %q", it.SKU)
		}
		if it.Qty < 1 || it.Qty > 100 {
			return fmt.Errorf("sku %s: qty %d, want 1..100", it.SKU, it.Qty)
		}
	}
	return nil
}

// routes registers the operations of the service.
func (s *service) routes() {
	switch s.name {
	case sut.Gateway:
		s.gatewayRoutes()
	case sut.Catalog:
		s.catalogRoutes()
	case sut.Cart:
		s.cartRoutes()
	case sut.Orders:
		s.ordersRoutes()
	case sut.Inventory:
		s.inventoryRoutes()
	case sut.Payment:
		s.paymentRoutes()
	}
}

// ---- catalog

func badge(stock int64) string {
	switch {
	case stock <= 0:
		return "out"
	case stock < 10:
		return "low"
	}
	return "in_stock"
}

// productList is catalog's GET /products.
type productList struct {
	Products []Product `json:"products"`
}

// stockAnswer is inventory's GET /stock; a default fallback may set Badge only.
type stockAnswer struct {
	Stock map[string]int64 `json:"stock"`
	Badge string           `json:"badge,omitempty"`
}

func (s *service) catalogRoutes() {
	inv := s.edges[sut.Inventory]
	decorate := func(ctx context.Context, list []Product, path string) []Product {
		var st stockAnswer
		_, err := inv.getJSON(ctx, path, &st)
		stock := make([]int64, len(list)) // one allocation for every product's stock
		for i := range list {
			if v, ok := st.Stock[list[i].SKU]; ok && err == nil {
				stock[i] = v
				list[i].Stock, list[i].Badge = &stock[i], badge(v)
			} else {
				list[i].Badge = "unknown"
			}
		}
		return list
	}
	s.handle("GET /products", "list_products", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, productList{Products: decorate(r.Context(), Products(), "/stock")})
	})
	s.handle("GET /products/{sku}", "get_product", func(w http.ResponseWriter, r *http.Request) {
		p, ok := productBySKU(r.PathValue("sku"))
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("no product %q", r.PathValue("sku")))
			return
		}
		writeJSON(w, 200, decorate(r.Context(), []Product{p}, "/stock/"+p.SKU)[0])
	})
}

// ---- cart

// cartRecord is a stored cart. Version goes up with every change (an item
// added, the cart checked out), so a version names one content of the cart
// and is never reused for the user.
type cartRecord struct {
	Version int64            `json:"version"`
	Items   map[string]int64 `json:"items"`
}

// consumeRequest is cart's POST /carts/{user}/checkout: order checks out
// version of the cart.
type consumeRequest struct {
	Order   string `json:"order"`
	Version int64  `json:"version"`
}

// consumeAnswer is cart's answer to a checkout of the cart.
type consumeAnswer struct {
	User    string `json:"user"`
	Version int64  `json:"version"`
	Order   string `json:"order"` // the order that consumed this version
}

func consumedKey(user string, version int64) []byte {
	return []byte(user + "/" + strconv.FormatInt(version, 10))
}

func (s *service) cartRoutes() {
	s.handle("POST /carts/{user}/items", "add_item", func(w http.ResponseWriter, r *http.Request) {
		var it Item
		if err := decodeBody(r, &it); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if err := validItems([]Item{it}); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		user := r.PathValue("user")
		var cart cartRecord
		err := s.update(r.Context(), func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("carts"))
			cart = cartRecord{}
			if _, err := getJSONKey(b, user, &cart); err != nil {
				return err
			}
			if cart.Items == nil {
				cart.Items = map[string]int64{}
			}
			cart.Items[it.SKU] += it.Qty
			cart.Version++
			return putJSONKey(b, user, cart)
		})
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, cartJSON(user, cart))
	})
	s.handle("GET /carts/{user}", "get_cart", func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("user")
		var cart cartRecord
		err := s.view(r.Context(), func(tx *bolt.Tx) error {
			_, err := getJSONKey(tx.Bucket([]byte("carts")), user, &cart)
			return err
		})
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, cartJSON(user, cart))
	})
	// Checking out a cart empties it, once: the first order to consume a
	// version of the cart gets it (and gets 200 again when it asks again:
	// retries and the reconciler are idempotent); any other order, or a
	// version the cart has moved past, gets 409.
	s.handle("POST /carts/{user}/checkout", "checkout_cart", func(w http.ResponseWriter, r *http.Request) {
		var req consumeRequest
		if err := decodeBody(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		user := r.PathValue("user")
		if !validOrderID(req.Order) || req.Version < 1 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("cart checkout: order %q version %d: want an order id and a version >= 1", req.Order, req.Version))
			return
		}
		var conflict error
		err := s.update(r.Context(), func(tx *bolt.Tx) error {
			conflict = nil
			cb, kb := tx.Bucket([]byte("carts")), tx.Bucket([]byte("consumed"))
			key := consumedKey(user, req.Version)
			if by := kb.Get(key); by != nil {
				if string(by) != req.Order {
					conflict = fmt.Errorf("cart of %s version %d was checked out by order %s", user, req.Version, by)
				}
				return nil
			}
			var cart cartRecord
			if _, err := getJSONKey(cb, user, &cart); err != nil {
				return err
			}
			if cart.Version != req.Version || len(cart.Items) == 0 {
				conflict = fmt.Errorf("cart of %s is at version %d with %d items, not version %d", user, cart.Version, len(cart.Items), req.Version)
				return nil
			}
			if err := kb.Put(key, []byte(req.Order)); err != nil {
				return err
			}
			return putJSONKey(cb, user, cartRecord{Version: cart.Version + 1, Items: map[string]int64{}})
		})
		switch {
		case err != nil:
			writeError(w, 500, err)
		case conflict != nil:
			writeError(w, http.StatusConflict, conflict)
		default:
			writeJSON(w, 200, consumeAnswer{User: user, Version: req.Version, Order: req.Order})
		}
	})
}

// CartView is the cart service's answer.
type CartView struct {
	User    string `json:"user"`
	Items   []Item `json:"items"`
	Version int64  `json:"version"`
}

func cartJSON(user string, cart cartRecord) CartView {
	v := CartView{User: user, Items: []Item{}, Version: cart.Version}
	for sku, q := range cart.Items {
		v.Items = append(v.Items, Item{SKU: sku, Qty: q})
	}
	sort.Slice(v.Items, func(i, j int) bool { return v.Items[i].SKU < v.Items[j].SKU })
	return v
}

// ---- inventory

func (s *service) seedInventory(ctx context.Context) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		ini, st := tx.Bucket([]byte("initial")), tx.Bucket([]byte("stock"))
		for _, p := range products {
			if ini.Get([]byte(p.SKU)) != nil {
				continue
			}
			if err := putJSONKey(ini, p.SKU, int64(InitialStock)); err != nil {
				return err
			}
			if err := putJSONKey(st, p.SKU, int64(InitialStock)); err != nil {
				return err
			}
		}
		return nil
	})
}

func readStock(tx *bolt.Tx, bucket string) (map[string]int64, error) {
	out := map[string]int64{}
	err := tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
		n, err := decodeInt(v)
		if err != nil {
			return err
		}
		out[string(k)] = n
		return nil
	})
	return out, err
}

// decodeInt decodes a stored JSON number: strconv for the plain integers
// the store holds (-?(0|[1-9][0-9]*), what encoding/json writes), which
// allocates nothing, encoding/json for anything else.
func decodeInt(v []byte) (int64, error) {
	digits := v
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	plain := len(digits) > 0 && len(digits) <= 18 && (digits[0] != '0' || len(digits) == 1)
	for _, c := range digits {
		plain = plain && '0' <= c && c <= '9'
	}
	if plain {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n, nil
		}
	}
	var n int64
	err := json.Unmarshal(v, &n)
	return n, err
}

// reserveRequest is inventory's POST /reservations.
type reserveRequest struct {
	Order string `json:"order"`
	Items []Item `json:"items"`
}

var errOutOfStock = errors.New("out of stock")

func (s *service) inventoryRoutes() {
	s.handle("GET /stock", "get_stock", func(w http.ResponseWriter, r *http.Request) {
		var st map[string]int64
		err := s.view(r.Context(), func(tx *bolt.Tx) (err error) { st, err = readStock(tx, "stock"); return err })
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, stockAnswer{Stock: st})
	})
	s.handle("GET /stock/{sku}", "get_stock", func(w http.ResponseWriter, r *http.Request) {
		sku := r.PathValue("sku")
		var n int64
		var found bool
		err := s.view(r.Context(), func(tx *bolt.Tx) (err error) {
			found, err = getJSONKey(tx.Bucket([]byte("stock")), sku, &n)
			return err
		})
		if err != nil {
			writeError(w, 500, err)
			return
		}
		if !found {
			writeError(w, 404, fmt.Errorf("no sku %q", sku))
			return
		}
		writeJSON(w, 200, stockAnswer{Stock: map[string]int64{sku: n}})
	})
	// Reserving is idempotent per order, and all or nothing.
	s.handle("POST /reservations", "reserve", func(w http.ResponseWriter, r *http.Request) {
		var req reserveRequest
		if err := decodeBody(r, &req); err != nil {
			writeError(w, 400, err)
			return
		}
		if err := validItems(req.Items); err != nil || req.Order == "" {
			writeError(w, 400, fmt.Errorf("reservation: order %q: %v", req.Order, err))
			return
		}
		var res Reservation
		err := s.update(r.Context(), func(tx *bolt.Tx) error {
			rb, sb := tx.Bucket([]byte("reservations")), tx.Bucket([]byte("stock"))
			if found, err := getJSONKey(rb, req.Order, &res); err != nil || found {
				return err
			}
			for _, it := range req.Items {
				var n int64
				if _, err := getJSONKey(sb, it.SKU, &n); err != nil {
					return err
				}
				if n < it.Qty {
					return fmt.Errorf("sku %s: %w", it.SKU, errOutOfStock)
				}
				if err := putJSONKey(sb, it.SKU, n-it.Qty); err != nil {
					return err
				}
			}
			res = Reservation{Order: req.Order, Items: req.Items, State: "active"}
			return putJSONKey(rb, req.Order, res)
		})
		switch {
		case errors.Is(err, errOutOfStock):
			writeError(w, http.StatusConflict, err)
		case err != nil:
			writeError(w, 500, err)
		default:
			writeJSON(w, 200, res)
		}
	})
	s.handle("POST /reservations/{order}/release", "release", func(w http.ResponseWriter, r *http.Request) {
		order := r.PathValue("order")
		var res Reservation
		err := s.update(r.Context(), func(tx *bolt.Tx) error {
			rb, sb := tx.Bucket([]byte("reservations")), tx.Bucket([]byte("stock"))
			found, err := getJSONKey(rb, order, &res)
			if err != nil || !found || res.State != "active" {
				return err
			}
			for _, it := range res.Items {
				var n int64
				if _, err := getJSONKey(sb, it.SKU, &n); err != nil {
					return err
				}
				if err := putJSONKey(sb, it.SKU, n+it.Qty); err != nil {
					return err
				}
			}
			res.State = "released"
			return putJSONKey(rb, order, res)
		})
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, res)
	})
	s.admin("GET /admin/stock", func(w http.ResponseWriter, r *http.Request) {
		rep := StockReport{Reservations: map[string]Reservation{}}
		err := s.view(r.Context(), func(tx *bolt.Tx) (err error) {
			if rep.Initial, err = readStock(tx, "initial"); err != nil {
				return err
			}
			if rep.Stock, err = readStock(tx, "stock"); err != nil {
				return err
			}
			return tx.Bucket([]byte("reservations")).ForEach(func(k, v []byte) error {
				var res Reservation
				if err := json.Unmarshal(v, &res); err != nil {
					return err
				}
				rep.Reservations[string(k)] = res
				return nil
			})
		})
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, rep)
	})
}

// ---- payment

func (s *service) paymentRoutes() {
	// Charging is idempotent: a second charge with the same key returns the
	// first one (200) instead of charging again (201).
	s.handle("POST /charges", "charge", func(w http.ResponseWriter, r *http.Request) {
		var req Charge
		if err := decodeBody(r, &req); err != nil {
			writeError(w, 400, err)
			return
		}
		if req.Key == "" || req.Order == "" || req.AmountCents <= 0 {
			writeError(w, 400, errors.New("charge: key, order and a positive amountCents are required"))
			return
		}
		var ch Charge
		created := false
		err := s.update(r.Context(), func(tx *bolt.Tx) error {
			created = false
			b := tx.Bucket([]byte("charges"))
			if found, err := getJSONKey(b, req.Key, &ch); err != nil || found {
				return err
			}
			ch = Charge{Key: req.Key, Order: req.Order, AmountCents: req.AmountCents, AtMs: time.Now().UnixMilli()}
			created = true
			return putJSONKey(b, req.Key, ch)
		})
		switch {
		case err != nil:
			writeError(w, 500, err)
		case created:
			writeJSON(w, http.StatusCreated, ch)
		default:
			writeJSON(w, http.StatusOK, ch)
		}
	})
	s.admin("GET /admin/charges", func(w http.ResponseWriter, r *http.Request) {
		var out []Charge
		err := s.view(r.Context(), func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("charges")).ForEach(func(_, v []byte) error {
				var c Charge
				if err := json.Unmarshal(v, &c); err != nil {
					return err
				}
				out = append(out, c)
				return nil
			})
		})
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, out)
	})
}

func isUserName(u string) bool {
	return u != "" && len(u) <= 64 && !strings.ContainsAny(u, "/?#")
}
