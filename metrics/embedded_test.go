package metrics

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestEmbeddedScrapesTargetsAndRecords(t *testing.T) {
	c := startClientTarget(t)
	e := startEmbedded(t, EmbeddedConfig{ScrapeInterval: 200 * time.Millisecond, RecordingRules: DefaultRules()})
	if err := e.SetTargets([]Target{{Job: "loadgen", Instance: "loadgen-0", URL: c.url(), Labels: map[string]string{"run": "t1"}}}); err != nil {
		t.Fatal(err)
	}
	q := e.Querier()
	// A scrape can time out on a loaded machine (200 ms here): wait for a
	// successful one.
	waitFor(t, q, `up{job="loadgen",instance="loadgen-0",run="t1"} == 1`, 10*time.Second, nonEmpty)
	// Recording rules need two scrapes inside their window.
	errRatio := waitFor(t, q, `gameday:error:ratio10s`, 15*time.Second, nonEmpty)
	if len(errRatio) != 1 || math.Abs(float64(errRatio[0].Value)-0.2) > 1e-6 {
		t.Fatalf("gameday:error:ratio10s = %v, want 0.2 (503 and timeout are errors, 404 is not)", errRatio)
	}
	avail := waitFor(t, q, `gameday:availability:ratio30s`, 5*time.Second, nonEmpty)
	if math.Abs(float64(avail[0].Value)-0.8) > 1e-6 {
		t.Fatalf("availability = %v, want 0.8", avail)
	}
	byScenario := waitFor(t, q, `gameday:error:ratio30s:by_scenario`, 5*time.Second, func(v model.Vector) bool { return len(v) == 2 })
	for _, s := range byScenario {
		if math.Abs(float64(s.Value)-0.2) > 1e-6 {
			t.Fatalf("per-scenario error ratio %v", s)
		}
	}
	// rate() over 10 s divides by the whole window, so the recorded
	// throughput only reaches the real rate after 10 s of data; check it is
	// there, and check the rate itself over a short window.
	waitFor(t, q, `gameday:throughput:rate10s`, 5*time.Second, func(v model.Vector) bool { return len(v) == 1 && v[0].Value > 0 })
	tput := waitFor(t, q, `sum(rate(gameday_client_requests_total{code!="canceled"}[1s]))`, 5*time.Second, nonEmpty)
	// 2 scenarios × 10 requests per 20 ms tick = 1000 req/s at most (the
	// ticker drops ticks on a loaded machine).
	if v := float64(tput[0].Value); v <= 100 || v > 1100 {
		t.Fatalf("throughput %v req/s, want about 1000", v)
	}

	// Native histograms are scraped and queryable, classic buckets too.
	native := waitFor(t, q, `histogram_count(gameday_client_request_duration_seconds{scenario="checkout"})`, 5*time.Second, nonEmpty)
	if native[0].Value <= 0 {
		t.Fatalf("native histogram count %v", native)
	}
	classic := waitFor(t, q, `gameday_client_request_duration_seconds_bucket{scenario="checkout",le="0.25"}`, 5*time.Second, nonEmpty)
	if classic[0].Value != native[0].Value && classic[0].Value <= 0 {
		t.Fatalf("classic bucket %v", classic)
	}
	raw, err := q.Instant(context.Background(), `gameday_client_request_duration_seconds{scenario="checkout"}`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if vec := raw.(model.Vector); len(vec) != 1 || vec[0].Histogram == nil || len(vec[0].Histogram.Buckets) < 5 {
		t.Fatalf("raw native histogram not returned as a model.SampleHistogram: %v", raw)
	}
	// p99 of checkout observations 0.10..0.19 s, from the native histogram.
	p99 := waitFor(t, q, `gameday:latency:p99_10s:by_scenario{scenario="checkout"}`, 5*time.Second, nonEmpty)
	if v := float64(p99[0].Value); v < 0.17 || v > 0.21 {
		t.Fatalf("checkout p99 %v, want about 0.19", v)
	}
	// SLO evaluation over the scraped data.
	b, _ := ParseBound("< 0.1")
	r := Evaluate(context.Background(), q, Check{Name: "errors", Query: "gameday:error:ratio10s", Bound: b, End: time.Now()})
	if r.Pass || math.Abs(r.Observed-0.2) > 1e-6 {
		t.Fatalf("error ratio SLO: %+v", r)
	}
}

func TestEmbeddedFollowsMovedInstances(t *testing.T) {
	first := startShopTarget(t, 50)
	second := startClientTarget(t)
	e := startEmbedded(t, EmbeddedConfig{ScrapeInterval: 100 * time.Millisecond})
	q := e.Querier()
	if err := e.SetTargets([]Target{{Job: "orders", Instance: "orders-0", URL: first.URL + "/metrics"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, q, `shop_http_requests_total{instance="orders-0"}`, 10*time.Second, nonEmpty)
	// The instance restarts on a new port: same Job and Instance.
	if err := e.SetTargets([]Target{{Job: "orders", Instance: "orders-0", URL: second.url()}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, q, `gameday_client_requests_total{instance="orders-0"}`, 10*time.Second, nonEmpty)
	before := second.scrapes.Load()
	waitFor(t, q, `count(up{job="orders"})`, 5*time.Second, func(v model.Vector) bool { return len(v) == 1 && v[0].Value == 1 })
	// The old target is gone: its series went stale.
	waitFor(t, q, `count(shop_http_requests_total{instance="orders-0"}) or vector(0)`, 5*time.Second, func(v model.Vector) bool { return v[0].Value == 0 })
	if second.scrapes.Load() < before {
		t.Fatal("scrape counter went backwards")
	}

	bad := []Target{
		{Job: "x", URL: "127.0.0.1:80/metrics"},
		{Job: "", URL: "http://127.0.0.1:80/metrics"},
		{Job: "x", URL: "http://127.0.0.1:80/metrics", Labels: map[string]string{"__bad": "1"}},
		{Job: "x", URL: "http://127.0.0.1:80/metrics", Labels: map[string]string{"instance": "1"}},
	}
	for _, tg := range bad {
		if err := e.SetTargets([]Target{tg}); err == nil {
			t.Errorf("SetTargets(%+v) accepted", tg)
		}
	}
	dup := []Target{{Job: "x", Instance: "a", URL: "http://127.0.0.1:1/metrics"}, {Job: "x", Instance: "a", URL: "http://127.0.0.1:2/metrics"}}
	if err := e.SetTargets(dup); err == nil || !strings.Contains(err.Error(), "same job") {
		t.Errorf("duplicate instance: %v", err)
	}
}

func TestEmbeddedCloseFlushesABlock(t *testing.T) {
	dir := t.TempDir()
	e, err := StartEmbedded(context.Background(), EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	appendSeries(t, e, sli(), 0, repeat(0.25, 30)...)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := e.SetTargets(nil); err == nil {
		t.Fatal("SetTargets after Close accepted")
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	if len(metas) != 1 {
		t.Fatalf("want one persisted block, found %v", metas)
	}
	if _, err := os.Stat(filepath.Join(dir, "wal")); err != nil {
		t.Fatalf("wal dir: %v", err)
	}
	// Reopen: the data is there, from the block.
	e2 := startEmbedded(t, EmbeddedConfig{Dir: dir})
	r := Evaluate(context.Background(), e2.Querier(), Check{Query: "sli", Bound: Bound{Op: "==", Value: 0.25}, Start: at(0), End: at(29), Mode: ModeContinuous, MinSamples: 30})
	if !r.Pass {
		t.Fatalf("after reopen: %+v", r)
	}
}

func TestStartEmbeddedRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := StartEmbedded(ctx, EmbeddedConfig{}); err == nil {
		t.Error("no dir accepted")
	}
	if _, err := StartEmbedded(ctx, EmbeddedConfig{Dir: t.TempDir(), ScrapeInterval: time.Millisecond}); err == nil {
		t.Error("1ms interval accepted")
	}
	_, err := StartEmbedded(ctx, EmbeddedConfig{Dir: t.TempDir(), RecordingRules: []Rule{{Record: "a:b", Expr: "sum("}, {Record: "bad name", Expr: "1"}}})
	if err == nil || !strings.Contains(err.Error(), `"a:b"`) || !strings.Contains(err.Error(), `"bad name"`) {
		t.Errorf("bad rules: %v", err)
	}
}

func TestDefaultRulesParse(t *testing.T) {
	rs := DefaultRules()
	names := map[string]bool{}
	for _, r := range rs {
		names[r.Record] = true
	}
	for _, want := range []string{
		"gameday:availability:ratio30s", "gameday:error:ratio10s", "gameday:error:ratio30s",
		"gameday:latency:p99_10s", "gameday:throughput:rate10s",
		"gameday:availability:ratio30s:by_scenario", "gameday:error:ratio10s:by_scenario", "gameday:latency:p99_10s:by_scenario",
	} {
		if !names[want] {
			t.Errorf("missing rule %s", want)
		}
	}
	if _, err := newRuleLoader(rs); err != nil {
		t.Fatal(err)
	}
}
