//go:build e2e

package runner_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	_ "github.com/gameday/gameday/platform/runtimes"
	"github.com/gameday/gameday/reports"
)

// sutBinary is the shop, built once for every test of this file.
var sutBinary string

func TestMain(m *testing.M) {
	os.Exit(e2etest.Main(m, "github.com/gameday/gameday/cmd/sut", &sutBinary))
}

type runResult struct {
	out     *runner.Outcome
	stdout  string
	journal *journal.Journal
}

func runScenario(t *testing.T, ctx context.Context, file string, onEvent func(faults.Event)) runResult {
	t.Helper()
	e, err := experiments.Load(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	journal, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	out, err := runner.Run(ctx, runner.Options{
		Experiment: e, RunsDir: t.TempDir(),
		Settings: platform.Settings{Command: []string{sutBinary}},
		Journal:  journal, Out: &stdout, Version: "e2e", OnFaultEvent: onEvent,
	})
	if err != nil {
		t.Fatalf("run %s: %v", file, err)
	}
	t.Logf("%s:\n%s", file, stdout.String())
	assertNothingLeft(t, out.Run.ID, journal)
	for _, name := range []string{"run.json", "report.html", "junit.xml", "summary.md", "latency.hlog"} {
		if _, err := os.Stat(filepath.Join(out.Dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := reports.Load(filepath.Join(out.Dir, "run.json")); err != nil {
		t.Errorf("run.json does not load back: %v", err)
	}
	return runResult{out: out, stdout: stdout.String(), journal: journal}
}

// assertNothingLeft checks that no process of the run survives and that the
// journal holds no fault intent.
func assertNothingLeft(t *testing.T, runID string, j *journal.Journal) {
	t.Helper()
	if pids := e2etest.ProcessesOf(runID); len(pids) > 0 {
		t.Errorf("processes of run %s still alive: %v", runID, pids)
	}
	intents, err := j.Intents()
	if err != nil {
		t.Fatal(err)
	}
	if len(intents) > 0 {
		t.Errorf("journal still holds %d fault intent(s): %+v", len(intents), intents)
	}
}

func checkByName(r *reports.Run, name string) *reports.Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

func TestRunPasses(t *testing.T) {
	res := runScenario(t, context.Background(), "pass.yaml", nil)
	rec := res.out.Run
	if res.out.Code != errext.OK || rec.Verdict != reports.VerdictPass {
		t.Fatalf("code %d verdict %s: %s", res.out.Code, rec.Verdict, rec.Reason)
	}
	if len(rec.Faults) != 1 || rec.Faults[0].InjectedAt == nil || rec.Faults[0].RevertedAt == nil {
		t.Fatalf("fault not injected and reverted: %+v", rec.Faults)
	}
	f := rec.Faults[0]
	if late := *f.InjectedAt - f.PlannedInject; late < 0 || late > 0.05 {
		t.Errorf("fault injected %.3fs after its planned time", late)
	}
	if rec.Integrity == nil || !rec.Integrity.OK || rec.Integrity.Counts["acknowledged"] == 0 {
		t.Errorf("integrity: %+v", rec.Integrity)
	}
	if len(rec.Histograms) == 0 || len(rec.Requests) != 2 {
		t.Errorf("load not recorded: %d histograms, %d request series", len(rec.Histograms), len(rec.Requests))
	}
}

func TestRunFailsAnSLO(t *testing.T) {
	res := runScenario(t, context.Background(), "fail.yaml", nil)
	if res.out.Code != errext.Failed || res.out.Run.Verdict != reports.VerdictFail {
		t.Fatalf("code %d verdict %s, want 1/fail", res.out.Code, res.out.Run.Verdict)
	}
	c := checkByName(res.out.Run, "impossible p99")
	if c == nil || c.Passed() || c.Observed == nil || *c.Observed <= 0 {
		t.Fatalf("impossible p99 check: %+v", c)
	}
}

func TestRunAborts(t *testing.T) {
	start := time.Now()
	res := runScenario(t, context.Background(), "abort.yaml", nil)
	rec := res.out.Run
	if res.out.Code != errext.Failed || rec.Verdict != reports.VerdictAborted || rec.Abort == nil {
		t.Fatalf("code %d verdict %s abort %+v, want 1/aborted", res.out.Code, rec.Verdict, rec.Abort)
	}
	if took := time.Since(start); took > 35*time.Second {
		t.Errorf("an aborted 40 s run took %s: the load did not stop", took)
	}
	// The pause starts at 2 s, before the condition can hold for its 2 s.
	if f := rec.Faults[0]; f.InjectedAt == nil || f.RevertedAt == nil || *f.RevertedAt > rec.Abort.FiredAt+0.5 {
		t.Errorf("the paused catalog was not resumed at the abort (%.1fs): %+v", rec.Abort.FiredAt, f)
	}
	// The record says where the load stopped, and no check is judged on a
	// window that ends after it (the pause's actual window ends at its
	// revert, at the abort).
	if rec.StoppedAt == nil {
		t.Fatal("an aborted run does not say where its load stopped")
	}
	for _, c := range rec.Checks {
		if c.Evaluated() && c.WindowEnd > *rec.StoppedAt+1 {
			t.Errorf("check %q is %s on a window to t=%.1fs, after the abort at t=%.1fs", c.Name, c.Status, c.WindowEnd, *rec.StoppedAt)
		}
	}
}

func TestSteadyStateNotMetInjectsNothing(t *testing.T) {
	injected := false
	res := runScenario(t, context.Background(), "steady-fail.yaml", func(e faults.Event) {
		if e.Action == faults.Inject {
			injected = true
		}
	})
	if res.out.Code != errext.Failed {
		t.Fatalf("code %d, want 1", res.out.Code)
	}
	if injected || res.out.Run.Faults[0].InjectedAt != nil {
		t.Fatal("a fault was injected although the steady state did not hold")
	}
	if !strings.Contains(res.out.Run.Reason, "steady state") {
		t.Errorf("reason does not say why: %q", res.out.Run.Reason)
	}
}

func TestInterruptRevertsEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := runScenario(t, ctx, "pass.yaml", func(e faults.Event) {
		if e.Action == faults.Inject {
			cancel() // interrupt while the fault is active
		}
	})
	rec := res.out.Run
	if res.out.Code != errext.Interrupted || rec.Verdict != reports.VerdictInterrupted {
		t.Fatalf("code %d verdict %s, want 130/interrupted", res.out.Code, rec.Verdict)
	}
	if f := rec.Faults[0]; f.InjectedAt == nil || f.RevertedAt == nil {
		t.Fatalf("fault not injected then reverted: %+v", f)
	}
}
