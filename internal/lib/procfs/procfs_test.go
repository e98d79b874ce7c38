package procfs

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestReadsARealProcess(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), "PROCFS_TEST=yes it is")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Kill(); <-done }()
	pid := cmd.Process.Pid
	st, err := StartTime(pid)
	if err != nil || st == 0 {
		t.Fatalf("start time %d, %v", st, err)
	}
	self, _ := StartTime(os.Getpid())
	if st < self {
		t.Errorf("child started at %d, before its parent (%d)", st, self)
	}
	// Start returns once the child is inside execve (a vfork-style clone);
	// the kernel publishes the new environment a moment later (see Env).
	v, ok, err := Env(pid, "PROCFS_TEST")
	for i := 0; err == nil && !ok && i < 100000; i++ {
		v, ok, err = Env(pid, "PROCFS_TEST")
	}
	if err != nil || !ok || v != "yes it is" {
		t.Errorf("env %q %v %v", v, ok, err)
	}
	if _, ok, _ := Env(pid, "PROCFS_NOT_SET"); ok {
		t.Error("found a variable that is not set")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for s, _ := State(pid); s != 'T'; s, _ = State(pid) {
		// the kernel offers no event for a state change: poll /proc
	}
	_ = syscall.Kill(pid, syscall.SIGCONT)
	cmd.Process.Kill()
	<-done
	if _, err := StartTime(pid); err == nil {
		t.Error("start time of a reaped process")
	}
}
