package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gameday/gameday/faults/proxy"
)

// linkBed is a real LinkRuntime: an HTTP server per service, and a real
// fault proxy per edge in front of it.
type linkBed struct {
	edges   []Edge
	proxies map[Edge]*proxy.Proxy
	// remotes, when set, are what Links hands out: each proxy driven
	// through its admin API, as a sidecar proxy in another process is.
	remotes map[Edge]*proxy.Remote
}

func (b *linkBed) Name() string  { return "test" }
func (b *linkBed) Edges() []Edge { return b.edges }
func (b *linkBed) Links(to, from string) ([]Link, error) {
	var out []Link
	for _, e := range b.edges {
		if e.To == to && (from == "" || e.From == from) {
			if b.remotes != nil {
				out = append(out, b.remotes[e])
				continue
			}
			out = append(out, b.proxies[e])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no edge into %s from %q", to, from)
	}
	return out, nil
}

func (b *linkBed) url(from, to string) string {
	return "http://" + b.proxies[Edge{From: from, To: to}].Addr()
}

// newLinkBed wires client→gateway, gateway→orders, orders→payment.
func newLinkBed(t *testing.T) *linkBed {
	t.Helper()
	b := &linkBed{proxies: map[Edge]*proxy.Proxy{}}
	body := strings.Repeat("x", 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			io.WriteString(w, body)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	for _, e := range []Edge{{ClientCaller, "gateway"}, {"gateway", "orders"}, {"orders", "payment"}} {
		p, err := proxy.Listen(context.Background(), "127.0.0.1:0", srv.Listener.Addr().String(), proxy.WithName(e.From+"->"+e.To))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		b.edges = append(b.edges, e)
		b.proxies[e] = p
	}
	return b
}

// remote makes the bed's links remote: an admin API per proxy, on its own
// loopback server, and a proxy.Remote that drives it.
func (b *linkBed) remote(t *testing.T) *linkBed {
	t.Helper()
	b.remotes = map[Edge]*proxy.Remote{}
	for e, p := range b.proxies {
		admin := httptest.NewServer(proxy.AdminHandler(p, "tok"))
		t.Cleanup(admin.Close)
		b.remotes[e] = &proxy.Remote{URL: admin.URL, Token: "tok"}
	}
	return b
}

func mustNew(t *testing.T, spec Spec, rt Runtime) Fault {
	t.Helper()
	f, err := New(spec, rt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
