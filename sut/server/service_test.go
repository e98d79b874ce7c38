package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
	"github.com/gameday/gameday/sut/policy"
	"github.com/gameday/gameday/sut/resilience"
)

func TestChargeIsIdempotentAndDurable(t *testing.T) {
	dir := t.TempDir()
	v := mustVariant(t, "naive")
	url := func(t *testing.T) string {
		return startService(t, Config{Service: sut.Payment, Variant: v, DataDir: dir, AdminToken: testToken})
	}
	// First life: 20 concurrent charges with one key make one charge.
	t.Run("concurrent", func(t *testing.T) {
		u := url(t)
		var created, replayed atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(u+"/charges", "application/json", strings.NewReader(`{"key":"k1","order":"o1","amountCents":500}`))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 201:
					created.Add(1)
				case 200:
					replayed.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		if created.Load() != 1 || replayed.Load() != 19 {
			t.Fatalf("created %d, replayed %d; want 1 and 19", created.Load(), replayed.Load())
		}
	})
	// Second life on the same data: the key is remembered.
	t.Run("after restart", func(t *testing.T) {
		u := url(t)
		var ch Charge
		if code := doJSON(t, "POST", u+"/charges", "", `{"key":"k1","order":"o1","amountCents":999}`, &ch); code != 200 || ch.AmountCents != 500 {
			t.Fatalf("replay after restart: %d %+v, want 200 with the first charge", code, ch)
		}
		if code := doJSON(t, "POST", u+"/charges", "", `{"key":"k2","order":"o2","amountCents":100}`, nil); code != 201 {
			t.Fatalf("new key: %d, want 201", code)
		}
		var all []Charge
		doJSON(t, "GET", u+"/admin/charges", testToken, "", &all)
		if len(all) != 2 {
			t.Fatalf("%d charges stored, want 2: %+v", len(all), all)
		}
	})
}

// flaky is a real HTTP server whose answers the test switches.
type flaky struct {
	srv    *httptest.Server
	status atomic.Int32
	calls  atomic.Int32
	delay  atomic.Int64
}

