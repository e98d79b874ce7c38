package faults

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSleeper starts a real process, in its own process group, carrying
// runID in its environment (none if empty).
func startSleeper(t *testing.T, runID string) ChildRecord {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.Env = os.Environ()
	if runID != "" {
		cmd.Env = append(cmd.Env, RunIDEnv+"="+runID)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	st, err := ProcStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return ChildRecord{ProcRef: ProcRef{PID: cmd.Process.Pid, StartTime: st, RunID: runID}, Service: "payment", ID: "payment-0", Pgid: true}
}

func gone(pid int) bool {
	s, err := ProcState(pid)
	return err != nil || s == 'Z'
}

func TestRecoverResumesAndEndsOrphansOfADeadRunOnly(t *testing.T) {
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A dead run: its harness record points at a pid that is not alive with
	// that start time.
	dead := RunRecord{RunID: "dead", PID: os.Getpid(), StartTime: 1}
	if err := j.write("runs/dead.json", dead); err != nil {
		t.Fatal(err)
	}
	orphan := startSleeper(t, "dead")
	orphan.RunID = "dead"
	if err := syscall.Kill(orphan.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteChild(orphan); err != nil {
		t.Fatal(err)
	}
	ref := orphan.ProcRef
	if err := j.WriteIntent(Intent{ID: "dead-freeze-0", RunID: "dead", Fault: "freeze", Type: "pause", Created: time.Now(),
		Undo: []Undo{{Kind: UndoResume, Proc: &ref, Detail: "pause of payment-0"}}}); err != nil {
		t.Fatal(err)
	}
	// A stranger: a journal record claims it, but its environment lacks the
	// run id (a reused pid): it must not be signalled.
	stranger := startSleeper(t, "")
	stranger.RunID = "dead"
	stranger.ID = "catalog-0"
	if err := j.WriteChild(stranger); err != nil {
		t.Fatal(err)
	}
	// A live run (this process): left alone.
	if _, err := j.BeginRun("alive"); err != nil {
		t.Fatal(err)
	}
	live := startSleeper(t, "alive")
	if err := j.WriteChild(live); err != nil {
		t.Fatal(err)
	}

	rec, err := Recover(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("found %q\ndone %q\nleft %q", rec.Found, rec.Done, rec.Left)
	if !gone(orphan.PID) {
		t.Error("orphan of the dead run still running")
	}
	if gone(stranger.PID) {
		t.Error("a process without the run id in its environment was killed")
	}
	if gone(live.PID) {
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
	kids, _ := j.Children()
	if len(kids) != 1 || kids[0].RunID != "alive" {
		t.Errorf("children left %v, want only the live run's", kids)
	}
	runs, _ := j.Runs()
	if len(runs) != 1 || runs[0].RunID != "alive" {
		t.Errorf("runs left %v", runs)
	}
	// Idempotent: a second recovery finds nothing of the dead run.
	rec, err = Recover(context.Background(), j)
	if err != nil || len(rec.Found) != 0 {
		t.Errorf("second recovery: %v %v", rec.Found, err)
	}
}

func TestJournalFilesArePrivateAndComplete(t *testing.T) {
	j, _ := OpenJournal(t.TempDir())
	if err := j.WriteIntent(Intent{ID: "r/x 1", RunID: "r", Fault: "x"}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(j.Dir() + "/intents")
	if len(ents) != 1 || strings.HasSuffix(ents[0].Name(), ".tmp") {
		t.Fatalf("intent files %v", ents)
	}
	info, _ := ents[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Errorf("intent file mode %v, want 0600", info.Mode().Perm())
	}
	if err := j.ClearIntent("r/x 1"); err != nil {
		t.Fatal(err)
	}
	if err := j.ClearIntent("r/x 1"); err != nil {
		t.Fatalf("clearing twice: %v", err)
	}
}
