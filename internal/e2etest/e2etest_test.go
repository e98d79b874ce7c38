package e2etest

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestProcessesOfFindsOnlyMarkedProcesses(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.Env = append(os.Environ(), "GAMEDAY_RUN_ID=e2etest-marked")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if got := ProcessesOf("e2etest-marked"); !slices.Contains(got, cmd.Process.Pid) {
		t.Fatalf("ProcessesOf did not find the marked child %d: %v", cmd.Process.Pid, got)
	}
	if got := ProcessesOf("e2etest-other"); len(got) != 0 {
		t.Fatalf("ProcessesOf found processes of another run: %v", got)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := ProcessesOf("e2etest-marked"); slices.Contains(got, cmd.Process.Pid) {
		t.Fatalf("a reaped child is still reported: %v", got)
	}
}
