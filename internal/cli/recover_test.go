package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/local"
)

func TestRecoverWithNothingToDo(t *testing.T) {
	s := newSUTState(t, "")
	if code := Execute(s.gs, []string{"recover"}); code != 0 {
		t.Fatalf("exit %d: %s", code, s.errOut)
	}
	if !strings.Contains(s.out.String(), "nothing to recover in "+s.state) {
		t.Fatalf("output: %q", s.out)
	}
}

func TestRecoverEndsTheOrphansOfACrashedRun(t *testing.T) {
	s := newSUTState(t, "")
	j, err := journal.Open(s.state)
	if err != nil {
		t.Fatal(err)
	}
	// A run whose harness is gone: its run record is there, its lock is
	// held by nobody.
	b, _ := json.Marshal(journal.RunRecord{RunID: "crashed", PID: 1, Started: time.Now()})
	if err := os.WriteFile(filepath.Join(s.state, "runs", "crashed.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Its orphan: a real process carrying the run id, stopped by a pause.
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), platform.RunIDEnv+"=crashed")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGSTOP)
	// The records the local runtime writes: the child, and the pause's
	// resume of the same process.
	child, err := local.ProcessRecord("crashed", "payment-0", cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WriteResource(child); err != nil {
		t.Fatal(err)
	}
	resume := child.Undo
	resume.Kind, resume.Detail = local.UndoResume, "pause of payment-0"
	if err := j.WriteIntent(journal.Intent{ID: "crashed-freeze-0", RunID: "crashed", Fault: "freeze", Type: "pause", Created: time.Now(),
		Undo: []journal.Undo{resume}}); err != nil {
		t.Fatal(err)
	}
	if code := Execute(s.gs, []string{"recover"}); code != 0 {
		t.Fatalf("exit %d: %s", code, s.errOut)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("orphan still running after recover")
	}
	out := s.out.String()
	for _, want := range []string{"found   fault freeze (pause) of run crashed", "did     resumed pid", "did     ended orphaned payment-0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	s2 := newSUTState(t, "")
	s2.gs.Env["GAMEDAY_STATE_DIR"] = s.state
	if code := Execute(s2.gs, []string{"recover"}); code != 0 || !strings.Contains(s2.out.String(), "nothing to recover") {
		t.Fatalf("second recover: %d %s", code, s2.out)
	}
}

// assertJournalEmpty fails when the fault journal in state still holds an
// intent, a resource or a run: what a recovered or finished run must not
// leave.
func assertJournalEmpty(t *testing.T, state string) {
	t.Helper()
	j, err := journal.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := j.Intents()
	res, _ := j.Resources()
	runs, _ := j.Runs()
	if len(in)+len(res)+len(runs) != 0 {
		t.Errorf("journal not empty: intents %v resources %v runs %v", in, res, runs)
	}
}
