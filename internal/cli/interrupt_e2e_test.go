//go:build e2e

package cli

import (
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
)

var listenRe = regexp.MustCompile(`(?:listening |http://)(127\.0\.0\.1:\d+)`)

type harnessRun struct {
	state, runDir string
	cmd           *exec.Cmd
	out, errOut   *lineBuffer
	exited        chan struct{}
}

// startHarness runs `gameday sut up` as its own process with two faults
// that change something outside the harness: a paused payment instance and
// a latency toxic.
func startHarness(t *testing.T, bin string) *harnessRun {
	t.Helper()
	dir := t.TempDir()
	h := &harnessRun{state: filepath.Join(dir, "state"), runDir: filepath.Join(dir, "run"), out: newLineBuffer(), errOut: newLineBuffer(), exited: make(chan struct{})}
	h.cmd = exec.Command(bin, "sut", "up", "--variant", "naive", "--run-dir", h.runDir,
		"--fault", "pause:payment", "--fault", "latency:catalog:delay=5ms")
	h.cmd.Env = append(os.Environ(), "GAMEDAY_STATE_DIR="+h.state)
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.errOut
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.cmd.Wait(); close(h.exited) }()
	return h
}

func (h *harnessRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		h.cmd.Process.Kill()
		<-h.exited
		t.Fatalf("harness did not exit within 30s\nstdout:\n%s\nstderr:\n%s", h.out, h.errOut)
	}
}

// assertNothingLeft checks that no process started by the run is left
// (found by the state dir in its inherited environment, stopped or not),
// that no address it listened on still accepts connections, and that the
// journal is empty.
func (h *harnessRun) assertNothingLeft(t *testing.T, what string) {
	t.Helper()
	if left := processesWithEnv("GAMEDAY_STATE_DIR", h.state); len(left) != 0 {
		var states []string
		for _, pid := range left {
			s, _ := procfs.State(pid)
			states = append(states, string(s))
		}
		t.Fatalf("%s: processes left: %v (states %v)\nstderr:\n%s", what, left, states, h.errOut)
	}
	text := h.out.String()
	logs, _ := filepath.Glob(filepath.Join(h.runDir, "logs", "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		text += string(b)
	}
	addrs := map[string]bool{}
	for _, m := range listenRe.FindAllStringSubmatch(text, -1) {
		addrs[m[1]] = true
	}
	for a := range addrs {
		if c, err := net.DialTimeout("tcp", a, 200*time.Millisecond); err == nil {
			c.Close()
			t.Fatalf("%s: %s still accepts connections", what, a)
		}
	}
	j, err := journal.Open(h.state)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := j.Intents()
	kids, _ := j.Resources()
	runs, _ := j.Runs()
	if len(in)+len(kids)+len(runs) != 0 {
		t.Fatalf("%s: journal not empty: intents %v resources %v runs %v", what, in, kids, runs)
	}
}

func TestE2EInterruptAtRandomMomentsLeavesNothingBehind(t *testing.T) {
	bin := buildGameday(t)
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	const runs = 30
	ready := 0
	for i := 0; i < runs; i++ {
		sig, name := syscall.SIGINT, "SIGINT"
		if i%2 == 1 {
			sig, name = syscall.SIGTERM, "SIGTERM"
		}
		delay := time.Duration(r.Int63n(int64(2500 * time.Millisecond)))
		h := startHarness(t, bin)
		time.Sleep(delay) // the random moment is the point of the test
		wasReady := strings.Contains(h.out.String(), "injected")
		if wasReady {
			ready++
		}
		_ = h.cmd.Process.Signal(sig)
		start := time.Now()
		h.wait(t)
		code := h.cmd.ProcessState.ExitCode()
		// 0: stopped after start-up; 130: interrupted during start-up; -1:
		// killed by the signal before its handler was installed (nothing started yet).
		if code != 0 && code != 130 && code != -1 {
			t.Fatalf("run %d (%s after %v): exit %d\n%s", i, name, delay, code, h.errOut)
		}
		h.assertNothingLeft(t, name+" after "+delay.String())
		t.Logf("run %2d: %s after %-14v ready=%-5v exit %3d, stopped in %v", i, name, delay.Round(time.Millisecond), wasReady, code, time.Since(start).Round(time.Millisecond))
	}
	if ready < runs/4 {
		t.Errorf("only %d of %d runs were interrupted with their faults injected", ready, runs)
	}
}

func TestE2ESIGKILLThenRecoverLeavesNothingBehind(t *testing.T) {
	bin := buildGameday(t)
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	for i := 0; i < 10; i++ {
		h := startHarness(t, bin)
		what := ""
		if i%2 == 0 {
			// With the faults injected (a payment instance stopped).
			h.out.waitFor(t, "fault    pause-0 injected", 60*time.Second)
			what = "after injection"
		} else {
			d := time.Duration(r.Int63n(int64(1500 * time.Millisecond)))
			time.Sleep(d)
			what = "after " + d.String()
		}
		_ = h.cmd.Process.Signal(syscall.SIGKILL)
		h.wait(t)
		rec := exec.Command(bin, "recover")
		rec.Env = append(os.Environ(), "GAMEDAY_STATE_DIR="+h.state)
		out, err := rec.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: recover: %v\n%s", i, err, out)
		}
		h.assertNothingLeft(t, "SIGKILL "+what+" + recover")
		t.Logf("run %d: SIGKILL %s; recover said:\n%s", i, what, strings.TrimSpace(string(out)))
	}
}
