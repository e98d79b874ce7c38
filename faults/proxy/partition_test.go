package proxy

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestPartitionValidate(t *testing.T) {
	if err := (Partition{}).Validate(); err == nil {
		t.Error("zero mode accepted")
	}
	for _, m := range []PartitionMode{Blackhole, Refuse} {
		if err := (Partition{Mode: m}).Validate(); err != nil {
			t.Errorf("%v: %v", m, err)
		}
	}
	if m, err := ParsePartitionMode("refuse"); err != nil || m != Refuse {
		t.Errorf("ParsePartitionMode(refuse) = %v, %v", m, err)
	}
}

// Refuse: new connections are reset at once, existing ones are reset when the
// partition is added, and Remove restores service.
func TestPartitionRefuse(t *testing.T) {
	p := newProxy(t, echoServer(t))
	old := dial(t, p.Addr())
	if err := roundTrip(old, []byte("warm"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	id, err := p.Add(Partition{Mode: Refuse})
	if err != nil {
		t.Fatal(err)
	}
	_ = old.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := old.Read(make([]byte, 1)); !isReset(err) {
		t.Errorf("existing connection: %v, want ECONNRESET", err)
	}
	start := time.Now()
	if err := dialRoundTrip(p.Addr(), []byte("ping"), 2*time.Second); !isReset(err) {
		t.Errorf("new connection: %v, want ECONNRESET", err)
	}
	if el := time.Since(start); el > 200*time.Millisecond {
		t.Errorf("refused after %v, want at once", el)
	}
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	if err := dialRoundTrip(p.Addr(), []byte("ping"), 2*time.Second); err != nil {
		t.Fatalf("after Remove: %v", err)
	}
	if s := p.Stats(); s.Refused != 2 {
		t.Errorf("Stats().Refused = %d, want 2", s.Refused)
	}
}

// Blackhole: new and existing connections get no answer and time out; on
// revert every blackholed connection is closed, so the caller's keep-alive
// pool recovers and the next request succeeds at once.
func TestPartitionBlackholeAndRevert(t *testing.T) {
	srv := httpServer(t, nil)
	p := newProxy(t, srv.Listener.Addr().String())
	old := dial(t, p.Addr())
	if err := roundTrip(old, []byte("x"), 200*time.Millisecond); !isTimeout(err) {
		// An HTTP server answers nothing to a lone "x" before the request is
		// complete, so the warm-up only opens the connection.
		t.Fatalf("warm-up: %v", err)
	}
	c := keepAliveClient(t, 300*time.Millisecond)
	url := "http://" + p.Addr() + "/"
	if err := get(c, url); err != nil {
		t.Fatal(err)
	}
	id, err := p.Add(Partition{Mode: Blackhole})
	if err != nil {
		t.Fatal(err)
	}
	// Existing keep-alive connection: the request times out.
	if err := get(c, url); err == nil {
		t.Fatal("request through a blackhole succeeded")
	}
	// New connection: accepted, never answered.
	fresh := dial(t, p.Addr())
	if err := roundTrip(fresh, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("new connection under blackhole: %v, want timeout", err)
	}
	if err := p.Remove(id); err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]interface {
		Read([]byte) (int, error)
		SetReadDeadline(time.Time) error
	}{"existing": old, "new": fresh} {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("%s blackholed connection after Remove: %v, want EOF", name, err)
		}
	}
	c.Timeout = 2 * time.Second
	if err := get(c, url); err != nil {
		t.Fatalf("request after revert: %v", err)
	}
	if s := p.Stats(); s.Blackholed < 2 {
		t.Errorf("Stats().Blackholed = %d, want >= 2", s.Blackholed)
	}
}

// A blackhole makes an HTTP client time out rather than fail fast; refuse
// makes it fail fast.
func TestPartitionModesAsSeenByHTTPClient(t *testing.T) {
	srv := httpServer(t, nil)
	for _, tc := range []struct {
		mode    PartitionMode
		minTime time.Duration
		maxTime time.Duration
	}{
		{Blackhole, 250 * time.Millisecond, 2 * time.Second},
		{Refuse, 0, 100 * time.Millisecond},
	} {
		p := newProxy(t, srv.Listener.Addr().String())
		if _, err := p.Add(Partition{Mode: tc.mode}); err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		start := time.Now()
		err := get(c, "http://"+p.Addr()+"/")
		el := time.Since(start)
		if err == nil || el < tc.minTime || el > tc.maxTime {
			t.Errorf("%v: err %v after %v, want an error within [%v, %v]", tc.mode, err, el, tc.minTime, tc.maxTime)
		}
	}
}
