package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
)

// createOrderRequest is orders' POST /orders. The gateway chooses the id, so
// that a retried checkout is the same order.
type createOrderRequest struct {
	ID    string `json:"id"`
	User  string `json:"user,omitempty"`
	Items []Item `json:"items,omitempty"`
}

// checkoutRequest is the gateway's POST /api/checkout.
type checkoutRequest struct {
	User  string `json:"user,omitempty"`
	Items []Item `json:"items,omitempty"`
}

// Ledger is orders' GET /admin/ledger: everything the integrity check needs
// from orders, payment and inventory.
type Ledger struct {
	Orders  []Order     `json:"orders"`
	Charges []Charge    `json:"charges"`
	Stock   StockReport `json:"stock"`
}

// reconcile timing
const (
	reconcileEvery  = 2 * time.Second
	reconcileMinAge = 3 * time.Second
)

func validOrderID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *service) loadOrder(ctx context.Context, id string) (Order, bool, error) {
	var o Order
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		found, err = getJSONKey(tx.Bucket([]byte("orders")), id, &o)
		return err
	})
	return o, found, err
}

func (s *service) ordersRoutes() {
	s.handle("POST /orders", "create_order", func(w http.ResponseWriter, r *http.Request) {
		var req createOrderRequest
		if err := decodeBody(r, &req); err != nil {
			writeError(w, 400, err)
			return
		}
		if !validOrderID(req.ID) {
			writeError(w, 400, fmt.Errorf("order id %q: want 1-64 letters, digits, - or _", req.ID))
			return
		}
		// Get or create in one transaction (a retried checkout finds its order).
		o, err := s.newOrder(r.Context(), req)
		if err != nil {
			var ce *callError
			switch {
			case errors.As(err, &ce):
				writeCallError(w, err)
			case errors.Is(err, errEmptyCart):
				writeError(w, http.StatusConflict, err)
			default:
				writeError(w, 400, err)
			}
			return
		}
		ctx := r.Context()
		status, o, err := s.drive(ctx, o)
		if err != nil {
			writeJSON(w, status, map[string]any{"error": err.Error(), "order": o})
			return
		}
		writeJSON(w, status, o)
	})
	s.handle("GET /orders/{id}", "get_order", func(w http.ResponseWriter, r *http.Request) {
		o, found, err := s.loadOrder(r.Context(), r.PathValue("id"))
		switch {
		case err != nil:
			writeError(w, 500, err)
		case !found:
			writeError(w, 404, fmt.Errorf("no order %q", r.PathValue("id")))
		default:
			writeJSON(w, 200, o)
		}
	})
	s.admin("POST /admin/reconcile", func(w http.ResponseWriter, r *http.Request) {
		n, err := s.reconcile(r.Context(), 0)
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, map[string]int{"stillPending": n})
	})
	s.admin("GET /admin/ledger", func(w http.ResponseWriter, r *http.Request) {
		var l Ledger
		err := s.view(r.Context(), func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("orders")).ForEach(func(_, v []byte) error {
				var o Order
				if err := json.Unmarshal(v, &o); err != nil {
					return err
				}
				l.Orders = append(l.Orders, o)
				return nil
			})
		})
		if err == nil {
			err = s.adminGet(r.Context(), sut.Payment, "/admin/charges", &l.Charges)
		}
		if err == nil {
			err = s.adminGet(r.Context(), sut.Inventory, "/admin/stock", &l.Stock)
		}
		if err != nil {
			writeError(w, 502, err)
			return
		}
		writeJSON(w, 200, l)
	})
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		t := time.NewTicker(reconcileEvery)
		defer t.Stop()
		for {
			select {
			case <-s.bgCtx.Done():
				return
			case <-t.C:
				_, _ = s.reconcile(s.bgCtx, reconcileMinAge)
			}
		}
	}()
}

// errEmptyCart is a checkout of a cart with nothing in it (never filled, or
// already checked out).
var errEmptyCart = errors.New("cart is empty")

