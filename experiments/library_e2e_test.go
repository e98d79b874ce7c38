//go:build e2e

package experiments_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/reports"
)

// The scenario library as an end-to-end suite: every listed scenario runs
// against the real shop (child processes), the real load generator and the
// embedded Prometheus, and its verdict is asserted.
//
//	GAMEDAY_LIBRARY        scenarios run with the resilient variant, which must
//	                       pass (comma-separated; default payment-slowdown;
//	                       "all" for the whole library)
//	GAMEDAY_LIBRARY_NAIVE  scenarios also run with the variant the design
//	                       expects to fail (naive; retries for retry-storm),
//	                       which must fail an SLO (default none)
//
// Each scenario lasts 60-90 s; raise go test's -timeout for more than a few:
//
//	GAMEDAY_LIBRARY=all go test -tags e2e -timeout 30m -run TestLibrary ./experiments/

// sutBinary is the shop, built once for every test of this file.
var sutBinary string

func TestMain(m *testing.M) {
	os.Exit(e2etest.Main(m, "github.com/gameday/gameday/cmd/sut", &sutBinary))
}

// failingVariant is the variant the design expects to fail a scenario: naive,
// except where a scenario is about another variant's failure mode.
func failingVariant(scenario string) string {
	if scenario == "retry-storm" {
		return "retries"
	}
	return "naive"
}

// scenarioList reads a comma-separated list of library names from env.
func scenarioList(t *testing.T, env, def string) []string {
	t.Helper()
	v, ok := os.LookupEnv(env)
	if !ok {
		v = def
	}
	if strings.TrimSpace(v) == "all" {
		lib, err := experiments.Library()
		if err != nil {
			t.Fatalf("list the library: %v", err)
		}
		names := make([]string, 0, len(lib))
		for _, s := range lib {
			names = append(names, s.Name)
		}
		return names
	}
	var names []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func TestLibrary(t *testing.T) {
	// Game days run one after the other: each owns the machine's CPU, and
	// parallel runs would skew each other's latencies.
	for _, name := range scenarioList(t, "GAMEDAY_LIBRARY", "payment-slowdown") {
		t.Run(name+"/resilient", func(t *testing.T) {
			rec := runLibrary(t, name, "resilient")
			if rec.code != errext.OK || rec.run.Verdict != reports.VerdictPass {
				t.Fatalf("code %d verdict %s (%s), want 0/pass:\n%s", rec.code, rec.run.Verdict, rec.run.Reason, rec.stdout)
			}
			if rec.run.Integrity != nil && (!rec.run.Integrity.OK || rec.run.Integrity.Counts["acknowledged"] == 0) {
				t.Errorf("integrity: %+v", rec.run.Integrity)
			}
		})
	}
	for _, name := range scenarioList(t, "GAMEDAY_LIBRARY_NAIVE", "") {
		variant := failingVariant(name)
		t.Run(name+"/"+variant, func(t *testing.T) {
			rec := runLibrary(t, name, variant)
			// An abort condition firing (the shop is down) is a failure too.
			if rec.code != errext.Failed || (rec.run.Verdict != reports.VerdictFail && rec.run.Verdict != reports.VerdictAborted) {
				t.Fatalf("code %d verdict %s (%s), want 1/fail or 1/aborted:\n%s", rec.code, rec.run.Verdict, rec.run.Reason, rec.stdout)
			}
			failed := 0
			for _, c := range rec.run.Checks {
				if c.Failed() && c.Kind == "slo" {
					failed++
				}
			}
			if failed == 0 {
				t.Errorf("verdict fail but no SLO failed (reason %q)", rec.run.Reason)
			}
		})
	}
}

type libraryRun struct {
	run    *reports.Run
	code   errext.ExitCode
	stdout string
}

// runLibrary runs the built-in scenario name with the given shop variant,
// checks that nothing of the run is left behind, and returns its record.
func runLibrary(t *testing.T, name, variant string) libraryRun {
	t.Helper()
	filename, data, err := experiments.Resolve(name)
	if err != nil {
		t.Fatalf("resolve %s: %v", name, err)
	}
	e, err := experiments.Parse(filename, data)
	if err != nil {
		t.Fatalf("parse %s: %v", filename, err)
	}
	e.Spec.SUT.Variant = variant
	journal, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open the fault journal: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*e.TotalDuration()+time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	start := time.Now()
	out, err := runner.Run(ctx, runner.Options{
		Experiment: e, YAML: string(data), RunsDir: t.TempDir(),
		Settings: platform.Settings{Command: []string{sutBinary}},
		Journal:  journal, Out: &stdout, Version: "e2e",
	})
	if err != nil {
		t.Fatalf("run %s with %s: %v", name, variant, err)
	}
	t.Logf("%s with %s: code %d, verdict %s, wall time %s", name, variant, out.Code, out.Run.Verdict, time.Since(start).Round(time.Second))
	for _, c := range out.Run.Checks {
		obs := "no data"
		if c.Observed != nil {
			obs = strconv.FormatFloat(*c.Observed, 'g', 4, 64)
		}
		t.Logf("  %-5v %-45s %-20s observed %s", c.Passed(), c.Name, c.Bound, obs)
	}
	if pids := e2etest.ProcessesOf(out.Run.ID); len(pids) > 0 {
		t.Errorf("processes of run %s still alive: %v", out.Run.ID, pids)
	}
	intents, err := journal.Intents()
	if err != nil {
		t.Fatalf("read the fault journal: %v", err)
	}
	if len(intents) > 0 {
		t.Errorf("journal still holds %d fault intent(s): %+v", len(intents), intents)
	}
	if _, err := reports.Load(filepath.Join(out.Dir, "run.json")); err != nil {
		t.Errorf("run.json does not load back: %v", err)
	}
	return libraryRun{run: out.Run, code: out.Code, stdout: stdout.String()}
}
