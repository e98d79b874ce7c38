package metrics

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// virtualClock advances one second of the synthetic timeline per reading.
type virtualClock struct {
	mu  sync.Mutex
	sec float64
}

func (c *virtualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := at(c.sec)
	c.sec++
	return t
}

func TestAbortWatcherFiresAfterFor(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	// error ratio: fine until 10 s, a 2 s spike at 10..11 s, fine again,
	// then a sustained breach from 20 s.
	vals := repeat(0.01, 60)
	vals[10], vals[11] = 0.9, 0.9
	for i := 20; i < 60; i++ {
		vals[i] = 0.7
	}
	appendSeries(t, e, map[string]string{"__name__": "err_ratio", "scenario": "checkout"}, 0, vals...)
	appendSeries(t, e, map[string]string{"__name__": "err_ratio", "scenario": "browse"}, 0, repeat(0.01, 60)...)
	gt, _ := ParseBound("> 0.5")
	clock := &virtualClock{}
	w := &AbortWatcher{
		Querier: e.Querier(),
		Conditions: []AbortCondition{
			{Name: "never", Query: "absent_metric", Bound: gt},
			{Name: "errors", Query: "err_ratio", Bound: gt, For: 5 * time.Second},
		},
		Step: time.Millisecond,
		Now:  clock.now,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Condition.Name != "errors" || !a.Since.Equal(at(20)) || !a.At.Equal(at(25)) || a.Observed != 0.7 {
		t.Fatalf("got %+v, want errors since 20 s fired at 25 s with 0.7", a)
	}
	if !strings.Contains(a.Reason, "observed 0.7 holds > 0.5") {
		t.Fatalf("reason %q", a.Reason)
	}
}

func TestAbortWatcherStopsWithContext(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	gt, _ := ParseBound("> 0.5")
	w := &AbortWatcher{Querier: e.Querier(), Conditions: []AbortCondition{{Name: "errors", Query: "absent_metric", Bound: gt}}, Step: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		a, err := w.Run(ctx)
		if a != nil {
			t.Errorf("fired without data: %+v", a)
		}
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	rel, _ := ParseBound("> 2 * baseline")
	w.Conditions = []AbortCondition{{Name: "rel", Query: "x", Bound: rel}}
	if _, err := w.Run(context.Background()); err == nil {
		t.Fatal("relative bound accepted")
	}
}
