package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
)

func TestEmbeddedVariantsLoad(t *testing.T) {
	names := Names()
	for _, want := range []string{"naive", "resilient", "retries"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Fatalf("Names() = %v, missing %s", names, want)
		}
	}
	hashes := map[string]string{}
	for _, n := range names {
		v, err := Load(n)
		if err != nil {
			t.Fatalf("Load(%s): %v", n, err)
		}
		if v.Name != n {
			t.Errorf("variant file %s.yaml has name %q", n, v.Name)
		}
		if h := v.Hash(); len(h) != 12 || hashes[h] != "" {
			t.Errorf("hash of %s = %q (collides with %q)", n, h, hashes[h])
		} else {
			hashes[h] = n
		}
		// Marshal then Parse gives the same policy.
		data, err := v.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		v2, err := Parse(data)
		if err != nil {
			t.Fatalf("re-parse %s: %v\n%s", n, err, data)
		}
		if v2.Hash() != v.Hash() {
			t.Errorf("%s: hash changed over a Marshal/Parse round trip", n)
		}
	}
	if _, err := Load("nope"); err == nil || !strings.Contains(err.Error(), "naive") {
		t.Errorf("Load(nope) = %v, want an error listing the known variants", err)
	}
}

func TestVariantsSayWhatTheyPromise(t *testing.T) {
	naive, _ := Load("naive")
	for _, e := range sut.Edges() {
		p := naive.Edge(e.From, e.To)
		if p.Timeout != 0 || p.Retry != nil || p.Breaker != nil || p.Fallback != nil {
			t.Errorf("naive %s has a policy: %+v", e, p)
		}
	}
	for _, s := range sut.Services() {
		if naive.Replicas(s) != 1 {
			t.Errorf("naive %s has %d replicas", s, naive.Replicas(s))
		}
	}
	retries, _ := Load("retries")
	for _, e := range sut.Edges() {
		p := retries.Edge(e.From, e.To)
		if p.Retry == nil || p.Retry.MaxAttempts < 3 || p.Retry.Budget != nil || p.Retry.Backoff.Jitter != JitterNone {
			t.Errorf("retries %s: want >= 3 attempts, no budget, no jitter: %+v", e, p.Retry)
		}
	}
	res, _ := Load("resilient")
	for _, e := range sut.Edges() {
		p := res.Edge(e.From, e.To)
		if p.Timeout == 0 || p.Breaker == nil {
			t.Errorf("resilient %s: want a timeout and a breaker", e)
		}
		if p.Retry != nil && (p.Retry.Budget == nil || p.Retry.Backoff.Jitter == JitterNone) {
			t.Errorf("resilient %s: retries need a budget and jitter", e)
		}
	}
	if res.Replicas(sut.Payment) < 2 {
		t.Error("resilient payment must have replicas")
	}
	if f := res.Edge(sut.Catalog, sut.Inventory).Fallback; f == nil || f.Kind != FallbackDefault {
		t.Error("resilient catalog->inventory must fall back to a default")
	}
}

