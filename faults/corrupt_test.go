package faults

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getBody fetches url and returns the body, or the error of the exchange.
func getBody(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// corrupted counts the responses of n GETs that failed or whose body is not want.
func corrupted(c *http.Client, url string, n int, want []byte) int {
	bad := 0
	for range n {
		if b, err := getBody(c, url); err != nil || !bytes.Equal(b, want) {
			bad++
		}
	}
	return bad
}

func TestCorruptSpoilsResponsesAndRevertRestoresThem(t *testing.T) {
	b := newLinkBed(t)
	// No keep-alive: a corrupted framing must not spill into the next exchange.
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := b.url("orders", "payment") + "/big"
	want := []byte(strings.Repeat("x", 64<<10))
	const n = 30
	if bad := corrupted(c, url, n, want); bad != 0 {
		t.Fatalf("before the fault: %d of %d responses corrupted", bad, n)
	}
	f := mustNew(t, Spec{Name: "bitrot", Type: "corrupt", Target: Target{Service: "payment"}, Params: map[string]string{"probability": "100%"}}, b)
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	during := corrupted(c, url, n, want)
	other := corrupted(c, b.url("gateway", "orders")+"/big", n, want)
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := corrupted(c, url, n, want)
	t.Logf("corrupted of %d: during %d (other edge %d), after revert %d", n, during, other, after)
	if during != n {
		t.Errorf("during the fault %d of %d responses corrupted, want all", during, n)
	}
	if other != 0 {
		t.Errorf("gateway→orders: %d responses corrupted by a fault on payment", other)
	}
	if after != 0 {
		t.Errorf("after revert %d of %d responses corrupted", after, n)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Errorf("second revert: %v", err)
	}
}

func TestCorruptParams(t *testing.T) {
	ti, ok := Lookup("corrupt")
	if !ok {
		t.Fatal("corrupt is not registered")
	}
	if err := ti.Validate(map[string]string{"probability": "5%", "direction": "both"}); err != nil {
		t.Errorf("valid params: %v", err)
	}
	for _, bad := range []map[string]string{{"probability": "150%"}, {"direction": "sideways"}, {"delay": "1s"}} {
		if err := ti.Validate(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
