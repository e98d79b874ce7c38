//go:build e2e

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/reports"
)

// TestE2ESIGKILLedRunIsClosedAsCrashedByRecover: `gameday run` is killed
// with SIGKILL while its fault is injected; the run folder still holds the
// record written as the run went, `gameday recover` closes it as crashed
// (checks not reached are not evaluated, the fault is marked) and renders
// its reports, and `gameday report` renders it again.
func TestE2ESIGKILLedRunIsClosedAsCrashedByRecover(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	env := append(os.Environ(), "GAMEDAY_STATE_DIR="+state)
	run := exec.Command(gamedayBinary, "run", "--verbose", scenario(t, "pass.yaml"))
	run.Dir, run.Env = dir, env
	out, errOut := newLineBuffer(), newLineBuffer()
	run.Stdout, run.Stderr = out, errOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { run.Wait(); close(exited) }()
	errOut.waitFor(t, "action=inject", 90*time.Second)
	// Past the next checkpoint, so the record holds the injection.
	out.waitFor(t, "[14s / ", 30*time.Second)
	if err := run.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited

	ents, err := os.ReadDir(filepath.Join(dir, "runs"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("want one run folder: %v %v", ents, err)
	}
	runDir := filepath.Join(dir, "runs", ents[0].Name())
	path := filepath.Join(runDir, "run.json")
	rec, err := reports.Load(path)
	if err != nil {
		t.Fatalf("a SIGKILLed run left no readable run.json: %v", err)
	}
	if rec.Verdict != reports.VerdictRunning || len(rec.Requests) == 0 || rec.Faults[0].InjectedAt == nil {
		t.Fatalf("record before recover: verdict %s, %d request series, fault %+v", rec.Verdict, len(rec.Requests), rec.Faults)
	}

	rc := exec.Command(gamedayBinary, "recover")
	rc.Dir, rc.Env = dir, env
	said, err := rc.CombinedOutput()
	if err != nil {
		t.Fatalf("recover: %v\n%s", err, said)
	}
	if !strings.Contains(string(said), "closed run record") {
		t.Errorf("recover did not say it closed the record:\n%s", said)
	}
	rec, err = reports.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Verdict != reports.VerdictCrashed {
		t.Errorf("verdict %s after recover, want crashed", rec.Verdict)
	}
	tally := rec.Tally()
	if tally.Total == 0 || tally.NotEvaluated == 0 {
		t.Errorf("tally %+v: a crashed run's checks not reached must be listed as not evaluated", tally)
	}
	for _, c := range rec.Checks {
		if c.Status == reports.StatusNotEvaluated && !strings.Contains(c.Reason, "crashed") && !strings.Contains(c.Reason, "not evaluated") {
			t.Errorf("check %q: reason %q", c.Name, c.Reason)
		}
	}
	if f := rec.Faults[0]; f.RevertedAt != nil || !strings.Contains(f.Error, "recover") {
		t.Errorf("fault after recover: %+v", f)
	}
	var n int64
	for _, rs := range rec.Requests {
		for _, iv := range rs.Intervals {
			n += iv.Count
		}
	}
	if n == 0 {
		t.Error("the crashed run's record lost the load it measured")
	}
	for _, f := range []string{"report.html", "junit.xml", "summary.md"} {
		b, err := os.ReadFile(filepath.Join(runDir, f))
		if err != nil || !strings.Contains(strings.ToLower(string(b)), "crashed") {
			t.Errorf("%s after recover: %v (mentions crashed: %v)", f, err, err == nil && strings.Contains(strings.ToLower(string(b)), "crashed"))
		}
	}
	rep := exec.Command(gamedayBinary, "report", path)
	rep.Dir, rep.Env = dir, env
	if b, err := rep.CombinedOutput(); err != nil {
		t.Errorf("gameday report of the crashed record: %v\n%s", err, b)
	}
	assertJournalEmpty(t, state)
}
