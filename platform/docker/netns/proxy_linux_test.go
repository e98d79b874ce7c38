//go:build linux

package netns

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gameday/gameday/faults/proxy"
)

// The Docker runtime's design, end to end: a fault proxy listening on the
// caller namespace's 127.0.0.1 and dialling the callee across a link from
// inside that namespace; toxics act as on the local runtime, and the
// namespace's packet filter sees the proxy's upstream traffic.
func TestProxyInsideACallerNamespace(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	caller, callee := newNS(t), newNS(t)
	_, calleeAddr := veth(t, caller, callee)
	upstream, accepted := echo(t, callee.NS, netip.AddrPortFrom(calleeAddr, 0).String())

	ln, err := caller.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.Listen(ctx, "", upstream, proxy.WithListener(ln), proxy.WithDialer(caller.DialContext),
		proxy.WithDialTimeout(300*time.Millisecond), proxy.WithName("caller->callee"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	c, err := dialIn(t, caller.NS, p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c, 2*time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if accepted.Load() != 1 {
		t.Fatalf("callee accepted %d connections, want 1", accepted.Load())
	}

	if _, err := p.Add(proxy.Latency{Delay: 50 * time.Millisecond, Direction: proxy.Upstream}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := roundTrip(c, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 150*time.Millisecond {
		t.Errorf("round trip with 50ms latency: %v", d)
	}
	p.RemoveAll()

	chain := "GD-test-proxy"
	t.Cleanup(func() { _ = caller.RemoveChain(ctx, chain) })
	port := int(netip.MustParseAddrPort(upstream).Port())
	if err := caller.AddChain(ctx, chain, []Rule{{Dst: calleeAddr, Port: port, Action: Drop}}); err != nil {
		t.Fatal(err)
	}
	c2, err := dialIn(t, caller.NS, p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c2, 2*time.Second); err == nil {
		t.Error("through the proxy under a drop rule: no error")
	}
	if got := p.Stats().DialErrors; got != 1 {
		t.Errorf("proxy dial errors %d, want 1 (its upstream dial timed out in the filtered namespace)", got)
	}
	if err := caller.RemoveChain(ctx, chain); err != nil {
		t.Fatal(err)
	}
	c3, err := dialIn(t, caller.NS, p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c3, 2*time.Second); err != nil {
		t.Errorf("through the proxy after RemoveChain: %v", err)
	}
}
