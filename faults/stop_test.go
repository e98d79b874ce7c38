package faults

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopBed is a procBed whose instances can also be stopped (SIGTERM).
type stopBed struct {
	*procBed
	graces []time.Duration
}

func (b *stopBed) Stop(_ context.Context, in Instance, grace time.Duration, p RestartPolicy) error {
	if err := b.signal(in, syscall.SIGTERM); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	<-b.waits[in.Index]
	delete(b.procs, in.Index)
	b.policies = append(b.policies, p)
	b.graces = append(b.graces, grace)
	return nil
}

func TestStopEndsTheInstanceGracefullyAndRestartsItAtTheEnd(t *testing.T) {
	b := &stopBed{procBed: newProcBed(t, 2)}
	f := mustNew(t, Spec{Name: "s", Type: "stop", Target: Target{Service: "svc"}, Params: map[string]string{"grace": "3s"}}, b)
	undo, err := f.(Preparer).Prepare(context.Background())
	if err != nil || len(undo) != 1 || !strings.Contains(undo[0].Detail, "stop of svc-0") {
		t.Fatalf("prepare: %+v %v", undo, err)
	}
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if now, _ := b.Instances("svc"); len(now) != 1 {
		t.Fatalf("%d instances after stopping one of 2", len(now))
	}
	if len(b.policies) != 1 || b.policies[0].Mode != RestartAtRevert || b.graces[0] != 3*time.Second {
		t.Fatalf("policies %v graces %v, want end and 3s", b.policies, b.graces)
	}
	for range 2 {
		if err := f.Revert(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if now, _ := b.Instances("svc"); len(now) != 2 || b.restarts != 1 {
		t.Fatalf("after revert: %d instances, %d restarts; want 2 and 1", len(now), b.restarts)
	}
}

func TestStopNeedsARuntimeThatCanStop(t *testing.T) {
	_, err := New(Spec{Name: "s", Type: "stop", Target: Target{Service: "svc"}}, newProcBed(t, 1))
	if err == nil || !strings.Contains(err.Error(), "cannot stop instances gracefully") {
		t.Fatalf("stop on a runtime without Stop: %v", err)
	}
}
