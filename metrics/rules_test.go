package metrics

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/gameday/gameday/loadgen"
)

func ruleExpr(t *testing.T, record string) string {
	t.Helper()
	for _, r := range DefaultRules() {
		if r.Record == record {
			return r.Expr
		}
	}
	t.Fatalf("no rule %s", record)
	return ""
}

// TestDefaultRulesSemantics evaluates the rule expressions on synthetic
// client counters: what is an error, what is left out, and that a scenario
// without any error series has error ratio 0 (not no data).
func TestDefaultRulesSemantics(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	counter := func(scenario, code string, perSec float64) {
		vals := make([]float64, 61)
		for i := range vals {
			vals[i] = perSec * float64(i)
		}
		appendSeries(t, e, map[string]string{"__name__": "gameday_client_requests_total", "scenario": scenario, "code": code}, 0, vals...)
	}
	counter("browse", "200", 10)
	counter("browse", "404", 10)   // an answer, not an error
	counter("browse", "429", 10)   // idem
	counter("checkout", "200", 10) //
	counter("checkout", "503", 4)  // error
	counter("checkout", "timeout", 3)
	counter("checkout", "refused", 2)
	counter("checkout", "reset", 1)
	// Cut short by the harness's own stop: not counted. The load
	// generator's own label value, so that the two cannot drift apart.
	counter("checkout", loadgen.ClassCanceled, 100)
	counter("idle", "200", 0) // no traffic: 0/0

	q := e.Querier()
	cases := []struct {
		record string
		want   map[string]float64 // by scenario label ("" for none)
	}{
		{"gameday:throughput:rate10s", map[string]float64{"": 50}},
		{"gameday:error:ratio10s", map[string]float64{"": 10.0 / 50}},
		{"gameday:error:ratio30s", map[string]float64{"": 10.0 / 50}},
		{"gameday:availability:ratio30s", map[string]float64{"": 40.0 / 50}},
		{"gameday:throughput:rate10s:by_scenario", map[string]float64{"browse": 30, "checkout": 20, "idle": 0}},
		{"gameday:error:ratio10s:by_scenario", map[string]float64{"browse": 0, "checkout": 0.5}},
		{"gameday:availability:ratio30s:by_scenario", map[string]float64{"browse": 1, "checkout": 0.5}},
	}
	for _, tc := range cases {
		v, err := q.Instant(context.Background(), ruleExpr(t, tc.record), at(40))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, s := range v.(model.Vector) {
			if !math.IsNaN(float64(s.Value)) {
				got[string(s.Metric["scenario"])] = float64(s.Value)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s = %v, want %v", tc.record, got, tc.want)
			continue
		}
		for k, w := range tc.want {
			if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
				t.Errorf("%s = %v, want %v", tc.record, got, tc.want)
				break
			}
		}
	}
}

// TestLatencyRulesBothHistogramKinds: the latency rules read a native
// histogram when there is one and the classic buckets otherwise.
func TestLatencyRulesClassicFallback(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	// Classic buckets only: per second 90 requests ≤ 0.1 s, 9 ≤ 0.5 s, 1 ≤ 1 s.
	for le, perSec := range map[string]float64{"0.1": 90, "0.5": 99, "1": 100, "+Inf": 100} {
		vals := make([]float64, 61)
		for i := range vals {
			vals[i] = perSec * float64(i)
		}
		appendSeries(t, e, map[string]string{"__name__": "gameday_client_request_duration_seconds_bucket", "scenario": "checkout", "le": le}, 0, vals...)
	}
	v, err := e.Querier().Instant(context.Background(), ruleExpr(t, "gameday:latency:p99_10s:by_scenario"), at(40))
	if err != nil {
		t.Fatal(err)
	}
	vec := v.(model.Vector)
	if len(vec) != 1 || vec[0].Metric["scenario"] != "checkout" || math.Abs(float64(vec[0].Value)-0.5) > 1e-9 {
		t.Fatalf("p99 from classic buckets = %v, want 0.5 for checkout", vec)
	}
}
