package local

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
)

// sleeper starts a real process in its own process group, carrying runID
// in its environment (none if empty), and returns its pid.
func sleeper(t *testing.T, runID string) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.Env = os.Environ()
	if runID != "" {
		cmd.Env = append(cmd.Env, platform.RunIDEnv+"="+runID)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	// Start returns inside execve; ownership is checked by environment,
	// which the kernel publishes a moment later (see procfs.Env).
	for i := 0; runID != "" && i < 100000; i++ {
		if v, ok, _ := procfs.Env(cmd.Process.Pid, platform.RunIDEnv); ok && v == runID {
			break
		}
	}
	return cmd.Process.Pid
}

func gone(pid int) bool {
	s, err := procfs.State(pid)
	return err != nil || s == 'Z'
}

func record(t *testing.T, j *journal.Journal, runID, id string, pid int) journal.Resource {
	t.Helper()
	r, err := ProcessRecord(runID, id, pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WriteResource(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecoverResumesAndEndsOrphansOfADeadRunOnly(t *testing.T) {
	j, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A dead run: its run record is there, its lock is held by nobody.
	b, _ := json.Marshal(journal.RunRecord{RunID: "dead", PID: 1, Started: time.Now()})
	if err := os.WriteFile(filepath.Join(j.Dir(), "runs", "dead.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	orphan := sleeper(t, "dead")
	if err := syscall.Kill(orphan, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	res := record(t, j, "dead", "payment-0", orphan)
	// The pause fault's record, as PauseUndo writes it.
	p, _ := procRefOf(res.Undo.Ref)
	if err := j.WriteIntent(journal.Intent{ID: "dead-freeze-0", RunID: "dead", Fault: "freeze", Type: "pause", Created: time.Now(),
		Undo: []journal.Undo{{Kind: UndoResume, Ref: withID(p.ref(), "payment-0"), Detail: "pause of payment-0"}}}); err != nil {
		t.Fatal(err)
	}
	// A stranger: a record claims it, but its environment lacks the run id
	// (a reused pid): it must not be signalled.
	stranger := sleeper(t, "")
	record(t, j, "dead", "catalog-0", stranger)
	// A live run (this process): left alone.
	if _, err := j.BeginRun("alive"); err != nil {
		t.Fatal(err)
	}
	live := sleeper(t, "alive")
	record(t, j, "alive", "orders-0", live)

	rec, err := journal.Recover(context.Background(), j, Recoverer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("found %q\ndone %q\nleft %q", rec.Found, rec.Done, rec.Left)
	if !gone(orphan) {
		t.Error("orphan of the dead run still running")
	}
	if gone(stranger) {
		t.Error("a process without the run id in its environment was killed")
	}
	if gone(live) {
		t.Error("child of a live run was killed")
	}
	all := strings.Join(append(append(rec.Found, rec.Done...), rec.Left...), "\n")
	for _, want := range []string{"fault freeze (pause) of run dead", "resumed pid", "ended orphaned payment-0", "catalog-0 (pid", "no longer ours", "still running"} {
		if !strings.Contains(all, want) {
			t.Errorf("recovery report lacks %q", want)
		}
	}
	if in, _ := j.Intents(); len(in) != 0 {
		t.Errorf("intents left: %v", in)
	}
	kids, _ := children(j)
	if len(kids) != 1 || kids[0].RunID != "alive" {
		t.Errorf("children left %v, want only the live run's", kids)
	}
	runs, _ := j.Runs()
	if len(runs) != 1 || runs[0].RunID != "alive" {
		t.Errorf("runs left %v", runs)
	}
	// Idempotent: a second recovery finds nothing of the dead run.
	rec, err = journal.Recover(context.Background(), j, Recoverer{})
	if err != nil || len(rec.Found) != 0 {
		t.Errorf("second recovery: %v %v", rec.Found, err)
	}
}

func TestRecovererRefusesARecordFiledUnderAnotherRun(t *testing.T) {
	pid := sleeper(t, "a")
	r, err := ProcessRecord("a", "payment-0", pid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Recoverer{}).Undo(context.Background(), "b", r.Undo); err == nil || !strings.Contains(err.Error(), `filed under run "b"`) {
		t.Errorf("undo of run a's record as run b: %v", err)
	}
	if gone(pid) {
		t.Error("process signalled")
	}
}
