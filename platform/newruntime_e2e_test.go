//go:build e2e

package platform_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/reports"
)

// gamedayBinary is ./cmd/gameday: the local runtime, under the throwaway
// one, starts every shop instance as `<exe> sut serve …`.
var gamedayBinary string

func TestMain(m *testing.M) {
	os.Exit(e2etest.Main(m, "github.com/gameday/gameday/cmd/gameday", &gamedayBinary))
}

// libraryKillExperiment is the library's orders-crash-loop (an orders
// instance killed three times, restarted after 2 s) on the throwaway
// runtime, compressed from 90 s of load to 40 s: the kills come every 8 s
// from 16 s on.
func libraryKillExperiment(t *testing.T) string {
	t.Helper()
	_, data, err := experiments.Resolve("orders-crash-loop")
	if err != nil {
		t.Fatal(err)
	}
	y := string(data)
	for _, r := range [][2]string{
		{"runtime: local", "runtime: throwaway"},
		{"{duration: 75s, rate: 50}", "{duration: 25s, rate: 50}"},
		{"at: 20s", "at: 16s"},
		{"every: 20s", "every: 8s"},
	} {
		if strings.Count(y, r[0]) != 1 {
			t.Fatalf("orders-crash-loop.yaml no longer has one %q: update this test", r[0])
		}
		y = strings.Replace(y, r[0], r[1], 1)
	}
	return y
}

// A library game day on the runtime that only registered itself: `gameday
// run` deploys the shop through it, the kill fault acts through its process
// capability (three times), the checks are evaluated against the embedded
// Prometheus, the record names the runtime, and nothing of the run is left.
func TestNewRuntimeRunsALibraryGameDay(t *testing.T) {
	dir := t.TempDir()
	path := writeExperiment(t, dir, libraryKillExperiment(t))
	before := throwawayKills.Load()
	code, out, errOut := gameday(t, dir, gamedayBinary, "run", path)
	if code != 0 && code != 1 {
		t.Fatalf("run: exit %d, want a verdict (0 or 1)\n%s%s", code, out, errOut)
	}
	t.Logf("exit %d\n%s", code, out)
	if n := throwawayKills.Load() - before; n != 3 {
		t.Errorf("the runtime was asked for %d kills, want 3 (every 8s, three times)", n)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "runs"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("want one run directory under runs/: %v %v", ents, err)
	}
	rec, err := reports.Load(filepath.Join(dir, "runs", ents[0].Name(), "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Environment.Runtime != "throwaway" {
		t.Errorf("the record says runtime %q, want throwaway", rec.Environment.Runtime)
	}
	injected := 0
	for _, f := range rec.Faults {
		if f.Type == "kill" && f.InjectedAt != nil && f.RevertedAt != nil && f.Error == "" {
			injected++
		}
	}
	if injected != 3 {
		t.Errorf("%d kill occurrences injected and reverted, want 3: %+v", injected, rec.Faults)
	}
	// Every check is judged, pass or fail: a recovery that did not come
	// within the load's end is a fail with no observed time, not a check
	// left unevaluated.
	for _, c := range rec.Checks {
		if !c.Evaluated() {
			t.Errorf("check %q was not evaluated: %s", c.Name, c.Reason)
		}
	}
	if left := e2etest.ProcessesOf(rec.ID); len(left) != 0 {
		t.Errorf("processes of run %s left: %v", rec.ID, left)
	}
}
