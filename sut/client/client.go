// Package client is the harness's small Go client for the shop: the
// integrity check after a run and the in-process fault API (/admin/faults)
// that every service exposes. It depends on the standard library only.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// IntegrityReport is what the gateway's GET /admin/integrity returns: whether
// every order the gateway acknowledged (answered 2xx) exists and is paid
// exactly once, and whether stock equals initial stock minus what was sold.
type IntegrityReport struct {
	OK             bool     `json:"ok"`
	Acknowledged   int      `json:"acknowledged"`   // orders the gateway acknowledged
	Orders         int      `json:"orders"`         // orders in the orders store
	Paid           int      `json:"paid"`           // ... of which paid
	Pending        int      `json:"pending"`        // ... still pending after reconciliation (never acknowledged)
	Failed         int      `json:"failed"`         // ... failed (never acknowledged)
	Charges        int      `json:"charges"`        // charges in the payment store
	Missing        []string `json:"missing"`        // acknowledged but absent from the orders store
	Unpaid         []string `json:"unpaid"`         // acknowledged but not paid
	ChargedTwice   []string `json:"chargedTwice"`   // orders with more than one charge
	PaidNotCharged []string `json:"paidNotCharged"` // orders marked paid without a charge
	// CartChargedTwice lists the carts ("user@version") that more than one
	// paid order checked out: the same cart charged twice.
	CartChargedTwice []string        `json:"cartChargedTwice"`
	StockMismatches  []StockMismatch `json:"stockMismatches"` // SKUs whose stock is not initial - sold - reserved
	Problems         []string        `json:"problems"`        // every problem above, in words
}

// StockMismatch is one SKU whose stock does not add up.
type StockMismatch struct {
	SKU      string `json:"sku"`
	Initial  int64  `json:"initial"`
	Sold     int64  `json:"sold"`     // quantity in paid orders
	Reserved int64  `json:"reserved"` // quantity held for pending orders
	Expected int64  `json:"expected"` // initial - sold - reserved
	Actual   int64  `json:"actual"`
}

// Fault kinds of the admin API.
const (
	KindAbort = "abort" // answer Status at once, without doing the work
	KindDelay = "delay" // wait Delay (± Jitter) first
	KindError = "error" // do the work, then answer Status anyway (the side effect happened)
)

// AdminFault is one in-process fault. Exactly one of Operation (an inbound
// operation of the service, such as "charge") and Edge (the callee of an
// outgoing edge, such as "payment") is set.
type AdminFault struct {
	ID        string        `json:"id,omitempty"`
	Kind      string        `json:"kind"`
	Operation string        `json:"operation,omitempty"`
	Edge      string        `json:"edge,omitempty"`
	Status    int           `json:"status,omitempty"`  // abort, error: default 503, 500
	Percent   float64       `json:"percent,omitempty"` // share of requests hit, 0 < p <= 100; 0 means 100
	Delay     time.Duration `json:"-"`
	Jitter    time.Duration `json:"-"`
}

type adminFaultJSON struct {
	AdminFaultAlias
	Delay  string `json:"delay,omitempty"`
	Jitter string `json:"jitter,omitempty"`
}

// AdminFaultAlias is AdminFault without its JSON methods (an implementation detail).
type AdminFaultAlias AdminFault

// MarshalJSON writes durations as strings ("800ms").
func (f AdminFault) MarshalJSON() ([]byte, error) {
	j := adminFaultJSON{AdminFaultAlias: AdminFaultAlias(f)}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	if f.Jitter != 0 {
		j.Jitter = f.Jitter.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations as strings ("800ms").
func (f *AdminFault) UnmarshalJSON(data []byte) error {
	var j adminFaultJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*f = AdminFault(j.AdminFaultAlias)
	var err error
	if j.Delay != "" {
		if f.Delay, err = time.ParseDuration(j.Delay); err != nil {
			return fmt.Errorf("delay: %w", err)
		}
	}
	if j.Jitter != "" {
		if f.Jitter, err = time.ParseDuration(j.Jitter); err != nil {
			return fmt.Errorf("jitter: %w", err)
		}
	}
	return nil
}

// Validate checks a fault before it is sent or installed.
func (f AdminFault) Validate() error {
	switch f.Kind {
	case KindAbort, KindDelay, KindError:
	default:
		return fmt.Errorf("fault kind %q: want abort, delay or error", f.Kind)
	}
	if (f.Operation == "") == (f.Edge == "") {
		return errors.New("fault: set exactly one of operation and edge")
	}
	if f.Percent < 0 || f.Percent > 100 {
		return fmt.Errorf("fault percent %g: want 0..100", f.Percent)
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return fmt.Errorf("fault status %d: want an HTTP status", f.Status)
	}
	if f.Kind == KindDelay && f.Delay <= 0 {
		return errors.New("fault: kind delay needs a positive delay")
	}
	if f.Delay < 0 || f.Jitter < 0 {
		return errors.New("fault: negative delay or jitter")
	}
	return nil
}

// TokenHeader is the header that carries the admin token ("Bearer TOKEN").
const TokenHeader = "Authorization"

var httpClient = &http.Client{Timeout: 60 * time.Second}

func do(ctx context.Context, method, url, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set(TokenHeader, "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, url, err)
		}
	}
	return nil
}

// Integrity asks the gateway to reconcile pending orders and check the
// shop's integrity. An error means the check could not be made; a failed
// check is a report with OK false.
func Integrity(ctx context.Context, gatewayURL, adminToken string) (IntegrityReport, error) {
	var r IntegrityReport
	err := do(ctx, http.MethodGet, strings.TrimRight(gatewayURL, "/")+"/admin/integrity", adminToken, nil, &r)
	if err != nil {
		return IntegrityReport{}, fmt.Errorf("integrity: %w", err)
	}
	return r, nil
}

// SetFault installs f on the service instance at baseURL and returns its id.
func SetFault(ctx context.Context, baseURL, token string, f AdminFault) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	var out AdminFault
	if err := do(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/admin/faults", token, f, &out); err != nil {
		return "", fmt.Errorf("set fault: %w", err)
	}
	return out.ID, nil
}

// ListFaults returns the faults installed on the instance at baseURL.
func ListFaults(ctx context.Context, baseURL, token string) ([]AdminFault, error) {
	var out []AdminFault
	if err := do(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/admin/faults", token, nil, &out); err != nil {
		return nil, fmt.Errorf("list faults: %w", err)
	}
	return out, nil
}

// ClearFault removes fault id from the instance at baseURL. Clearing a fault
// that is not there (already cleared, or the instance restarted) is not an
// error, so that reverting is idempotent.
func ClearFault(ctx context.Context, baseURL, token, id string) error {
	if err := do(ctx, http.MethodDelete, strings.TrimRight(baseURL, "/")+"/admin/faults/"+id, token, nil, nil); err != nil {
		return fmt.Errorf("clear fault %s: %w", id, err)
	}
	return nil
}

// ClearAll removes every fault from the instance at baseURL.
func ClearAll(ctx context.Context, baseURL, token string) error {
	if err := do(ctx, http.MethodDelete, strings.TrimRight(baseURL, "/")+"/admin/faults", token, nil, nil); err != nil {
		return fmt.Errorf("clear faults: %w", err)
	}
	return nil
}
