package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
)

func TestLatencyMovesTheEdgeP50By50msAndBack(t *testing.T) {
	b := newLinkBed(t)
	c := &http.Client{Timeout: 5 * time.Second}
	url := b.url("orders", "payment")
	e2etest.MedianGet(t, c, url, 20)
	before := e2etest.MedianGet(t, c, url, 101)
	f := mustNew(t, Spec{Name: "slow", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "50ms"}}, b)
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	during := e2etest.MedianGet(t, c, url, 41)
	other := e2etest.MedianGet(t, c, b.url("gateway", "orders"), 21)
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := e2etest.MedianGet(t, c, url, 101)
	t.Logf("p50 before %v during %v after %v; other edge during %v", before, during, after, other)
	if shift := during - before; shift < 48*time.Millisecond || shift > 52*time.Millisecond {
		t.Errorf("shift %v, want 50 ± 2 ms", shift)
	}
	if after-before > 2*time.Millisecond {
		t.Errorf("after revert %v, before %v", after, before)
	}
	if other > before+10*time.Millisecond {
		t.Errorf("gateway→orders slowed to %v by a fault on payment", other)
	}
}
