package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// remoteProxy is a real proxy in front of a loopback HTTP server, with its
// admin API on another loopback server, and a Remote that drives it.
func remoteProxy(t *testing.T, token string) (*Proxy, *Remote, string) {
	t.Helper()
	srv := httpServer(t, nil)
	p := newProxy(t, srv.Listener.Addr().String(), WithName("caller->callee"))
	admin := httptest.NewServer(AdminHandler(p, token))
	t.Cleanup(admin.Close)
	return p, &Remote{URL: admin.URL, Token: token}, "http://" + p.Addr() + "/"
}

// A toxic added through the admin API acts like one added in process, and
// removing it through the API restores the link.
func TestRemoteAddsAndRemovesAToxicThatActs(t *testing.T) {
	p, r, url := remoteProxy(t, "s3cret")
	ctx := context.Background()
	c := keepAliveClient(t, 5*time.Second)
	base := p50(t, c, url, 30)
	id, err := r.AddToxic(ctx, Latency{Delay: 40 * time.Millisecond, Direction: Downstream})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Toxics()[id]; !ok {
		t.Fatalf("id %q not active on the proxy: %v", id, p.Toxics())
	}
	listed, err := r.Toxics(ctx)
	if err != nil || len(listed) != 1 || listed[0].ID != id || listed[0].Spec.Delay != "40ms" {
		t.Fatalf("listed %+v, %v", listed, err)
	}
	faulted := p50(t, c, url, 11)
	if d := faulted - base; !within(d, 40*time.Millisecond, 3*time.Millisecond) {
		t.Errorf("p50 moved by %v through the remote toxic, want 40ms ± 3ms", d)
	}
	if err := r.RemoveToxic(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveToxic(ctx, id); err != nil {
		t.Errorf("removing twice: %v", err)
	}
	if n := len(p.Toxics()); n != 0 {
		t.Errorf("%d toxics left", n)
	}
	if after := p50(t, c, url, 30); after > base+3*time.Millisecond {
		t.Errorf("p50 after remove %v, base %v", after, base)
	}
}

func TestAdminRefusesAWrongTokenAndABadToxic(t *testing.T) {
	p, r, _ := remoteProxy(t, "s3cret")
	ctx := context.Background()
	wrong := &Remote{URL: r.URL, Token: "guess"}
	if _, err := wrong.AddToxic(ctx, Reset{Probability: 1}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/toxics", strings.NewReader(`{"type":"latency","direction":"both","delay":"1ms","colour":"red"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: %s, want 400", resp.Status)
	}
	if _, err := r.AddToxic(ctx, Latency{Direction: Both}); err == nil || !strings.Contains(err.Error(), "delay or jitter must be positive") {
		t.Errorf("bad toxic: %v", err)
	}
	if n := len(p.Toxics()); n != 0 {
		t.Errorf("%d toxics added by refused requests", n)
	}
}

func TestRemoteCallsAreBoundedByTheirContext(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handler returns, then the server closes
	r := &Remote{URL: stuck.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.AddToxic(ctx, Reset{Probability: 1}); err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("stuck admin API: %v", err)
	}
}