func newFlaky(t *testing.T, body string) *flaky {
	f := &flaky{}
	f.status.Store(200)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if d := time.Duration(f.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(int(f.status.Load()))
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func testEdge(t *testing.T, pol policy.EdgePolicy, urls ...string) (*edge, *metrics) {
	t.Helper()
	m := newMetrics("catalog", "test", "0")
	if pol.LoadBalancing == "" {
		pol.LoadBalancing = policy.RoundRobin
	}
	e, err := newEdge("catalog", "inventory", urls, pol, &http.Client{Transport: newTransport()}, false, m, newFaultSet(m), resilience.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	return e, m
}

func counter(t *testing.T, m *metrics, callee, outcome string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "shop_client_calls_total" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mm.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["callee"] == callee && labels["outcome"] == outcome {
				return mm.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestFallbackCachedServesLastGoodAnswer(t *testing.T) {
	up := newFlaky(t, `{"stock":{"A1":7}}`)
	e, m := testEdge(t, policy.EdgePolicy{Fallback: &policy.Fallback{Kind: policy.FallbackCached}}, up.srv.URL)
	ctx := context.Background()
	// Nothing cached yet: a failure is a failure.
	up.status.Store(503)
	if _, err := e.call(ctx, "GET", "/stock", nil); err == nil {
		t.Fatal("failure with an empty cache must be an error")
	}
	up.status.Store(200)
	if r, err := e.call(ctx, "GET", "/stock", nil); err != nil || r.fallback {
		t.Fatalf("healthy call: %v %+v", err, r)
	}
	up.status.Store(500)
	r, err := e.call(ctx, "GET", "/stock", nil)
	if err != nil || !r.fallback || !bytes.Contains(r.body, []byte(`"A1":7`)) {
		t.Fatalf("cached fallback: %v %+v", err, r)
	}
	// Another path has its own cache entry, and POSTs never fall back.
	if _, err := e.call(ctx, "GET", "/stock/A1", nil); err == nil {
		t.Fatal("uncached path must fail")
	}
	if _, err := e.call(ctx, "POST", "/stock", []byte("{}")); err == nil {
		t.Fatal("POST must not fall back")
	}
	if got := counter(t, m, "inventory", "fallback"); got != 1 {
		t.Fatalf("fallback outcome counted %g, want 1", got)
	}
	if got := counter(t, m, "inventory", "error"); got != 3 {
		t.Fatalf("error outcome counted %g, want 3", got)
	}
}

func TestFallbackDefaultWhenCalleeIsDown(t *testing.T) {
	up := newFlaky(t, `{}`)
	up.srv.Close() // connection refused
	e, m := testEdge(t, policy.EdgePolicy{Fallback: &policy.Fallback{Kind: policy.FallbackDefault, Value: map[string]any{"badge": "unknown"}}}, up.srv.URL)
	r, err := e.call(context.Background(), "GET", "/stock", nil)
	if err != nil || !r.fallback || string(r.body) != `{"badge":"unknown"}` {
		t.Fatalf("default fallback: %v %+v", err, r)
	}
	if counter(t, m, "inventory", "fallback") != 1 {
		t.Fatal("fallback not counted")
	}
}

func TestRetriesTimeoutsBudgetAndBreakerFailover(t *testing.T) {
	ctx := context.Background()
	t.Run("retries up to maxAttempts on 5xx", func(t *testing.T) {
		up := newFlaky(t, "{}")
		up.status.Store(503)
		e, _ := testEdge(t, policy.EdgePolicy{Retry: &policy.Retry{MaxAttempts: 4, RetryOn: []string{"5xx"}}}, up.srv.URL)
		_, err := e.call(ctx, "GET", "/", nil)
		var ce *callError
		if !errors.As(err, &ce) || ce.outcome != outcomeError || ce.status != 503 {
			t.Fatalf("err = %v", err)
		}
		if up.calls.Load() != 4 {
			t.Fatalf("%d attempts, want 4", up.calls.Load())
		}
		up.status.Store(409) // 4xx is an answer, never retried
		up.calls.Store(0)
		if r, err := e.call(ctx, "GET", "/", nil); err != nil || r.status != 409 || up.calls.Load() != 1 {
			t.Fatalf("409: %v %+v after %d calls", err, r, up.calls.Load())
		}
	})
	t.Run("timeout per attempt, retried only when asked", func(t *testing.T) {
		up := newFlaky(t, "{}")
		up.delay.Store(int64(200 * time.Millisecond))
		e, m := testEdge(t, policy.EdgePolicy{Timeout: policy.Duration(20 * time.Millisecond),
			Retry: &policy.Retry{MaxAttempts: 3, RetryOn: []string{"5xx"}}}, up.srv.URL)
		start := time.Now()
		_, err := e.call(ctx, "GET", "/", nil)
		var ce *callError
		if !errors.As(err, &ce) || ce.outcome != outcomeTimeout {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if el := time.Since(start); el > 150*time.Millisecond {
			t.Fatalf("took %s, the 20ms timeout did not cut it", el)
		}
		if up.calls.Load() != 1 || counter(t, m, "inventory", "timeout") != 1 {
			t.Fatalf("timeouts are not in retryOn: %d attempts", up.calls.Load())
		}
	})
	t.Run("budget stops a retry storm", func(t *testing.T) {
		up := newFlaky(t, "{}")
		up.status.Store(500)
		e, _ := testEdge(t, policy.EdgePolicy{Retry: &policy.Retry{MaxAttempts: 5, RetryOn: []string{"5xx"},
			Budget: &policy.Budget{Ratio: 0.2, MinRetries: 0, Window: policy.Duration(time.Minute)}}}, up.srv.URL)
		for i := 0; i < 50; i++ {
			_, _ = e.call(ctx, "GET", "/", nil)
		}
		// 50 calls; retries at most 20% of them
		if n := up.calls.Load(); n > 60 || n < 55 {
			t.Fatalf("%d attempts for 50 calls with a 20%% budget, want 55..60", n)
		}
	})
	t.Run("a retry goes to a replica the call has not tried", func(t *testing.T) {
		slow, good := newFlaky(t, "{}"), newFlaky(t, `{"ok":true}`)
		slow.delay.Store(int64(time.Second))
		// 150 ms: far below the slow replica's second, far above what the
		// healthy one needs even under -race on a busy machine.
		e, _ := testEdge(t, policy.EdgePolicy{Timeout: policy.Duration(150 * time.Millisecond), LoadBalancing: "random",
			Retry: &policy.Retry{MaxAttempts: 3, RetryOn: []string{"timeout"}}}, slow.srv.URL, good.srv.URL)
		// A random pick would send one call in four back to the slow replica
		// for its retry; not one of 40 may go there twice.
		for i := 0; i < 40; i++ {
			before := slow.calls.Load()
			if _, err := e.call(ctx, "GET", "/", nil); err != nil {
				t.Fatalf("call %d failed: %v", i, err)
			}
			if n := slow.calls.Load() - before; n > 1 {
				t.Fatalf("call %d tried the slow replica %d times", i, n)
			}
		}
		if slow.calls.Load() == 0 || good.calls.Load() != 40 {
			t.Fatalf("slow %d, good %d attempts: want some on the slow one and every call ending on the good one", slow.calls.Load(), good.calls.Load())
		}
	})
	t.Run("breaker opens on the bad replica and calls fail over", func(t *testing.T) {
		bad, good := newFlaky(t, "{}"), newFlaky(t, `{"ok":true}`)
		bad.status.Store(503)
		e, m := testEdge(t, policy.EdgePolicy{
			Retry:   &policy.Retry{MaxAttempts: 2, RetryOn: []string{"5xx"}},
			Breaker: &policy.Breaker{FailureRatio: 0.5, MinRequests: 5, Window: policy.Duration(10 * time.Second), OpenFor: policy.Duration(time.Minute), HalfOpenProbes: 1},
		}, bad.srv.URL, good.srv.URL)
		for i := 0; i < 40; i++ {
			if _, err := e.call(ctx, "GET", "/", nil); err != nil {
				t.Fatalf("call %d failed although a healthy replica exists: %v", i, err)
			}
		}
		if n := bad.calls.Load(); n != 5 {
			t.Fatalf("bad replica got %d attempts, want 5 (then its breaker opened)", n)
		}
		if s := e.breakers[0].State(); s != resilience.Open {
			t.Fatalf("breaker of the bad replica: %s", s)
		}
		if v := metricFromRegistry(t, m, "shop_circuit_breaker_state", "0"); v != 2 {
			t.Fatalf("breaker state gauge = %g, want 2 (open)", v)
		}
		good.status.Store(503)
		var err error
		for i := 0; i < 100; i++ {
			if _, err = e.call(ctx, "GET", "/", nil); counter(t, m, "inventory", outcomeCircuitOpen) > 0 {
				break
			}
		}
		var ce *callError
		if !errors.As(err, &ce) || ce.outcome != outcomeCircuitOpen {
			t.Fatalf("both breakers open: err = %v, want circuit_open", err)
		}
		if s := e.breakers[1].State(); s != resilience.Open {
			t.Fatalf("breaker of the second replica: %s", s)
		}
	})
	t.Run("bulkhead", func(t *testing.T) {
		up := newFlaky(t, "{}")
		up.delay.Store(int64(300 * time.Millisecond))
		e, _ := testEdge(t, policy.EdgePolicy{Bulkhead: &policy.Bulkhead{MaxInFlight: 2}}, up.srv.URL)
		var full atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.call(ctx, "GET", "/", nil)
				var ce *callError
				if errors.As(err, &ce) && ce.outcome == outcomeBulkheadFull {
					full.Add(1)
				}
			}()
		}
		wg.Wait()
		if full.Load() < 1 || up.calls.Load() > 2+6-full.Load() || up.calls.Load() < 2 {
			t.Fatalf("bulkhead of 2: %d refused, %d sent", full.Load(), up.calls.Load())
		}
	})
}

func metricFromRegistry(t *testing.T, m *metrics, name, replica string) float64 {
	t.Helper()
	mfs, _ := m.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "replica" && l.GetValue() == replica {
					return mm.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func TestAdminAPI(t *testing.T) {
	dir := t.TempDir()
	v := mustVariant(t, "naive")
	pay := startService(t, Config{Service: sut.Payment, Variant: v, DataDir: dir, AdminToken: testToken})
	ctx := context.Background()

	if code := doJSON(t, "GET", pay+"/admin/faults", "", "", nil); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code := doJSON(t, "GET", pay+"/admin/faults", "wrong", "", nil); code != 401 {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	noTok := startService(t, Config{Service: sut.Payment, Variant: v, DataDir: t.TempDir()})
	if code := doJSON(t, "GET", noTok+"/admin/faults", testToken, "", nil); code != 403 {
		t.Fatalf("admin without a configured token: %d, want 403", code)
	}
	if _, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: "abort", Operation: "nope"}); err == nil {
		t.Fatal("unknown operation accepted")
	}
	if _, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: "abort", Edge: "orders"}); err == nil {
		t.Fatal("payment has no outgoing edge to orders")
	}

	charge := func(key string) int {
		return doJSON(t, "POST", pay+"/charges", "", `{"key":"`+key+`","order":"`+key+`","amountCents":1}`, nil)
	}
	id, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: client.KindAbort, Operation: "charge", Status: 502})
	if err != nil {
		t.Fatal(err)
	}
	if code := charge("a"); code != 502 {
		t.Fatalf("abort fault: %d, want 502", code)
	}
	if err := client.ClearFault(ctx, pay, testToken, id); err != nil {
		t.Fatal(err)
	}
	if code := charge("a"); code != 201 {
		t.Fatalf("after clear: %d, want 201 (the aborted charge must not have been made)", code)
	}
	// error: the work is done, the answer is an error; the retry finds the charge.
	if _, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: client.KindError, Operation: "charge"}); err != nil {
		t.Fatal(err)
	}
	if code := charge("b"); code != 500 {
		t.Fatalf("error fault: %d, want 500", code)
	}
	// delay
	if _, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: client.KindDelay, Operation: "charge", Delay: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	list, err := client.ListFaults(ctx, pay, testToken)
	if err != nil || len(list) != 2 || list[1].Delay != 150*time.Millisecond {
		t.Fatalf("list: %v %+v", err, list)
	}
	start := time.Now()
	charge("c")
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("delay fault: answered in %s", el)
	}
	if err := client.ClearAll(ctx, pay, testToken); err != nil {
		t.Fatal(err)
	}
	if code := charge("b"); code != 200 {
		t.Fatalf("charge b after the error fault: %d, want 200 (it was made once)", code)
	}
	if got := metricValue(t, pay, "shop_admin_fault_hits_total", `kind="abort"`); got != 1 {
		t.Fatalf("abort hits %g, want 1", got)
	}
	if got := metricValue(t, pay, "shop_admin_faults_active"); got != 0 {
		t.Fatalf("faults active %g after ClearAll", got)
	}
	// Percent: about half of the requests.
	if _, err := client.SetFault(ctx, pay, testToken, client.AdminFault{Kind: client.KindAbort, Operation: "charge", Percent: 50}); err != nil {
		t.Fatal(err)
	}
	aborted := 0
	for i := 0; i < 200; i++ {
		if charge(fmt.Sprintf("p%d", i)) == 503 {
			aborted++
		}
	}
	if aborted < 70 || aborted > 130 {
		t.Fatalf("50%% abort hit %d of 200", aborted)
	}
}