// newOrder prices the items (from the cart when the request has none,
// recording the cart's version) and stores the order as pending, unless an
// order with that id exists (a retried checkout, or a concurrent one): then
// it returns that order. The existing order is looked up first, because a
// retry must not read the cart again: the first attempt may have emptied it.
func (s *service) newOrder(ctx context.Context, req createOrderRequest) (Order, error) {
	if o, found, err := s.loadOrder(ctx, req.ID); err != nil || found {
		return o, err
	}
	items := req.Items
	var cartVersion int64
	if len(items) == 0 {
		if !isUserName(req.User) {
			return Order{}, errors.New("checkout: give items or a user whose cart to check out")
		}
		var cart CartView
		resp, err := s.edges[sut.Cart].getJSON(ctx, "/carts/"+req.User, &cart)
		if err != nil {
			return Order{}, err
		}
		if resp.status/100 != 2 {
			return Order{}, fmt.Errorf("cart of %s: status %d", req.User, resp.status)
		}
		if len(cart.Items) == 0 {
			return Order{}, fmt.Errorf("checkout of %s's cart (version %d): %w", req.User, cart.Version, errEmptyCart)
		}
		items, cartVersion = cart.Items, cart.Version
	}
	if err := validItems(items); err != nil {
		return Order{}, fmt.Errorf("checkout: %w", err)
	}
	var list struct {
		Products []Product `json:"products"`
	}
	resp, err := s.edges[sut.Catalog].getJSON(ctx, "/products", &list)
	if err != nil {
		return Order{}, err
	}
	if resp.status/100 != 2 {
		return Order{}, &callError{callee: sut.Catalog, outcome: outcomeError, status: resp.status, err: errors.New("price list")}
	}
	price := map[string]int64{}
	for _, p := range list.Products {
		price[p.SKU] = p.PriceCents
	}
	o := Order{ID: req.ID, User: req.User, Items: items, State: StatePending, CreatedMs: time.Now().UnixMilli(), CartVersion: cartVersion}
	for _, it := range items {
		p, ok := price[it.SKU]
		if !ok {
			return Order{}, fmt.Errorf("checkout: catalog has no price for %s", it.SKU)
		}
		o.TotalCents += p * it.Qty
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("orders"))
		var existing Order
		if found, err := getJSONKey(b, o.ID, &existing); err != nil || found {
			o = existing
			return err
		}
		if err := tx.Bucket([]byte("pending")).Put([]byte(o.ID), nil); err != nil {
			return err
		}
		return putJSONKey(b, o.ID, o)
	})
	return o, err
}

// drive takes a stored order as far as it can: reserve stock (idempotent per
// order), check out the cart it was priced from (idempotent per order and
// conditional on the cart's version), charge (idempotent per order: the key
// is the order id), mark paid. Any doubt leaves the order pending for the
// reconciler; only a refused reservation (nothing was reserved) or a refused
// cart (another order checked it out, or it changed since it was priced,
// once the reservation is released) fails it.
func (s *service) drive(ctx context.Context, o Order) (int, Order, error) {
	switch o.State {
	case StatePaid:
		return http.StatusOK, o, nil
	case StateFailed:
		return http.StatusConflict, o, fmt.Errorf("order %s failed: %s", o.ID, o.Reason)
	}
	resp, err := s.edges[sut.Inventory].postJSON(ctx, "/reservations", reserveRequest{Order: o.ID, Items: o.Items}, nil)
	if err != nil {
		return statusOfCallError(err), o, fmt.Errorf("order %s pending: reserve: %w", o.ID, err)
	}
	if resp.status == http.StatusConflict || resp.status == http.StatusBadRequest {
		o, err = s.finish(ctx, o.ID, StateFailed, "", "reservation refused: "+strings.TrimSpace(string(resp.body)))
		if err != nil {
			return 500, o, err
		}
		return http.StatusConflict, o, fmt.Errorf("order %s failed: %s", o.ID, o.Reason)
	}
	if resp.status/100 != 2 {
		return http.StatusServiceUnavailable, o, fmt.Errorf("order %s pending: reserve: status %d", o.ID, resp.status)
	}
	if o.CartVersion > 0 {
		resp, err = s.edges[sut.Cart].postJSON(ctx, "/carts/"+o.User+"/checkout", consumeRequest{Order: o.ID, Version: o.CartVersion}, nil)
		if err != nil {
			return statusOfCallError(err), o, fmt.Errorf("order %s pending: check out the cart: %w", o.ID, err)
		}
		if resp.status == http.StatusConflict {
			return s.cartRefused(ctx, o, strings.TrimSpace(string(resp.body)))
		}
		if resp.status/100 != 2 {
			return http.StatusServiceUnavailable, o, fmt.Errorf("order %s pending: check out the cart: status %d", o.ID, resp.status)
		}
	}
	var ch Charge
	resp, err = s.edges[sut.Payment].postJSON(ctx, "/charges", Charge{Key: o.ID, Order: o.ID, AmountCents: o.TotalCents}, &ch)
	if err != nil {
		return statusOfCallError(err), o, fmt.Errorf("order %s pending: charge: %w", o.ID, err)
	}
	if resp.status/100 != 2 {
		return http.StatusServiceUnavailable, o, fmt.Errorf("order %s pending: charge: status %d", o.ID, resp.status)
	}
	o, err = s.finish(ctx, o.ID, StatePaid, ch.Key, "")
	if err != nil {
		return 500, o, err
	}
	return http.StatusCreated, o, nil
}

