package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
)

func TestResetFailsCallsFastAndRevertRestoresThem(t *testing.T) {
	b := newLinkBed(t)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := b.url("gateway", "orders")
	f := mustNew(t, Spec{Name: "rst", Type: "reset", Target: Target{Service: "orders", From: "gateway"}}, b)
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	took, err := e2etest.TimedGet(c, url)
	if err == nil || took > 200*time.Millisecond {
		t.Errorf("call through a 100%% reset edge: err %v after %v, want a fast failure", err, took)
	}
	if _, err := e2etest.TimedGet(c, b.url("orders", "payment")); err != nil {
		t.Errorf("orders→payment hit by a reset on gateway→orders: %v", err)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e2etest.TimedGet(c, url); err != nil {
		t.Fatalf("after revert: %v", err)
	}
}
