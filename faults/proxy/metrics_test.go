package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	up := echoServer(t)
	a := newProxy(t, up, WithName("orders->payment"), WithMetrics(m))
	b := newProxy(t, up, WithName("orders->payment"), WithMetrics(m)) // a second replica, same edge
	for _, p := range []*Proxy{a, b} {
		if err := roundTrip(dial(t, p.Addr()), []byte("12345"), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the byte counters", 2*time.Second, func() bool { return p.Stats().BytesDownstream == 5 })
	}
	if _, err := a.Add(Latency{Delay: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(Latency{Delay: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(Partition{Mode: Refuse}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refused connection to close", 2*time.Second, func() bool { return b.Stats().Active == 0 })

	want := `
# HELP gameday_proxy_connections_total Connections accepted by the fault proxies of an edge.
# TYPE gameday_proxy_connections_total counter
gameday_proxy_connections_total{edge="orders->payment"} 2
# HELP gameday_proxy_bytes_total Bytes forwarded by the fault proxies of an edge (upstream: caller to callee; downstream: callee to caller).
# TYPE gameday_proxy_bytes_total counter
gameday_proxy_bytes_total{direction="downstream",edge="orders->payment"} 10
gameday_proxy_bytes_total{direction="upstream",edge="orders->payment"} 10
# HELP gameday_proxy_active_connections Connections open through the fault proxies of an edge.
# TYPE gameday_proxy_active_connections gauge
gameday_proxy_active_connections{edge="orders->payment"} 1
# HELP gameday_proxy_toxics_active Toxics active on the fault proxies of an edge, by type.
# TYPE gameday_proxy_toxics_active gauge
gameday_proxy_toxics_active{edge="orders->payment",type="bandwidth"} 0
gameday_proxy_toxics_active{edge="orders->payment",type="corrupt"} 0
gameday_proxy_toxics_active{edge="orders->payment",type="latency"} 2
gameday_proxy_toxics_active{edge="orders->payment",type="loss"} 0
gameday_proxy_toxics_active{edge="orders->payment",type="partition"} 1
gameday_proxy_toxics_active{edge="orders->payment",type="reset"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gameday_proxy_connections_total", "gameday_proxy_bytes_total",
		"gameday_proxy_active_connections", "gameday_proxy_toxics_active"); err != nil {
		t.Error(err)
	}

	// Closing a proxy keeps its counters in the totals and drops its gauges.
	_ = a.Close()
	_ = b.Close()
	want = `
# HELP gameday_proxy_connections_total Connections accepted by the fault proxies of an edge.
# TYPE gameday_proxy_connections_total counter
gameday_proxy_connections_total{edge="orders->payment"} 2
# HELP gameday_proxy_active_connections Connections open through the fault proxies of an edge.
# TYPE gameday_proxy_active_connections gauge
gameday_proxy_active_connections{edge="orders->payment"} 0
# HELP gameday_proxy_connections_failed_total Connections a toxic or the upstream failed, by reason (refused, reset, blackholed, dropped, dial_error).
# TYPE gameday_proxy_connections_failed_total counter
gameday_proxy_connections_failed_total{edge="orders->payment",reason="blackholed"} 0
gameday_proxy_connections_failed_total{edge="orders->payment",reason="dial_error"} 0
gameday_proxy_connections_failed_total{edge="orders->payment",reason="dropped"} 0
gameday_proxy_connections_failed_total{edge="orders->payment",reason="refused"} 1
gameday_proxy_connections_failed_total{edge="orders->payment",reason="reset"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gameday_proxy_connections_total", "gameday_proxy_active_connections",
		"gameday_proxy_connections_failed_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "gameday_proxy_toxics_active"); err != nil || n != len(toxicTypes) {
		t.Errorf("toxics_active series after close: %d, %v", n, err)
	}
}