// cartRefused fails an order whose cart another order checked out (or that
// changed since): the stock reserved for it is released first, and the
// order stays pending (for the reconciler) until that is done. The refusal
// is final: a cart version once consumed, or moved past, stays so.
func (s *service) cartRefused(ctx context.Context, o Order, why string) (int, Order, error) {
	resp, err := s.edges[sut.Inventory].postJSON(ctx, "/reservations/"+o.ID+"/release", nil, nil)
	if err != nil {
		return statusOfCallError(err), o, fmt.Errorf("order %s pending: cart refused, release: %w", o.ID, err)
	}
	if resp.status/100 != 2 {
		return http.StatusServiceUnavailable, o, fmt.Errorf("order %s pending: cart refused, release: status %d", o.ID, resp.status)
	}
	o, err = s.finish(ctx, o.ID, StateFailed, "", "cart refused: "+why)
	if err != nil {
		return 500, o, err
	}
	return http.StatusConflict, o, fmt.Errorf("order %s failed: %s", o.ID, o.Reason)
}

func statusOfCallError(err error) int {
	var ce *callError
	if errors.As(err, &ce) && ce.outcome == outcomeTimeout {
		return http.StatusGatewayTimeout
	}
	return http.StatusServiceUnavailable
}

// finish moves an order to paid or failed. Paid wins over failed: a charge
// that went through makes the order paid whatever a racing driver decided.
func (s *service) finish(ctx context.Context, id, state, chargeID, reason string) (Order, error) {
	var o Order
	changed := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		changed = false
		b := tx.Bucket([]byte("orders"))
		found, err := getJSONKey(b, id, &o)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("order %s vanished", id)
		}
		if o.State == StatePaid || (o.State == StateFailed && state == StateFailed) {
			return nil
		}
		o.State, o.ChargeID, o.Reason = state, chargeID, reason
		changed = true
		if err := tx.Bucket([]byte("pending")).Delete([]byte(id)); err != nil {
			return err
		}
		return putJSONKey(b, id, o)
	})
	if err == nil && changed {
		s.m.orders.WithLabelValues(state).Inc()
	}
	return o, err
}

