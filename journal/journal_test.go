package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a harness in another process: with
// JOURNAL_TEST_HARNESS=dir:run it begins the run, says so on stdout and
// waits to be killed.
func TestMain(m *testing.M) {
	if v := os.Getenv("JOURNAL_TEST_HARNESS"); v != "" {
		dir, run, _ := strings.Cut(v, ":")
		j, err := Open(dir)
		if err == nil {
			_, err = j.BeginRun(run)
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("began")
		select {}
	}
	os.Exit(m.Run())
}

// harness starts another process that begins run in dir and holds it; kill
// ends it with SIGKILL and returns once it is reaped.
func harness(t *testing.T, dir, run string) (kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOURNAL_TEST_HARNESS="+dir+":"+run)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	kill = func() { _ = cmd.Process.Kill(); <-done }
	t.Cleanup(kill)
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "began" {
		t.Fatalf("harness: %q", line)
	}
	return kill
}

// fakeHandler undoes the kinds "x.unpause" and "x.run" and remembers the
// order it was called in.
type fakeHandler struct {
	calls []string
	fail  error
}

func (h *fakeHandler) Handles(k Kind) bool { return k == "x.unpause" || k == "x.run" }

func (h *fakeHandler) Undo(_ context.Context, runID string, u Undo) ([]string, error) {
	h.calls = append(h.calls, string(u.Kind)+" "+u.Ref["container"])
	if h.fail != nil {
		return nil, h.fail
	}
	return []string{"did " + string(u.Kind) + " for " + runID}, nil
}

// writeRecords journals, for run, an intent and a resource of kinds only
// fakeHandler knows, and a record that ends with the harness.
func writeRecords(t *testing.T, j *Journal, run string) {
	t.Helper()
	if err := j.WriteResource(Resource{ID: run + "-objects", RunID: run, Created: time.Now(),
		Undo: Undo{Kind: "x.run", Ref: map[string]string{"run": run}, Detail: "the run's objects"}}); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteIntent(Intent{ID: run + "-freeze", RunID: run, Fault: "freeze", Type: "pause", Created: time.Now(),
		Undo: []Undo{
			{Kind: "x.unpause", Ref: map[string]string{"container": "c1"}, Detail: "pause of payment-0"},
			{Kind: EndsWithHarness, Detail: "latency on 2 proxies"},
		}}); err != nil {
		t.Fatal(err)
	}
}

// deadRun journals a run whose harness is gone: it began in another
// process, which was then killed with SIGKILL.
func deadRun(t *testing.T, j *Journal, run string) {
	t.Helper()
	kill := harness(t, j.Dir(), run)
	if !j.Alive(run) {
		t.Fatal("the run of a live harness is not alive")
	}
	writeRecords(t, j, run)
	kill()
}

func counts(j *Journal) (int, int, int) {
	in, _ := j.Intents()
	res, _ := j.Resources()
	runs, _ := j.Runs()
	return len(in), len(res), len(runs)
}

func TestRecoverHandsEachKindToItsHandlerIntentsFirst(t *testing.T) {
	j, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deadRun(t, j, "dead")
	if j.Alive("dead") {
		t.Fatal("the run of a killed harness is still alive")
	}
	h := &fakeHandler{}
	rec, err := Recover(context.Background(), j, h)
	if err != nil {
		t.Fatal(err)
	}
	// The intent (unpause) before the resource (remove the run's objects).
	if strings.Join(h.calls, ",") != "x.unpause c1,x.run " {
		t.Errorf("handler calls %q", h.calls)
	}
	done := strings.Join(rec.Done, "\n")
	for _, want := range []string{"did x.unpause for dead", "did x.run for dead", "latency on 2 proxies: ended with the harness"} {
		if !strings.Contains(done, want) {
			t.Errorf("Done lacks %q: %q", want, rec.Done)
		}
	}
	if a, b, c := counts(j); a+b+c != 0 {
		t.Errorf("journal not cleared: %d intents, %d resources, %d runs", a, b, c)
	}
	if _, err := os.Stat(j.lockPath("dead")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left: %v", err)
	}
	// Idempotent: a second recovery finds nothing.
	rec, err = Recover(context.Background(), j, h)
	if err != nil || len(rec.Found)+len(rec.Left) != 0 {
		t.Errorf("second recovery: %q %q %v", rec.Found, rec.Left, err)
	}
}

func TestRecoverLeavesTheRecordsOfALiveRunAlone(t *testing.T) {
	j, _ := Open(t.TempDir())
	harness(t, j.Dir(), "other") // another process, alive
	writeRecords(t, j, "other")
	if _, err := j.BeginRun("mine"); err != nil { // this process, alive
		t.Fatal(err)
	}
	writeRecords(t, j, "mine")
	h := &fakeHandler{}
	rec, err := Recover(context.Background(), j, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.calls) != 0 || len(rec.Found) != 0 {
		t.Errorf("records of live runs undone: calls %q found %q", h.calls, rec.Found)
	}
	left := strings.Join(rec.Left, "\n")
	for _, want := range []string{"fault freeze (pause) of run other: harness pid", "the run's objects of run mine: harness pid " + fmt.Sprint(os.Getpid()) + " still running"} {
		if !strings.Contains(left, want) {
			t.Errorf("Left lacks %q: %q", want, rec.Left)
		}
	}
	if a, b, c := counts(j); a != 2 || b != 2 || c != 2 {
		t.Errorf("records of live runs removed: %d intents, %d resources, %d runs", a, b, c)
	}
}

func TestRecoverKeepsWhatNoHandlerTakesOrAHandlerFails(t *testing.T) {
	j, _ := Open(t.TempDir())
	deadRun(t, j, "dead")
	rec, err := Recover(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	left := strings.Join(rec.Left, "\n")
	if !strings.Contains(left, "pause of payment-0 (x.unpause) needs a recovery handler") || !strings.Contains(left, "the run's objects (x.run)") {
		t.Errorf("Left %q", rec.Left)
	}
	if a, b, c := counts(j); a != 1 || b != 1 || c != 1 {
		t.Fatalf("records not kept: %d intents, %d resources, %d runs", a, b, c)
	}
	// A handler that fails keeps the records too, and says why.
	failing := &fakeHandler{fail: errors.New("engine says no")}
	if _, err := Recover(context.Background(), j, failing); err == nil || !strings.Contains(err.Error(), "engine says no") {
		t.Errorf("failing handler: %v", err)
	}
	if a, b, c := counts(j); a != 1 || b != 1 || c != 1 {
		t.Fatalf("records not kept after a failure: %d intents, %d resources, %d runs", a, b, c)
	}
	// A later recovery with a working handler finishes the job.
	h := &fakeHandler{}
	if _, err := Recover(context.Background(), j, h); err != nil {
		t.Fatal(err)
	}
	if len(h.calls) != 2 {
		t.Errorf("later recovery: handler calls %q", h.calls)
	}
	if a, b, c := counts(j); a+b+c != 0 {
		t.Errorf("journal not cleared: %d intents, %d resources, %d runs", a, b, c)
	}
}

func TestRecordsWithoutARunRecordAreRecovered(t *testing.T) {
	// A harness that died between its first record and its run record, or
	// a run record lost: nobody holds the run, so its records are undone.
	j, _ := Open(t.TempDir())
	writeRecords(t, j, "orphan")
	h := &fakeHandler{}
	if _, err := Recover(context.Background(), j, h); err != nil {
		t.Fatal(err)
	}
	if len(h.calls) != 2 {
		t.Errorf("handler calls %q", h.calls)
	}
}

func TestRunIsCountedPerOwnerAndHeldAgainstOtherHarnesses(t *testing.T) {
	dir := t.TempDir()
	j, _ := Open(dir)
	// The runner and the runtime both begin the run; it ends with the last.
	for range 2 {
		if _, err := j.BeginRun("r"); err != nil {
			t.Fatal(err)
		}
	}
	// Another journal on the same directory (another harness) cannot take
	// the run while it is held.
	other, _ := Open(dir)
	if _, err := other.BeginRun("r"); !errors.Is(err, ErrRunHeld) {
		t.Errorf("second harness began a held run: %v", err)
	}
	if err := j.EndRun("r"); err != nil {
		t.Fatal(err)
	}
	if runs, _ := j.Runs(); len(runs) != 1 || !j.Alive("r") {
		t.Fatalf("run ended by its first owner: %v alive %v", runs, j.Alive("r"))
	}
	if err := j.EndRun("r"); err != nil {
		t.Fatal(err)
	}
	if runs, _ := j.Runs(); len(runs) != 0 || j.Alive("r") {
		t.Fatalf("run not ended by its last owner: %v", runs)
	}
	if _, err := other.BeginRun("r"); err != nil {
		t.Errorf("run not free after its end: %v", err)
	}
}

func TestJournalFilesArePrivateAndComplete(t *testing.T) {
	j, _ := Open(t.TempDir())
	if err := j.WriteIntent(Intent{ID: "r/x 1", RunID: "r", Fault: "x"}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(j.Dir(), "intents"))
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

func TestARecordThatDoesNotDecodeIsReportedNotFatal(t *testing.T) {
	j, _ := Open(t.TempDir())
	writeRecords(t, j, "r")
	bad := filepath.Join(j.Dir(), "resources", "broken.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := j.Resources()
	if len(res) != 1 || err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("resources %v, err %v; want the good one and an error naming %s", res, err, bad)
	}
	var e *json.SyntaxError
	if !errors.As(err, &e) {
		t.Errorf("error %v does not carry the decoder's", err)
	}
}
