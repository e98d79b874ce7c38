package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
)

// procBed is a ProcessRuntime over real processes (sleep), one per index.
type procBed struct {
	t     *testing.T
	runID string

	mu       sync.Mutex
	procs    map[int]*exec.Cmd
	waits    map[int]chan struct{}
	policies []RestartPolicy
	restarts int
}

func newProcBed(t *testing.T, n int) *procBed {
	b := &procBed{t: t, runID: fmt.Sprintf("bed-%d", os.Getpid()), procs: map[int]*exec.Cmd{}, waits: map[int]chan struct{}{}}
	for i := 0; i < n; i++ {
		b.start(i)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, c := range b.procs {
			_ = syscall.Kill(c.Process.Pid, syscall.SIGKILL)
			<-b.waits[i]
		}
	})
	return b
}

func (b *procBed) start(i int) {
	c := exec.Command("sleep", "60")
	c.Env = append(os.Environ(), "GAMEDAY_RUN_ID="+b.runID)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		b.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	b.procs[i], b.waits[i] = c, done
}

func (b *procBed) Name() string { return "procbed" }

func (b *procBed) Instances(service string) ([]Instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Instance
	for i, c := range b.procs {
		out = append(out, Instance{Service: service, Index: i, ID: fmt.Sprintf("%s-%d", service, i), Ref: strconv.Itoa(c.Process.Pid)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// errGone says the instance's process is not the one the fault chose.
var errGone = errors.New("gone")

// signal signals the process of in if it is still the one in.Ref names.
func (b *procBed) signal(in Instance, sig syscall.Signal) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.procs[in.Index]
	if c == nil || strconv.Itoa(c.Process.Pid) != in.Ref {
		return fmt.Errorf("%s (%s): %w", in.ID, in.Ref, errGone)
	}
	return syscall.Kill(c.Process.Pid, sig)
}

func pidOf(in Instance) int {
	pid, _ := strconv.Atoi(in.Ref)
	return pid
}

func (b *procBed) Kill(_ context.Context, in Instance, p RestartPolicy) error {
	if err := b.signal(in, syscall.SIGKILL); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	<-b.waits[in.Index]
	delete(b.procs, in.Index)
	b.policies = append(b.policies, p)
	return nil
}

func (b *procBed) Restart(_ context.Context, in Instance) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, up := b.procs[in.Index]; !up {
		b.start(in.Index)
		b.restarts++
	}
	return nil
}

func (b *procBed) Pause(_ context.Context, in Instance) error {
	return b.signal(in, syscall.SIGSTOP)
}

func (b *procBed) Resume(_ context.Context, in Instance) error {
	if err := b.signal(in, syscall.SIGCONT); err != nil && !errors.Is(err, errGone) {
		return err
	}
	return nil
}

func (b *procBed) PauseUndo(in Instance) journal.Undo {
	return journal.Undo{Kind: "procbed.resume", Ref: map[string]string{"pid": in.Ref}, Detail: "pause of " + in.ID}
}

func waitStopped(pid int, want bool) bool {
	for i := 0; i < 1000; i++ {
		s, err := procfs.State(pid)
		if err != nil {
			return false
		}
		if (s == 'T') == want {
			return true
		}
		time.Sleep(time.Millisecond) // polling /proc: the kernel offers no event for a state change
	}
	return false
}

func TestKillEndsTheChosenInstancesAndAppliesTheRestartPolicy(t *testing.T) {
	b := newProcBed(t, 4)
	f := mustNew(t, Spec{Name: "k", Type: "kill", Target: Target{Service: "svc", Instances: "50%", Pick: "random"}, Seed: 3,
		Params: map[string]string{"restart": "end"}}, b)
	undo, err := f.(Preparer).Prepare(context.Background())
	if err != nil || len(undo) != 2 {
		t.Fatalf("prepare: %v %v", undo, err)
	}
	before, _ := b.Instances("svc")
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, _ := b.Instances("svc")
	if len(after) != 2 {
		t.Fatalf("%d of 4 instances left after killing 50%%", len(after))
	}
	dead := 0
	for _, in := range before {
		if s, err := procfs.State(pidOf(in)); err != nil || s == 'Z' {
			dead++
		}
	}
	if dead != 2 || len(b.policies) != 2 || b.policies[0].Mode != RestartAtRevert {
		t.Fatalf("%d processes gone, policies %v", dead, b.policies)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if now, _ := b.Instances("svc"); len(now) != 4 || b.restarts != 2 {
		t.Fatalf("after revert: %d instances, %d restarts; want 4 and 2 (once each)", len(now), b.restarts)
	}
}

func TestKillWithRestartDelayLeavesTheRestartToTheRuntime(t *testing.T) {
	b := newProcBed(t, 2)
	f := mustNew(t, Spec{Name: "k", Type: "kill", Target: Target{Service: "svc"}, Params: map[string]string{"restartDelay": "250ms"}}, b)
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(b.policies) != 1 || b.policies[0].Mode != RestartAfterDelay || b.policies[0].Delay.Milliseconds() != 250 || b.restarts != 0 {
		t.Fatalf("policies %v restarts %d", b.policies, b.restarts)
	}
}

func TestPauseStopsAndRevertResumes(t *testing.T) {
	b := newProcBed(t, 3)
	idx := 1
	f := mustNew(t, Spec{Name: "p", Type: "pause", Target: Target{Service: "svc", Index: &idx}}, b)
	undo, err := f.(Preparer).Prepare(context.Background())
	// The journal gets the runtime's own record of how to undo the pause.
	if err != nil || len(undo) != 1 || undo[0].Kind != "procbed.resume" || undo[0].Ref["pid"] == "" {
		t.Fatalf("prepare: %+v %v, want the runtime's procbed.resume", undo, err)
	}
	pid, _ := strconv.Atoi(undo[0].Ref["pid"])
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !waitStopped(pid, true) {
		t.Fatal("not stopped")
	}
	insts, _ := b.Instances("svc")
	for _, in := range insts {
		if in.Index != idx {
			if s, _ := procfs.State(pidOf(in)); s == 'T' {
				t.Errorf("instance %d stopped too", in.Index)
			}
		}
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !waitStopped(pid, false) {
		t.Fatal("still stopped after revert")
	}
}