func TestParseIsStrict(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown field":   {"name: x\nservices: {payment: {replicas: 2, replica: 3}}\n", "field replica not found"},
		"unknown service": {"name: x\nservices: {billing: {replicas: 2}}\n", "services.billing: unknown service"},
		"unknown edge":    {"name: x\nedges: {payment->orders: {timeout: 1s}}\n", "edges.payment->orders: unknown edge"},
		"bad duration":    {"name: x\nedges: {orders->payment: {timeout: fast}}\n", "duration \"fast\""},
		"bad lb":          {"name: x\nedges: {orders->payment: {loadBalancing: hash}}\n", "loadBalancing: \"hash\""},
		"bad jitter":      {"name: x\nedges: {orders->payment: {retry: {maxAttempts: 2, backoff: {jitter: some}}}}\n", "jitter: \"some\""},
		"bad retryOn":     {"name: x\nedges: {orders->payment: {retry: {maxAttempts: 2, retryOn: [sometimes]}}}\n", "retryOn: \"sometimes\""},
		"bad ratio":       {"name: x\nedges: {orders->payment: {breaker: {failureRatio: 1.5}}}\n", "failureRatio: 1.5"},
		"default no val":  {"name: x\nedges: {catalog->inventory: {fallback: {kind: default}}}\n", "needs a value"},
		"no name":         {"services: {}\n", "name: required"},
		"p99 < p50":       {"name: x\nservices: {payment: {capacity: {serviceTime: {p50: 2ms, p99: 1ms}}}}\n", "p99 1ms below p50 2ms"},
		"empty":           {"", "empty"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseFillsDefaults(t *testing.T) {
	v, err := Parse([]byte("name: tiny\nedges: {orders->payment: {retry: {maxAttempts: 3}, breaker: {failureRatio: 0.5}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := v.Service(sut.Payment)
	if s.Replicas != 1 || s.Capacity.Workers != DefaultWorkers || s.Capacity.ServiceTime.P50 != DefaultP50 {
		t.Errorf("payment defaults: %+v", s)
	}
	p := v.Edge(sut.Orders, sut.Payment)
	if p.LoadBalancing != RoundRobin || p.Retry.Backoff.Jitter != JitterNone || len(p.Retry.RetryOn) == 0 {
		t.Errorf("edge defaults: %+v %+v", p, p.Retry)
	}
	if p.Breaker.MinRequests != 10 || p.Breaker.OpenFor.D() != 5*time.Second || p.Breaker.HalfOpenProbes != 1 {
		t.Errorf("breaker defaults: %+v", p.Breaker)
	}
}

func TestApplyOverrides(t *testing.T) {
	base, err := Load("resilient")
	if err != nil {
		t.Fatal(err)
	}
	patch := &Patch{
		Services: map[string]map[string]any{"payment": {"capacity": map[string]any{"workers": 4}}},
		Edges: map[string]map[string]any{
			"orders->payment":    {"timeout": "300ms", "retry": map[string]any{"maxAttempts": 5}, "breaker": nil},
			"catalog->inventory": {"loadBalancing": "random"},
		},
	}
	v, err := base.Apply(map[string]int{"payment": 2, "orders": 3}, patch)
	if err != nil {
		t.Fatal(err)
	}
	if v.Replicas("payment") != 2 || v.Replicas("orders") != 3 || v.Replicas("catalog") != base.Replicas("catalog") {
		t.Errorf("replicas: payment %d orders %d catalog %d", v.Replicas("payment"), v.Replicas("orders"), v.Replicas("catalog"))
	}
	if c := v.Service("payment").Capacity; c.Workers != 4 || c.Queue != base.Service("payment").Capacity.Queue {
		t.Errorf("service patch must merge, got %+v", c)
	}
	p := v.Edge("orders", "payment")
	if p.Timeout.D() != 300*time.Millisecond || p.Breaker != nil {
		t.Errorf("edge patch: timeout %s breaker %+v", p.Timeout.D(), p.Breaker)
	}
	// maps merge: the retry keeps its backoff and budget, only maxAttempts changes
	if p.Retry.MaxAttempts != 5 || p.Retry.Budget == nil || p.Retry.Backoff.Jitter != JitterFull {
		t.Errorf("retry patch must merge: %+v", p.Retry)
	}
	if v.Edge("catalog", "inventory").LoadBalancing != Random {
		t.Error("catalog->inventory lb not patched")
	}
	if v.Hash() == base.Hash() || v.Name != base.Name {
		t.Error("overrides must keep the name and change the hash")
	}
	if base.Replicas("orders") != 2 || base.Edge("orders", "payment").Breaker == nil {
		t.Error("Apply modified the base variant")
	}
	if _, err := base.Apply(map[string]int{"billing": 2}, nil); err == nil || !strings.Contains(err.Error(), "billing") {
		t.Errorf("unknown service in replicas: %v", err)
	}
	if _, err := base.Apply(nil, &Patch{Edges: map[string]map[string]any{"orders->payment": {"timout": "1s"}}}); err == nil || !strings.Contains(err.Error(), "timout") {
		t.Errorf("a misspelt field in a patch must be an error: %v", err)
	}
	if _, err := base.Apply(map[string]int{"payment": 0}, nil); err == nil {
		t.Error("zero replicas must be refused")
	}
	same, err := base.Apply(nil, nil)
	if err != nil || same.Hash() != base.Hash() {
		t.Errorf("no overrides must keep the hash: %v", err)
	}
}
