package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
)

func TestLossDropsConnectionsAndRevertRestoresThem(t *testing.T) {
	b := newLinkBed(t)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := b.url("orders", "payment")
	f := mustNew(t, Spec{Name: "lossy", Type: "loss", Target: Target{Service: "payment"}, Params: map[string]string{"probability": "50%"}, Seed: 7}, b)
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := 0
	const n = 200
	for i := 0; i < n; i++ {
		if _, err := e2etest.TimedGet(c, url); err != nil {
			failed++
		}
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d requests lost at 50%%", failed, n)
	if failed < n*35/100 || failed > n*65/100 {
		t.Errorf("%d of %d lost, want about half", failed, n)
	}
	for i := 0; i < 20; i++ {
		if _, err := e2etest.TimedGet(c, url); err != nil {
			t.Fatalf("after revert: %v", err)
		}
	}
}