func TestEdgeFaultOnCaller(t *testing.T) {
	dir := t.TempDir()
	v := mustVariant(t, "naive")
	inv := startService(t, Config{Service: sut.Inventory, Variant: v, DataDir: dir, AdminToken: testToken})
	cat := startService(t, Config{Service: sut.Catalog, Variant: v, AdminToken: testToken, Upstreams: map[string][]string{"inventory": {inv}}})
	if _, err := client.SetFault(context.Background(), cat, testToken, client.AdminFault{Kind: client.KindAbort, Edge: "inventory"}); err != nil {
		t.Fatal(err)
	}
	var p Product
	if code := doJSON(t, "GET", cat+"/products/A1", "", "", &p); code != 200 || p.Badge != "unknown" || p.Stock != nil {
		t.Fatalf("naive catalog with inventory aborted: %d %+v, want 200 with badge unknown", code, p)
	}
	if got := metricValue(t, cat, "shop_client_calls_total", `callee="inventory"`, `outcome="error"`); got != 1 {
		t.Fatalf("edge error counted %g", got)
	}
	if got := metricValue(t, inv, "shop_server_requests_total", `operation="get_stock"`); got != 0 {
		t.Fatalf("an aborted edge call reached inventory (%g requests)", got)
	}
}

func TestQueueBoundRejects(t *testing.T) {
	v, err := policy.Parse([]byte("name: tight\nservices: {payment: {capacity: {workers: 1, queue: 2}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pay := startService(t, Config{Service: sut.Payment, Variant: v, DataDir: t.TempDir(), AdminToken: testToken})
	if _, err := client.SetFault(context.Background(), pay, testToken, client.AdminFault{Kind: client.KindDelay, Operation: "charge", Delay: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = doJSON(t, "POST", pay+"/charges", "", fmt.Sprintf(`{"key":"q%d","order":"q","amountCents":1}`, i), nil)
		}()
	}
	wg.Wait()
	ok, rejected := 0, 0
	for _, c := range codes {
		switch c {
		case 201:
			ok++
		case 503:
			rejected++
		}
	}
	// 1 worker + 2 queued are served; the rest is rejected at once.
	if ok != 3 || rejected != 5 {
		t.Fatalf("codes %v: %d served, %d rejected; want 3 and 5", codes, ok, rejected)
	}
	if got := metricValue(t, pay, "shop_server_rejections_total", `reason="queue_full"`); got != 5 {
		t.Fatalf("rejections metric %g, want 5", got)
	}
}

func TestCheckIntegrity(t *testing.T) {
	l := Ledger{
		Orders: []Order{
			{ID: "o1", State: StatePaid, Items: []Item{{"A1", 2}}},
			{ID: "o2", State: StatePending, Items: []Item{{"A1", 1}}},
			{ID: "o3", State: StatePaid, Items: []Item{{"B1", 1}}},
			{ID: "o4", State: StateFailed, Items: []Item{{"B1", 5}}},
		},
		Charges: []Charge{{Key: "o1", Order: "o1"}, {Key: "o3", Order: "o3"}},
		Stock: StockReport{
			Initial: map[string]int64{"A1": 10, "B1": 10},
			Stock:   map[string]int64{"A1": 7, "B1": 9},
			Reservations: map[string]Reservation{
				"o1": {State: "active"}, "o2": {State: "active"}, "o3": {State: "active"},
			},
		},
	}
	rep := checkIntegrity([]string{"o1", "o3"}, l)
	if !rep.OK || rep.Paid != 2 || rep.Pending != 1 || rep.Failed != 1 || len(rep.Problems) != 0 {
		t.Fatalf("consistent ledger: %+v", rep)
	}
	// Break it every way at once.
	l.Charges = append(l.Charges, Charge{Key: "x", Order: "o1"})
	l.Stock.Stock["B1"] = 10
	rep = checkIntegrity([]string{"o1", "o2", "o9"}, l)
	if rep.OK || len(rep.Missing) != 1 || rep.Missing[0] != "o9" || len(rep.Unpaid) != 1 || rep.Unpaid[0] != "o2" ||
		len(rep.ChargedTwice) != 1 || len(rep.StockMismatches) != 1 || rep.StockMismatches[0].SKU != "B1" {
		t.Fatalf("broken ledger: %+v", rep)
	}
	if len(rep.Problems) != 4 {
		t.Fatalf("problems: %q", rep.Problems)
	}
	l.Charges = l.Charges[:1]
	rep = checkIntegrity(nil, l)
	if len(rep.PaidNotCharged) != 1 || rep.PaidNotCharged[0] != "o3" {
		t.Fatalf("paid without charge: %+v", rep)
	}
}

// decodeInt reads what encoding/json reads, and fails where it fails.
func TestDecodeIntIsEncodingJSONs(t *testing.T) {
	for _, in := range []string{"0", "-0", "1000000", "-42", "9223372036854775807", "-9223372036854775808",
		"99999999999999999999", "01", "+1", "1.0", "1e3", "", "-", " 1", "1 ", "\"1\"", "null", "0x10", "1_000"} {
		got, err := decodeInt([]byte(in))
		var want int64
		werr := json.Unmarshal([]byte(in), &want)
		if got != want || (err == nil) != (werr == nil) {
			t.Errorf("decodeInt(%q) = %d, %v; encoding/json: %d, %v", in, got, err, want, werr)
		}
	}
}