// reconcile drives every pending order older than minAge and returns how
// many are still pending.
func (s *service) reconcile(ctx context.Context, minAge time.Duration) (int, error) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	var pending []Order
	cutoff := time.Now().Add(-minAge).UnixMilli()
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ob := tx.Bucket([]byte("orders"))
		return tx.Bucket([]byte("pending")).ForEach(func(k, _ []byte) error {
			var o Order
			if found, err := getJSONKey(ob, string(k), &o); err != nil || !found {
				return err
			}
			if o.State == StatePending && o.CreatedMs <= cutoff {
				pending = append(pending, o)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	still := 0
	for _, o := range pending {
		if ctx.Err() != nil {
			return still, ctx.Err()
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, o, err := s.drive(dctx, o)
		cancel()
		if err != nil && o.State == StatePending {
			still++
		}
	}
	return still, nil
}

var adminHTTP = &http.Client{Timeout: 60 * time.Second}

// adminCall calls an admin endpoint of service, trying its replicas in turn.
func (s *service) adminCall(ctx context.Context, method, service, path string, out any) error {
	var errs []error
	for _, u := range s.upstreams[service] {
		req, err := http.NewRequestWithContext(ctx, method, u+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set(client.TokenHeader, "Bearer "+s.token)
		resp, err := adminHTTP.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if resp.StatusCode/100 != 2 {
			errs = append(errs, fmt.Errorf("%s %s%s: %s: %s", method, u, path, resp.Status, strings.TrimSpace(string(data))))
			continue
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s%s: %w", method, u, path, err)
			}
		}
		return nil
	}
	if len(errs) == 0 {
		return fmt.Errorf("%s: no upstream address", service)
	}
	return fmt.Errorf("%s %s on %s: %w", method, path, service, errors.Join(errs...))
}

func (s *service) adminGet(ctx context.Context, service, path string, out any) error {
	return s.adminCall(ctx, http.MethodGet, service, path, out)
}

// ---- gateway

func (s *service) gatewayRoutes() {
	cat, cart, ord := s.edges[sut.Catalog], s.edges[sut.Cart], s.edges[sut.Orders]
	s.handle("GET /api/products", "list_products", func(w http.ResponseWriter, r *http.Request) {
		relayTo(w)(cat.call(r.Context(), http.MethodGet, "/products", nil))
	})
	s.handle("GET /api/products/{id}", "get_product", func(w http.ResponseWriter, r *http.Request) {
		relayTo(w)(cat.call(r.Context(), http.MethodGet, "/products/"+r.PathValue("id"), nil))
	})
	s.handle("POST /api/cart/{user}/items", "add_cart_item", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || !isUserName(r.PathValue("user")) {
			writeError(w, 400, fmt.Errorf("bad request: %v", err))
			return
		}
		relayTo(w)(cart.call(r.Context(), http.MethodPost, "/carts/"+r.PathValue("user")+"/items", body))
	})
	s.handle("GET /api/cart/{user}", "get_cart", func(w http.ResponseWriter, r *http.Request) {
		relayTo(w)(cart.call(r.Context(), http.MethodGet, "/carts/"+r.PathValue("user"), nil))
	})
	s.handle("GET /api/orders/{id}", "get_order", func(w http.ResponseWriter, r *http.Request) {
		relayTo(w)(ord.call(r.Context(), http.MethodGet, "/orders/"+r.PathValue("id"), nil))
	})
	s.handle("POST /api/checkout", "checkout", func(w http.ResponseWriter, r *http.Request) {
		var req checkoutRequest
		if err := decodeBody(r, &req); err != nil {
			writeError(w, 400, err)
			return
		}
		var o Order
		resp, err := ord.postJSON(r.Context(), "/orders", createOrderRequest{ID: newID(), User: req.User, Items: req.Items}, &o)
		if err != nil {
			writeCallError(w, err)
			return
		}
		if resp.status/100 != 2 || o.State != StatePaid {
			relayTo(w)(resp, nil)
			return
		}
		// The acknowledgement is durable before the client sees it.
		err = s.update(r.Context(), func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("acks")).Put([]byte(o.ID), []byte(fmt.Sprint(time.Now().UnixMilli())))
		})
		if err != nil {
			writeError(w, 500, fmt.Errorf("order %s paid but not acknowledged: %w", o.ID, err))
			return
		}
		writeJSON(w, http.StatusCreated, o)
	})
	s.admin("GET /admin/acks", func(w http.ResponseWriter, r *http.Request) {
		acks, err := s.acks(r.Context())
		if err != nil {
			writeError(w, 500, err)
			return
		}
		writeJSON(w, 200, acks)
	})
	s.admin("GET /admin/integrity", func(w http.ResponseWriter, r *http.Request) {
		rep, err := s.integrity(r.Context())
		if err != nil {
			writeError(w, 502, err)
			return
		}
		writeJSON(w, 200, rep)
	})
}

func (s *service) acks(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("acks")).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// integrity reconciles pending orders, then checks that every acknowledged
// order exists and is paid exactly once and that stock adds up.
func (s *service) integrity(ctx context.Context) (client.IntegrityReport, error) {
	var rep client.IntegrityReport
	if err := s.adminCall(ctx, http.MethodPost, sut.Orders, "/admin/reconcile", nil); err != nil {
		return rep, fmt.Errorf("integrity: %w", err)
	}
	var l Ledger
	if err := s.adminGet(ctx, sut.Orders, "/admin/ledger", &l); err != nil {
		return rep, fmt.Errorf("integrity: %w", err)
	}
	acks, err := s.acks(ctx)
	if err != nil {
		return rep, fmt.Errorf("integrity: acks: %w", err)
	}
	return checkIntegrity(acks, l), nil
}

