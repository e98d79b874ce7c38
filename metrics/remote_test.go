package metrics

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

func TestRemoteMatchesEmbedded(t *testing.T) {
	dir := t.TempDir()
	sdPath := filepath.Join(dir, "targets.json")
	rulePath := filepath.Join(dir, "rules.yml")
	testRule := Rule{Record: "gameday:test:requests", Expr: "sum by (job) (shop_http_requests_total)"}
	if err := WriteRuleFile(rulePath, append(DefaultRules(), testRule), time.Second); err != nil {
		t.Fatal(err)
	}
	shop := startShopTarget(t, 200)
	client := startClientTarget(t)
	targets := []Target{
		{Job: "orders", Instance: "orders-0", URL: shop.URL + "/metrics", Labels: map[string]string{"variant": "resilient"}},
		{Job: "gameday-client", Instance: "loadgen", URL: client.url()},
	}
	if err := WriteFileSD(sdPath, targets); err != nil {
		t.Fatal(err)
	}
	remote, err := NewRemote(e2etest.StartPrometheus(t, sdPath, rulePath, ""))
	if err != nil {
		t.Fatal(err)
	}
	emb := startEmbedded(t, EmbeddedConfig{RecordingRules: append(DefaultRules(), testRule)})
	if err := emb.SetTargets(targets); err != nil {
		t.Fatal(err)
	}

	ready := func(v model.Vector) bool { return len(v) == 1 }
	// Both have scraped and recorded at least 4 times, so both hold data
	// for the whole comparison window below.
	for _, q := range []Querier{remote, emb.Querier()} {
		waitFor(t, q, `count_over_time(gameday:test:requests{job="orders"}[10s]) >= 4`, 30*time.Second, ready)
		waitFor(t, q, `count_over_time(up{job="orders",instance="orders-0",variant="resilient"}[10s]) >= 4`, 5*time.Second, ready)
	}

	now := time.Now().Add(-time.Second)
	queries := []string{
		`sum(shop_http_requests_total)`,
		`count by (job, instance, variant) (shop_http_requests_total)`,
		`sum by (code) (shop_http_requests_total{job="orders"})`,
		`histogram_quantile(0.9, sum by (le) (shop_http_request_duration_seconds_bucket))`,
		`gameday:test:requests`,
	}
	ctx := context.Background()
	for _, qs := range queries {
		rv, err := remote.Instant(ctx, qs, now)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := emb.Querier().Instant(ctx, qs, now)
		if err != nil {
			t.Fatal(err)
		}
		if rv.String() != ev.String() || len(rv.(model.Vector)) == 0 {
			t.Errorf("%s:\nremote   %v\nembedded %v", qs, rv, ev)
		}
	}
	// The same check gives the same verdict through both.
	b, _ := ParseBound("< 100000")
	c := Check{Name: "requests", Query: `sum(shop_http_requests_total)`, Bound: b, Start: now.Add(-2 * time.Second), End: now, Mode: ModeContinuous}
	rr, er := Evaluate(ctx, remote, c), Evaluate(ctx, emb.Querier(), c)
	if !rr.Pass || rr.Pass != er.Pass || rr.Observed != er.Observed || rr.Samples != er.Samples {
		t.Errorf("verdicts differ:\nremote   %+v\nembedded %+v", rr, er)
	}
	b, _ = ParseBound("< 10")
	c.Bound = b
	rr, er = Evaluate(ctx, remote, c), Evaluate(ctx, emb.Querier(), c)
	if rr.Pass || er.Pass || rr.Reason != er.Reason {
		t.Errorf("failing verdicts differ:\nremote   %+v\nembedded %+v", rr, er)
	}
	missing := Evaluate(ctx, remote, Check{Query: "no_such_metric", Bound: b, End: now})
	if missing.Pass || !strings.Contains(missing.Reason, "no data") {
		t.Errorf("remote no data: %+v", missing)
	}
	if _, err := remote.Instant(ctx, "sum(", now); err == nil {
		t.Error("remote parse error not reported")
	}

	// The default rules give the same verdicts on a live, changing target
	// (values differ with the scrape times, but the ratio is exact and the
	// p99 comes from the native histogram in both).
	errBound, _ := ParseBound("< 0.1")
	p99Bound, _ := ParseBound("< 0.15")
	for name, q := range map[string]Querier{"remote": remote, "embedded": emb.Querier()} {
		waitFor(t, q, `gameday:error:ratio10s`, 15*time.Second, ready)
		waitFor(t, q, `gameday:latency:p99_10s:by_scenario{scenario="checkout"}`, 5*time.Second, ready)
		now := time.Now()
		r := Evaluate(ctx, q, Check{Name: "errors", Query: "gameday:error:ratio10s", Bound: errBound, End: now})
		if r.Pass || math.Abs(r.Observed-0.2) > 1e-6 {
			t.Errorf("%s: error ratio check %+v, want a failure observing 0.2", name, r)
		}
		r = Evaluate(ctx, q, Check{Name: "p99", Query: `gameday:latency:p99_10s:by_scenario{scenario="checkout"}`, Bound: p99Bound, End: now})
		if r.Pass || r.Observed < 0.17 || r.Observed > 0.21 {
			t.Errorf("%s: checkout p99 check %+v, want a failure observing about 0.19", name, r)
		}
	}

	// The file_sd follows moved instances.
	shop2 := startShopTarget(t, 20)
	targets = append(targets, Target{Job: "orders", Instance: "orders-1", URL: shop2.URL + "/metrics", Labels: map[string]string{"variant": "resilient"}})
	if err := WriteFileSD(sdPath, targets); err != nil {
		t.Fatal(err)
	}
	waitFor(t, remote, `up{instance="orders-1"} == 1`, 30*time.Second, ready)
}

