package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
	"github.com/gameday/gameday/sut/policy"
)

// syncBuffer is a log sink that the service writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines(match ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		ok := l != ""
		for _, m := range match {
			ok = ok && strings.Contains(l, m)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// runLogged runs a service in-process with its log in a buffer; stop drains
// it (which flushes the log) and waits.
func runLogged(t *testing.T, cfg Config) (url string, log *syncBuffer, stop func()) {
	t.Helper()
	log = &syncBuffer{}
	cfg.Stderr, cfg.Listen = log, "127.0.0.1:0"
	if cfg.Variant == nil {
		cfg.Variant = mustVariant(t, "naive")
	}
	url, stop = runService(t, cfg)
	return url, log, stop
}

// A 5xx answered and a failed call are logged, with the edge, the attempt,
// the error class and the duration.
func TestInstanceLogsErrorsAndFailedCalls(t *testing.T) {
	dir := t.TempDir()
	// Orders with a cart that refuses connections: a cart checkout fails on
	// orders->cart and orders answers 503.
	ups := map[string][]string{}
	for _, c := range sut.Callees(sut.Orders) {
		ups[c] = []string{"http://127.0.0.1:1"}
	}
	u, log, stop := runLogged(t, Config{Service: sut.Orders, Upstreams: ups, DataDir: dir})
	if code := doJSON(t, "POST", u+"/orders", "", `{"id":"o1","user":"ann"}`, nil); code != 503 {
		t.Fatalf("checkout with cart down: %d, want 503", code)
	}
	if code := doJSON(t, "GET", u+"/healthz", "", "", nil); code != 200 {
		t.Fatal(code)
	}
	stop()
	failed := log.lines("kind=call_failed", "edge=orders->cart", "attempt=1", "class=transport", "took=", "error=")
	served := log.lines("kind=server_error", "op=create_order", "status=503", "took=", "connection refused")
	if len(failed) != 1 || len(served) != 1 {
		t.Fatalf("log: call_failed %q, server_error %q; all:\n%s", failed, served, strings.Join(log.lines(), "\n"))
	}
	if n := len(log.lines("level=WARN")); n != 2 {
		t.Fatalf("%d warnings, want 2 (a successful request logs nothing):\n%s", n, strings.Join(log.lines(), "\n"))
	}
}

// A request slower than --slow is logged, a fast one is not; an attempt
// that times out is logged as such.
func TestInstanceLogsSlowRequestsAndTimeouts(t *testing.T) {
	dir := t.TempDir()
	cart, _, _ := runLogged(t, Config{Service: sut.Cart, DataDir: dir, AdminToken: testToken})
	ctx := context.Background()
	if _, err := client.SetFault(ctx, cart, testToken, client.AdminFault{Kind: client.KindDelay, Operation: "get_cart", Delay: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	v := mustVariant(t, "resilient") // gateway->cart: 250 ms timeout, 2 attempts
	ups := map[string][]string{}
	for _, c := range sut.Callees(sut.Gateway) {
		ups[c] = []string{"http://127.0.0.1:1"}
	}
	ups[sut.Cart] = []string{cart}
	gw, log, stop := runLogged(t, Config{Service: sut.Gateway, Variant: v, Upstreams: ups, DataDir: dir, Slow: 100 * time.Millisecond})
	if code := doJSON(t, "POST", gw+"/api/cart/ann/items", "", `{"sku":"A1","qty":1}`, nil); code != 200 {
		t.Fatalf("add item: %d", code)
	}
	if code := doJSON(t, "GET", gw+"/api/cart/ann", "", "", nil); code != 504 {
		t.Fatalf("get cart with a slow cart: %d, want 504", code)
	}
	stop()
	timeouts := log.lines("kind=call_timeout", "edge=gateway->cart", "class=timeout", "timeout=250ms")
	slow := log.lines("kind=slow_request", "op=get_cart")
	if len(timeouts) != 2 || len(slow) != 0 || len(log.lines("op=add_cart_item")) != 0 {
		t.Fatalf("log: timeouts %q, slow %q; all:\n%s", timeouts, slow, strings.Join(log.lines(), "\n"))
	}
	if len(log.lines("kind=server_error", "op=get_cart", "status=504")) != 1 {
		t.Fatalf("no 504 line:\n%s", strings.Join(log.lines(), "\n"))
	}
	// Slow but successful: the fault delays every get_cart on the cart itself.
	cart2, log2, stop2 := runLogged(t, Config{Service: sut.Cart, DataDir: t.TempDir(), AdminToken: testToken, Slow: 50 * time.Millisecond})
	if _, err := client.SetFault(ctx, cart2, testToken, client.AdminFault{Kind: client.KindDelay, Operation: "get_cart", Delay: 80 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	doJSON(t, "GET", cart2+"/carts/ann", "", "", nil)
	doJSON(t, "POST", cart2+"/carts/ann/items", "", `{"sku":"A1","qty":1}`, nil)
	stop2()
	if s := log2.lines("kind=slow_request"); len(s) != 1 || !strings.Contains(s[0], "op=get_cart") || !strings.Contains(s[0], "status=200") {
		t.Fatalf("slow lines %q; all:\n%s", s, strings.Join(log2.lines(), "\n"))
	}
}

// At most LogRate lines of a kind per second; the rest are counted in
// "suppressed K similar lines", so that logged + suppressed = events.
func TestInstanceLogIsRateLimited(t *testing.T) {
	ups := map[string][]string{}
	for _, c := range sut.Callees(sut.Catalog) {
		ups[c] = []string{"http://127.0.0.1:1"}
	}
	u, log, stop := runLogged(t, Config{Service: sut.Catalog, Upstreams: ups, LogRate: 3, AdminToken: testToken})
	ctx := context.Background()
	if _, err := client.SetFault(ctx, u, testToken, client.AdminFault{Kind: client.KindAbort, Operation: "get_product", Status: 500}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	start := time.Now()
	for i := 0; i < n; i++ {
		if code := doJSON(t, "GET", u+"/products/A1", "", "", nil); code != 500 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	elapsed := time.Since(start)
	stop()
	lines := log.lines("kind=server_error")
	logged, suppressed := 0, 0
	re := regexp.MustCompile(`suppressed=(\d+)`)
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			k, _ := strconv.Atoi(m[1])
			suppressed += k
		} else {
			logged++
		}
	}
	windows := int(elapsed/time.Second) + 1
	if logged > 3*windows || logged+suppressed != n || suppressed == 0 {
		t.Fatalf("%d requests in %v: %d lines logged, %d suppressed (limit 3/s)", n, elapsed, logged, suppressed)
	}
}

// The limiter on a fake clock: per window, perSec lines and one summary.
func TestEventLogLimiter(t *testing.T) {
	var buf syncBuffer
	e := newEventLog(&buf, "cart", "cart-0", 5)
	now := time.Unix(1000, 0)
	e.now = func() time.Time { return now }
	for i := 0; i < 50; i++ {
		e.event(logServerError, "answered 500")
	}
	e.event(logSlowRequest, "slow request") // a kind of its own
	if got := len(buf.lines("kind=server_error")); got != 5 {
		t.Fatalf("%d lines in the first second, want 5", got)
	}
	e.flush(false) // the window has not ended
	if len(buf.lines("suppressed")) != 0 {
		t.Fatal("summary before the window ended")
	}
	now = now.Add(time.Second)
	e.event(logServerError, "answered 500")
	if s := buf.lines("suppressed 45 similar lines", "kind=server_error"); len(s) != 1 {
		t.Fatalf("summary: %q", buf.lines())
	}
	for i := 0; i < 10; i++ {
		e.event(logServerError, "answered 500")
	}
	e.flush(true)
	if s := buf.lines("suppressed 6 similar lines"); len(s) != 1 || len(buf.lines("kind=server_error")) != 5+1+5+1 {
		t.Fatalf("final flush: %q", buf.lines())
	}
	var nilLog *eventLog
	nilLog.event(logServerError, "nothing") // a nil log logs nothing
}

// A request whose caller gives up before it is answered is the caller's
// timeout, not the service's error: it is counted and logged as 499 (caller
// gone), never as a 5xx. (The README's first run once showed "cart 5xx" that
// were the gateway's abandoned calls to a cart whose store was stalled.)
func TestACallerThatGivesUpIsNotTheServicesError(t *testing.T) {
	v := mustVariant(t, "naive")
	spec := v.Services[sut.Cart]
	spec.Capacity.ServiceTime = policy.ServiceTime{P50: policy.Duration(400 * time.Millisecond), P99: policy.Duration(400 * time.Millisecond)}
	v.Services[sut.Cart] = spec
	cart, log, stop := runLogged(t, Config{Service: sut.Cart, Variant: v, DataDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", cart+"/carts/ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the cart answered %d within 100 ms of a 400 ms service time", resp.StatusCode)
	}
	// The handler ends after the cancellation; its count is awaited.
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, cart, "shop_server_requests_total", `operation="get_cart"`) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := metricValue(t, cart, "shop_server_requests_total", `operation="get_cart"`, `code="499"`); got != 1 {
		t.Errorf("get_cart 499s: %g, want 1", got)
	}
	if got := metricValue(t, cart, "shop_server_requests_total", `operation="get_cart"`, `code="500"`); got != 0 {
		t.Errorf("get_cart 500s: %g, want 0 (the caller gave up)", got)
	}
	stop()
	if gone, errs := log.lines("kind=caller_gone", "op=get_cart"), log.lines("kind=server_error"); len(gone) != 1 || len(errs) != 0 {
		t.Fatalf("log: caller_gone %q, server_error %q; all:\n%s", gone, errs, strings.Join(log.lines(), "\n"))
	}
}

// A store transaction slower than --slow is logged with its duration: a
// stalled disk (or a replica holding the shared file) shows in the log as
// the cause of the slow requests it makes.
func TestASlowStoreTransactionIsLogged(t *testing.T) {
	dir := t.TempDir()
	cart, log, stop := runLogged(t, Config{Service: sut.Cart, DataDir: dir, Replicas: 2, Slow: 50 * time.Millisecond})
	// Hold the replicas' shared lock, as a replica whose fsync stalls would.
	lock, err := os.OpenFile(filepath.Join(dir, sut.Cart+".db.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- doJSON(t, "GET", cart+"/carts/ann", "", "", nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, cart, "shop_server_in_flight_requests") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // the stall being simulated
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 200 {
		t.Fatalf("get cart after the stall: %d", code)
	}
	stop()
	st := log.lines("kind=slow_store", "tx=read", "took=")
	slow := log.lines("kind=slow_request", "op=get_cart")
	if len(st) != 1 || len(slow) != 1 {
		t.Fatalf("log: slow_store %q, slow_request %q; all:\n%s", st, slow, strings.Join(log.lines(), "\n"))
	}
}
