//go:build e2e

package compare_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gameday/gameday/experiments/compare"
	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/internal/libtest"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	_ "github.com/gameday/gameday/platform/runtimes"
	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/stats"
)

// sutBinary is the shop, built once for every test of this file.
var sutBinary string

func TestMain(m *testing.M) {
	os.Exit(e2etest.Main(m, "github.com/gameday/gameday/cmd/sut", &sutBinary))
}

// naive against resilient, 4 repeats each (the fewest with which the
// Mann-Whitney U test can reach 5 %: 2/70), on payment-slowdown (one slow
// payment replica): resilient must come out significantly better on the
// error ratio during the fault, and the harness must add little beyond the
// runs.
func TestNaiveVersusResilient(t *testing.T) {
	// payment-slowdown compressed: 22 s of load at 40 req/s, the slow
	// replica from 4 s to 12 s.
	e := libtest.Short(t, "payment-slowdown", 22*time.Second, 40, 4*time.Second, 8*time.Second)
	journal, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := compare.Run(ctx, compare.Options{
		Experiment: e, Variants: []string{"naive", "resilient"}, Repeat: 4, Seed: 11, Dir: dir,
		Runner: runner.Options{
			Settings: platform.Settings{Command: []string{sutBinary}},
			Journal:  journal, Version: "e2e",
		},
		Stats: stats.Options{Seed: 1},
		Out:   &out,
	})
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != errext.OK {
		t.Errorf("exit code %d", res.Code)
	}
	c := res.Comparison
	if len(c.Runs) != 8 {
		t.Fatalf("%d runs, want 8", len(c.Runs))
	}
	for i, r := range c.Runs {
		wantVariant := []string{"naive", "resilient"}[i%2]
		wantSeed := int64(11 + i/2)
		if r.Variant != wantVariant || r.Seed != wantSeed || r.Repeat != i/2+1 {
			t.Errorf("run %d: %s repeat %d seed %d, want %s repeat %d seed %d (interleaved)", i, r.Variant, r.Repeat, r.Seed, wantVariant, i/2+1, wantSeed)
		}
		if _, err := os.Stat(filepath.Join(dir, r.Dir, "run.json")); err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	intents, err := journal.Intents()
	if err != nil || len(intents) > 0 {
		t.Errorf("journal holds %d intents (err %v)", len(intents), err)
	}

	var errRatio, retry, breaker *reports.VariantMetric
	for i := range c.Metrics {
		switch c.Metrics[i].Key {
		case "errors:slow-payment":
			errRatio = &c.Metrics[i]
		case "retry:slow-payment":
			retry = &c.Metrics[i]
		case "breaker-open":
			breaker = &c.Metrics[i]
		}
		m := c.Metrics[i]
		for _, v := range m.Variants {
			t.Logf("%s: %s %v (censored %d, missing %d) median %.4g CI [%.4g, %.4g]", m.Name, v.Variant, v.Values, v.Censored, v.Missing, v.Median, v.CI.Lo, v.CI.Hi)
		}
	}
	if errRatio == nil || retry == nil || breaker == nil {
		t.Fatalf("metrics missing: errors %v retry %v breaker %v", errRatio != nil, retry != nil, breaker != nil)
	}
	p := errRatio.Pairs[0]
	t.Logf("error ratio during the fault: naive %v (median %.4f), resilient %v (median %.4f); %s: %s",
		errRatio.Variants[0].Values, errRatio.Variants[0].Median, errRatio.Variants[1].Values, errRatio.Variants[1].Median, p.Stats.Verdict, p.Stats.Method)
	if p.Better != "resilient" {
		t.Errorf("error ratio during the fault: better %q, want resilient (%s)", p.Better, p.Stats.Method)
	}
	if v := retry.Variants[0]; v.N == 0 || v.Median < 0.99 || v.Median > 1.01 {
		t.Errorf("naive retry amplification %+v, want 1 (no retries)", v)
	}
	// naive has no breakers; resilient's open only when enough calls reach
	// the slow replica within the breaker's window (p2c mostly avoids it).
	if v := breaker.Variants; v[0].N != 4 || slices.Max(v[0].Values) != 0 || v[1].N != 4 {
		t.Errorf("breaker-seconds open: naive %v, resilient %v; want naive all 0", v[0].Values, v[1].Values)
	}

	back, err := reports.LoadComparison(filepath.Join(dir, compare.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 8 || len(back.Metrics) != len(c.Metrics) {
		t.Errorf("compare.json: %d runs, %d metrics", len(back.Runs), len(back.Metrics))
	}
	if st, err := os.Stat(filepath.Join(dir, compare.HTMLFile)); err != nil || st.Size() < 10_000 {
		t.Errorf("compare.html: %v", err)
	}

	// The harness's own share: wall time beyond the runs themselves.
	share := c.OverheadSeconds / c.RunSeconds
	t.Logf("wall %.1fs, runs %.1fs, planned load %.1fs: harness overhead %.2fs (%.2f%% of the runs); runs beyond their planned load %.1fs (%.1f%%)",
		c.WallSeconds, c.RunSeconds, c.PlannedSeconds, c.OverheadSeconds, 100*share,
		c.RunSeconds-c.PlannedSeconds, 100*(c.RunSeconds-c.PlannedSeconds)/c.PlannedSeconds)
	if share > 0.10 {
		t.Errorf("harness overhead %.1f%% of the runs, want < 10%%", 100*share)
	}
}