func TestWriteFileSD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sd.json")
	targets := []Target{
		{Job: "payment", URL: "http://127.0.0.1:9001/metrics"},
		{Job: "payment", URL: "http://127.0.0.1:9002/metrics"},
		{Job: "orders", Instance: "orders-0", URL: "https://127.0.0.1:9003/custom", Labels: map[string]string{"variant": "naive"}},
	}
	if err := WriteFileSD(path, targets); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 {
		t.Fatalf("want 2 groups (payment's two instances share one), got %s", b)
	}
	byJob := map[string]int{}
	for i, g := range groups {
		byJob[g.Labels["job"]] = i
	}
	o := groups[byJob["orders"]]
	if o.Labels["instance"] != "orders-0" || o.Labels["__scheme__"] != "https" || o.Labels["__metrics_path__"] != "/custom" || o.Labels["variant"] != "naive" || o.Targets[0] != "127.0.0.1:9003" {
		t.Fatalf("orders group %+v", o)
	}
	if p := groups[byJob["payment"]]; len(p.Targets) != 2 || p.Labels["__metrics_path__"] != "/metrics" {
		t.Fatalf("payment group %+v", p)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	if err := WriteFileSD(path, []Target{{Job: "x", URL: "not a url"}}); err == nil {
		t.Fatal("bad URL accepted")
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Fatal("a failed write changed the file")
	}
}

func TestRealPrometheusOpensEmbeddedTSDB(t *testing.T) {
	if _, err := os.Stat(e2etest.PrometheusBinary); err != nil {
		t.Skipf("%s not found (apt-get install prometheus): skipping", e2etest.PrometheusBinary)
	}
	dir := t.TempDir()
	e, err := StartEmbedded(context.Background(), EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Old samples (base is months ago): Prometheus' retention is relative
	// to the newest block, not to the clock, so an old run stays readable.
	start := base
	app := e.Appender(context.Background())
	ls := labels.FromStrings("__name__", "gameday_client_requests_total", "scenario", "checkout", "code", "200")
	for i := range 60 {
		if _, err := app.Append(0, ls, start.Add(time.Duration(i)*time.Second).UnixMilli(), float64(10*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	sd := filepath.Join(t.TempDir(), "none.json")
	if err := WriteFileSD(sd, nil); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := WriteRuleFile(rules, nil, time.Second); err != nil {
		t.Fatal(err)
	}
	remote, err := NewRemote(e2etest.StartPrometheus(t, sd, rules, dir))
	if err != nil {
		t.Fatal(err)
	}
	v, err := remote.Instant(context.Background(), `rate(gameday_client_requests_total[30s])`, start.Add(50*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if vec, ok := v.(model.Vector); !ok || len(vec) != 1 || vec[0].Value != 10 {
		t.Fatalf("real prometheus on the embedded TSDB: %v, want rate 10", v)
	}
}
