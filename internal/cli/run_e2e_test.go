//go:build e2e

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/reports"
)

// gamedayBinary is ./cmd/gameday, built once for the e2e tests of this
// package: the local runtime starts every shop instance as `<exe> sut serve …`.
var gamedayBinary string

func TestMain(m *testing.M) {
	os.Exit(e2etest.Main(m, "github.com/gameday/gameday/cmd/gameday", &gamedayBinary))
}

// runCLI is one in-process `gameday run`: its own working directory, state
// directory (fault journal), output streams and a fake signal source that
// hands the test the channel the command listens on.
type runCLI struct {
	dir, state string
	gs         *GlobalState
	out        *lineBuffer
	errOut     *lineBuffer
	notified   chan chan<- os.Signal
}

func newRunCLI(t *testing.T) *runCLI {
	t.Helper()
	dir := t.TempDir()
	c := &runCLI{dir: dir, state: filepath.Join(dir, "state"), out: newLineBuffer(), errOut: newLineBuffer(), notified: make(chan chan<- os.Signal, 1)}
	c.gs = &GlobalState{
		Ctx:    context.Background(),
		Stdin:  strings.NewReader(""),
		Stdout: c.out, Stderr: c.errOut,
		Env:   map[string]string{"GAMEDAY_STATE_DIR": c.state},
		Getwd: func() (string, error) { return dir, nil },
		Now:   time.Now,
		Exe:   func() (string, error) { return gamedayBinary, nil },
		Signal: SignalFuncs{
			Notify: func(ch chan<- os.Signal, _ ...os.Signal) { c.notified <- ch },
			Stop:   func(chan<- os.Signal) {},
		},
		Exit: func(code int) { t.Errorf("the command forced an exit with %d", code) },
	}
	return c
}

// start runs the command in the background; the returned channel yields
// its exit code.
func (c *runCLI) start(args ...string) <-chan int {
	done := make(chan int, 1)
	go func() { done <- Execute(c.gs, args) }()
	return done
}

func (c *runCLI) wait(t *testing.T, done <-chan int, d time.Duration) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(d):
		t.Fatalf("gameday run did not end within %v\nstdout:\n%s\nstderr:\n%s", d, c.out, c.errOut)
	}
	return 0
}

// signals waits for the command to listen for signals and returns the
// channel it listens on.
func (c *runCLI) signals(t *testing.T, done <-chan int) chan<- os.Signal {
	t.Helper()
	select {
	case sigs := <-c.notified:
		return sigs
	case code := <-done:
		t.Fatalf("exit %d before listening for signals\nstderr:\n%s", code, c.errOut)
	case <-time.After(30 * time.Second):
		t.Fatal("the command never asked for signals")
	}
	return nil
}

// runRecord loads the run.json of the single run under <dir>/runs.
func (c *runCLI) runRecord(t *testing.T) *reports.Run {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(c.dir, "runs"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("want one run directory under runs/: %v %v", ents, err)
	}
	rec, err := reports.Load(filepath.Join(c.dir, "runs", ents[0].Name(), "run.json"))
	if err != nil {
		t.Fatalf("run.json: %v", err)
	}
	if rec.ID != ents[0].Name() {
		t.Errorf("run id %q, directory %q", rec.ID, ents[0].Name())
	}
	return rec
}

// assertNothingLeft: no process carries the run's id, and the journal holds
// no fault intent.
func (c *runCLI) assertNothingLeft(t *testing.T, runID string) {
	t.Helper()
	if left := e2etest.ProcessesOf(runID); len(left) != 0 {
		t.Errorf("processes of run %s left: %v", runID, left)
	}
	j, err := journal.Open(c.state)
	if err != nil {
		t.Fatal(err)
	}
	intents, err := j.Intents()
	if err != nil {
		t.Fatal(err)
	}
	if len(intents) != 0 {
		t.Errorf("journal still holds %d fault intent(s): %+v", len(intents), intents)
	}
}

func scenario(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "experiments", "runner", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestE2ERunPassingScenarioExits0(t *testing.T) {
	c := newRunCLI(t)
	code := c.wait(t, c.start("run", scenario(t, "pass.yaml")), 90*time.Second)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, c.out, c.errOut)
	}
	rec := c.runRecord(t)
	if rec.Verdict != reports.VerdictPass {
		t.Errorf("verdict %s: %s", rec.Verdict, rec.Reason)
	}
	if f := rec.Faults[0]; f.InjectedAt == nil || f.RevertedAt == nil {
		t.Errorf("fault not injected and reverted: %+v", f)
	}
	if !strings.Contains(rec.Scenario.YAML, "name: e2e-pass") {
		t.Errorf("the run record does not keep the scenario as written: %q", rec.Scenario.YAML)
	}
	for _, want := range []string{"browse stays available", "checkout p99 under 2s"} {
		if !strings.Contains(c.out.String(), want) {
			t.Errorf("the verdict table lacks %q:\n%s", want, c.out)
		}
	}
	c.assertNothingLeft(t, rec.ID)
}

func TestE2ERunFailingScenarioExits1(t *testing.T) {
	c := newRunCLI(t)
	code := c.wait(t, c.start("run", "--seed", "3", scenario(t, "fail.yaml")), 90*time.Second)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, c.out, c.errOut)
	}
	rec := c.runRecord(t)
	if rec.Verdict != reports.VerdictFail || rec.Seeds["load"] != 3 {
		t.Errorf("verdict %s, load seed %d: want fail and 3", rec.Verdict, rec.Seeds["load"])
	}
	var failed bool
	for _, ch := range rec.Checks {
		if ch.Name == "impossible p99" {
			failed = ch.Failed() && ch.Observed != nil && *ch.Observed > 0
		}
	}
	if !failed {
		t.Errorf("the impossible p99 check did not fail with an observed value: %+v", rec.Checks)
	}
	if !strings.Contains(c.out.String(), "impossible p99") {
		t.Errorf("the verdict table does not name the failed check:\n%s", c.out)
	}
	c.assertNothingLeft(t, rec.ID)
}

func TestE2ERunInterruptedExits130(t *testing.T) {
	c := newRunCLI(t)
	done := c.start("run", "--verbose", scenario(t, "pass.yaml"))
	sigs := c.signals(t, done)
	// The fault is injected 8 s into the load: interrupt while it is active.
	c.errOut.waitFor(t, "action=inject", 60*time.Second)
	sigs <- os.Interrupt
	start := time.Now()
	code := c.wait(t, done, 60*time.Second)
	if code != 130 {
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, c.out, c.errOut)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("stopping after the interrupt took %v", took)
	}
	if !strings.Contains(c.errOut.String(), "reverting faults and stopping") {
		t.Errorf("the interrupt was not acknowledged on stderr:\n%s", c.errOut)
	}
	rec := c.runRecord(t)
	if rec.Verdict != reports.VerdictInterrupted {
		t.Errorf("verdict %s, want interrupted: %s", rec.Verdict, rec.Reason)
	}
	if f := rec.Faults[0]; f.InjectedAt == nil || f.RevertedAt == nil {
		t.Errorf("fault not injected then reverted: %+v", f)
	}
	c.assertNothingLeft(t, rec.ID)
}
