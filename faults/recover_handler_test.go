package faults

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeHandler reverts the kinds "x-unpause" and "x-run" and remembers the
// order it was called in.
type fakeHandler struct{ calls []string }

func (h *fakeHandler) Handles(k UndoKind) bool { return k == "x-unpause" || k == "x-run" }

func (h *fakeHandler) Undo(_ context.Context, runID string, u Undo) ([]string, error) {
	h.calls = append(h.calls, string(u.Kind)+" "+u.Ref["container"])
	return []string{"did " + string(u.Kind) + " for " + runID}, nil
}

// deadRunJournal has a run whose harness is gone, with an intent and a
// resource of kinds only a runtime's handler knows.
func deadRunJournal(t *testing.T) *Journal {
	t.Helper()
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(RunRecord{RunID: "dead", PID: os.Getpid(), StartTime: 1, Started: time.Now()})
	if err := os.WriteFile(filepath.Join(j.Dir(), "runs", "dead.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteResource(Resource{ID: "dead-objects", RunID: "dead", Created: time.Now(),
		Undo: Undo{Kind: "x-run", Ref: map[string]string{"run": "dead"}, Detail: "the run's objects"}}); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteIntent(Intent{ID: "dead-freeze", RunID: "dead", Fault: "freeze", Type: "pause", Created: time.Now(),
		Undo: []Undo{{Kind: "x-unpause", Ref: map[string]string{"container": "c1"}, Detail: "pause of payment-0"}}}); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestRecoverHandsUnknownKindsToTheRuntimesHandler(t *testing.T) {
	j := deadRunJournal(t)
	h := &fakeHandler{}
	rec, err := Recover(context.Background(), j, h)
	if err != nil {
		t.Fatal(err)
	}
	// The intent (unpause) before the resource (remove the run's objects).
	if strings.Join(h.calls, ",") != "x-unpause c1,x-run " {
		t.Errorf("handler calls %q", h.calls)
	}
	done := strings.Join(rec.Done, "\n")
	for _, want := range []string{"did x-unpause for dead", "did x-run for dead"} {
		if !strings.Contains(done, want) {
			t.Errorf("Done lacks %q: %q", want, rec.Done)
		}
	}
	in, _ := j.Intents()
	res, _ := j.Resources()
	runs, _ := j.Runs()
	if len(in)+len(res)+len(runs) != 0 {
		t.Errorf("journal not cleared: %v %v %v", in, res, runs)
	}
}

func TestRecoverKeepsWhatNoHandlerTakes(t *testing.T) {
	j := deadRunJournal(t)
	rec, err := Recover(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	left := strings.Join(rec.Left, "\n")
	if !strings.Contains(left, "pause of payment-0 (x-unpause) needs a recovery handler") || !strings.Contains(left, "the run's objects (x-run)") {
		t.Errorf("Left %q", rec.Left)
	}
	in, _ := j.Intents()
	res, _ := j.Resources()
	if len(in) != 1 || len(res) != 1 {
		t.Fatalf("records not kept: intents %v resources %v", in, res)
	}
	// A later recovery with the handler finishes the job.
	h := &fakeHandler{}
	if _, err := Recover(context.Background(), j, h); err != nil {
		t.Fatal(err)
	}
	if len(h.calls) != 2 {
		t.Errorf("later recovery: handler calls %q", h.calls)
	}
}

// describedBed is a process runtime that describes its own pause undo.
type describedBed struct{ *procBed }

func (describedBed) PauseUndo(in Instance) Undo {
	return Undo{Kind: "x-unpause", Ref: map[string]string{"container": in.ID}, Detail: "pause of " + in.ID}
}

func TestPauseJournalsTheRuntimesOwnUndo(t *testing.T) {
	b := describedBed{newProcBed(t, 1)}
	f := mustNew(t, Spec{Name: "freeze", Type: "pause", Target: Target{Service: "payment"}}, b)
	u, err := f.(Preparer).Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 1 || u[0].Kind != "x-unpause" || u[0].Ref["container"] != "payment-0" || u[0].Proc != nil {
		t.Errorf("undo %+v, want the runtime's x-unpause of payment-0", u)
	}
}