// checkIntegrity is the pure part of the integrity check.
func checkIntegrity(acks []string, l Ledger) client.IntegrityReport {
	rep := client.IntegrityReport{
		Acknowledged: len(acks), Orders: len(l.Orders), Charges: len(l.Charges),
		Missing: []string{}, Unpaid: []string{}, ChargedTwice: []string{}, PaidNotCharged: []string{}, CartChargedTwice: []string{},
		StockMismatches: []client.StockMismatch{}, Problems: []string{},
	}
	orders := map[string]Order{}
	for _, o := range l.Orders {
		orders[o.ID] = o
		switch o.State {
		case StatePaid:
			rep.Paid++
		case StatePending:
			rep.Pending++
		case StateFailed:
			rep.Failed++
		}
	}
	charges := map[string]int{}
	for _, c := range l.Charges {
		charges[c.Order]++
	}
	for _, id := range acks {
		o, ok := orders[id]
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, id)
		case o.State != StatePaid:
			rep.Unpaid = append(rep.Unpaid, id)
		}
	}
	for id, n := range charges {
		if n > 1 {
			rep.ChargedTwice = append(rep.ChargedTwice, id)
		}
	}
	// One cart version, one paid order: "user@version" of every cart that
	// more than one paid order checked out.
	cartPaid := map[string]int{}
	for _, o := range l.Orders {
		if o.State == StatePaid && o.CartVersion > 0 {
			cartPaid[o.User+"@"+strconv.FormatInt(o.CartVersion, 10)]++
		}
	}
	for cart, n := range cartPaid {
		if n > 1 {
			rep.CartChargedTwice = append(rep.CartChargedTwice, cart)
		}
	}
	sold, reserved := map[string]int64{}, map[string]int64{}
	for _, o := range l.Orders {
		if o.State == StatePaid && charges[o.ID] == 0 {
			rep.PaidNotCharged = append(rep.PaidNotCharged, o.ID)
		}
		res, ok := l.Stock.Reservations[o.ID]
		held := ok && res.State == "active"
		for _, it := range o.Items {
			switch {
			case o.State == StatePaid:
				sold[it.SKU] += it.Qty
			case o.State == StatePending && held:
				reserved[it.SKU] += it.Qty
			}
		}
	}
	skus := make([]string, 0, len(l.Stock.Initial))
	for sku := range l.Stock.Initial {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	for _, sku := range skus {
		ini := l.Stock.Initial[sku]
		exp := ini - sold[sku] - reserved[sku]
		if act := l.Stock.Stock[sku]; act != exp {
			rep.StockMismatches = append(rep.StockMismatches, client.StockMismatch{
				SKU: sku, Initial: ini, Sold: sold[sku], Reserved: reserved[sku], Expected: exp, Actual: act})
		}
	}
	for _, l := range [][]string{rep.Missing, rep.Unpaid, rep.ChargedTwice, rep.PaidNotCharged, rep.CartChargedTwice} {
		sort.Strings(l)
	}
	add := func(ids []string, what string) {
		if len(ids) > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%d %s: %s", len(ids), what, abbreviate(ids)))
		}
	}
	add(rep.Missing, "acknowledged orders missing from the orders store")
	add(rep.Unpaid, "acknowledged orders not paid")
	add(rep.ChargedTwice, "orders charged more than once")
	add(rep.PaidNotCharged, "orders marked paid without a charge")
	add(rep.CartChargedTwice, "carts (user@version) checked out by more than one paid order")
	for _, m := range rep.StockMismatches {
		rep.Problems = append(rep.Problems, fmt.Sprintf("stock of %s is %d, want %d (initial %d - sold %d - reserved %d)",
			m.SKU, m.Actual, m.Expected, m.Initial, m.Sold, m.Reserved))
	}
	rep.OK = len(rep.Problems) == 0
	return rep
}

func abbreviate(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" and %d more", len(ids)-5)
	}
	return strings.Join(ids, ", ")
}
