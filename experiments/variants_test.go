package experiments

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/sut/policy"
)

const inlineVariantsYAML = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: inline}
spec:
  sut: {variant: short-timeouts}
  variants:
    short-timeouts:
      base: resilient
      overrides:
        edges: {orders->payment: {timeout: 150ms}}
    naive-scaled:
      base: naive
      replicas: {payment: 3}
      overrides:
        services: {payment: {capacity: {workers: 32}}}
    plain: {base: retries}
  load:
    stages: [{duration: 10s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`

func parseInline(t *testing.T) *Experiment {
	t.Helper()
	e, err := Parse("inline.yaml", []byte(inlineVariantsYAML))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return e
}

func TestParseInlineVariants(t *testing.T) {
	e := parseInline(t)
	if len(e.Spec.Variants) != 3 {
		t.Fatalf("spec.variants = %v, want 3 entries", e.Spec.Variants)
	}
	ns := e.Spec.Variants["naive-scaled"]
	if ns.Base != "naive" || ns.Replicas["payment"] != 3 || ns.Overrides == nil || ns.Overrides.Services["payment"] == nil {
		t.Errorf("naive-scaled decoded as %+v", ns)
	}
	if e.Spec.SUT.Variant != "short-timeouts" {
		t.Errorf("spec.sut.variant = %q", e.Spec.SUT.Variant)
	}
	p, err := e.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.Variant != "short-timeouts" {
		t.Errorf("plan variant = %q, want short-timeouts", p.Variant)
	}
}

func TestResolveInlineVariant(t *testing.T) {
	e := parseInline(t)
	base, err := policy.Load("resilient")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.ResolveVariant("short-timeouts")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "short-timeouts" {
		t.Errorf("name = %q, want the inline name", v.Name)
	}
	if got := v.Edge("orders", "payment").Timeout.D(); got != 150*time.Millisecond {
		t.Errorf("orders->payment timeout = %s, want 150ms", got)
	}
	if v.Hash() == base.Hash() {
		t.Error("the inline variant has the hash of its base")
	}
	// Other edges keep the base's policy.
	if got, want := v.Edge("gateway", "orders").Timeout, base.Edge("gateway", "orders").Timeout; got != want {
		t.Errorf("gateway->orders timeout = %s, want the base's %s", got.D(), want.D())
	}

	ns, err := e.ResolveVariant("naive-scaled")
	if err != nil {
		t.Fatal(err)
	}
	if ns.Replicas("payment") != 3 || ns.Service("payment").Capacity.Workers != 32 {
		t.Errorf("naive-scaled: payment replicas %d workers %d, want 3 and 32", ns.Replicas("payment"), ns.Service("payment").Capacity.Workers)
	}

	// Resolution is deterministic: the same name gives the same policy.
	again, err := e.ResolveVariant("short-timeouts")
	if err != nil || again.Hash() != v.Hash() {
		t.Errorf("second resolution: hash %s (err %v), want %s", again.Hash(), err, v.Hash())
	}
}

func TestResolveShopVariant(t *testing.T) {
	e := parseInline(t)
	for _, name := range policy.Names() {
		v, err := e.ResolveVariant(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := policy.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if v.Name != name || v.Hash() != want.Hash() {
			t.Errorf("%s: got %s/%s, want the shop's policy %s", name, v.Name, v.Hash(), want.Hash())
		}
	}
}

func TestResolveUnknownVariantNamesBoth(t *testing.T) {
	e := parseInline(t)
	_, err := e.ResolveVariant("short-timeout")
	var uv *UnknownVariantError
	if !errors.As(err, &uv) {
		t.Fatalf("error %v (%T), want *UnknownVariantError", err, err)
	}
	for _, want := range []string{`variant "short-timeout"`, "naive, resilient, retries", "spec.variants: naive-scaled, plain, short-timeouts", `did you mean "short-timeouts"?`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	m, err := Parse("minimal.yaml", []byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.ResolveVariant("sturdy")
	if err == nil || !strings.Contains(err.Error(), "it has no spec.variants") {
		t.Errorf("without spec.variants: error %v", err)
	}
}

func TestVariantNames(t *testing.T) {
	got := strings.Join(parseInline(t).VariantNames(), ",")
	want := "naive-scaled,plain,short-timeouts," + strings.Join(policy.Names(), ",")
	if got != want {
		t.Errorf("VariantNames = %s, want %s", got, want)
	}
}

// resolveVariant refuses an inline variant whose patch does not apply, even
// when validation was bypassed (an Experiment built in code).
func TestResolveInvalidInlineVariant(t *testing.T) {
	e := &Experiment{Spec: Spec{Variants: map[string]InlineVariant{
		"bad-base":  {Base: "sturdy"},
		"bad-patch": {Base: "naive", Replicas: map[string]int{"bank": 2}},
	}}}
	for name, want := range map[string]string{"bad-base": `base "sturdy" is not a variant of the shop`, "bad-patch": "replicas.bank: unknown service"} {
		if _, err := e.ResolveVariant(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, want)
		}
	}
}

const minimalYAML = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: minimal}
spec:
  load:
    stages: [{duration: 10s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`
