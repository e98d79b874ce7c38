package faults

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
)

// The link fault types act on a proxy they reach only through its admin
// API (proxy.Remote), as they will on a sidecar beside a caller in a
// cluster: a latency moves the edge's p50 and its revert brings it back, a
// partition cuts the edge and its revert heals it.
func TestLinkFaultsWorkThroughARemoteProxy(t *testing.T) {
	b := newLinkBed(t).remote(t)
	ctx := context.Background()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := b.url("orders", "payment")
	e2etest.MedianGet(t, c, url, 20)
	before := e2etest.MedianGet(t, c, url, 51)
	slow := mustNew(t, Spec{Name: "slow", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "40ms"}}, b)
	if err := slow.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(b.proxies[Edge{"orders", "payment"}].Toxics()); n != 1 {
		t.Fatalf("%d toxics on the proxy after a remote inject, want 1", n)
	}
	during := e2etest.MedianGet(t, c, url, 21)
	if err := slow.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	after := e2etest.MedianGet(t, c, url, 51)
	t.Logf("p50 before %v during %v after %v", before, during, after)
	if shift := during - before; shift < 37*time.Millisecond || shift > 45*time.Millisecond {
		t.Errorf("shift %v through the remote proxy, want 40 ± 3 ms", shift)
	}
	if after-before > 3*time.Millisecond {
		t.Errorf("after revert %v, before %v", after, before)
	}

	cut := mustNew(t, Spec{Name: "cut", Type: "partition", Target: Target{Service: "payment"}, Params: map[string]string{"mode": "refuse"}}, b)
	if err := cut.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(url); err == nil {
		t.Error("the edge answered through a refuse partition")
	}
	if err := cut.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("edge after the partition's revert: %v", err)
	}
	resp.Body.Close()
	for e, p := range b.proxies {
		if n := len(p.Toxics()); n != 0 {
			t.Errorf("%v: %d toxics left after revert", e, n)
		}
	}
}

// A revert that cannot reach the remote proxy is an error that names it,
// never a silent success: the fault stays marked active.
func TestARemoteRevertThatFailsIsReported(t *testing.T) {
	b := newLinkBed(t).remote(t)
	ctx := context.Background()
	f := mustNew(t, Spec{Name: "slow", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "40ms"}}, b)
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	r := b.remotes[Edge{"orders", "payment"}]
	good := r.URL
	r.URL = "http://127.0.0.1:1" // nothing listens on port 1
	err := f.Revert(ctx)
	if err == nil || !strings.Contains(err.Error(), "remove latency") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("revert through an unreachable admin API: %v", err)
	}
	r.URL = good
	if err := f.Revert(ctx); err != nil {
		t.Fatalf("second revert: %v", err)
	}
	if n := len(b.proxies[Edge{"orders", "payment"}].Toxics()); n != 0 {
		t.Errorf("%d toxics left", n)
	}
}
