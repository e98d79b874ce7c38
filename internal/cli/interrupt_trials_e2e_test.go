//go:build e2e

package cli

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/libtest"
	"github.com/gameday/gameday/reports"
)

// TestE2EInterruptTrialsJudgeOnlyWhatWasMeasured sends SIGINT (through the
// command's own signal channel) at random moments across the library
// scenarios, and asserts on every run record that:
//   - the run is INTERRUPTED with exit 130, and says where the load stopped;
//   - every planned check is listed, and none is marked pass or fail on a
//     window that ends after the load stopped;
//   - requests cut off by the stop are counted as cancelled, never as errors.
//
// GAMEDAY_INTERRUPT_TRIALS sets the number of trials (default 20).
func TestE2EInterruptTrialsJudgeOnlyWhatWasMeasured(t *testing.T) {
	trials := 20
	if s := os.Getenv("GAMEDAY_INTERRUPT_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		trials = n
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	lib, err := experiments.Library()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sc := range lib {
		names = append(names, sc.Name)
	}
	var mu sync.Mutex
	cancelled := 0
	// Two trials at a time (the -parallel default on two cores): each has its
	// own state directory and ports, and the assertions time nothing, so a
	// busier machine only makes the stops land at less tidy moments.
	t.Run("trials", func(t *testing.T) {
		for i := range trials {
			name := names[i%len(names)]
			e := libtest.Load(t, name)
			moment := trialMoment(t, e, (i+i/len(names))%4, rng)
			t.Run(fmt.Sprintf("%02d-%s-at-%.1fs", i, name, moment.Seconds()), func(t *testing.T) {
				t.Parallel()
				c := newRunCLI(t)
				done := c.start("run", name)
				sigs := c.signals(t, done)
				// The moment counts from the load's start (the deploy takes a few seconds).
				c.out.waitFor(t, "[1s / ", 60*time.Second)
				time.Sleep(moment) // the random moment is the point of the trial
				sigs <- os.Interrupt
				if code := c.wait(t, done, 90*time.Second); code != 130 {
					t.Fatalf("exit %d, want 130\nstdout:\n%s", code, c.out)
				}
				rec := c.runRecord(t)
				n := assertJudgedOnlyMeasured(t, rec, e)
				mu.Lock()
				cancelled += n
				mu.Unlock()
				c.assertNothingLeft(t, rec.ID)
			})
		}
	})
	t.Logf("%d trials; %d requests cancelled by the stops in all", trials, cancelled)
}

// assertJudgedOnlyMeasured checks one interrupted run's record and returns
// the requests it counts as cancelled.
func assertJudgedOnlyMeasured(t *testing.T, rec *reports.Run, e *experiments.Experiment) int {
	t.Helper()
	if rec.Verdict != reports.VerdictInterrupted {
		t.Errorf("verdict %s (%s), want interrupted", rec.Verdict, rec.Reason)
	}
	if rec.StoppedAt == nil {
		t.Fatalf("an interrupted run does not say where its load stopped: %+v", rec.Reason)
	}
	stopped := *rec.StoppedAt
	plan, err := e.Plan()
	if err != nil {
		t.Fatal(err)
	}
	want := len(plan.SteadyState)
	for _, s := range plan.SLOs {
		if s.Recovery {
			want++
		} else {
			want += len(s.Intervals)
		}
	}
	if e.Spec.Integrity {
		want++
	}
	if len(rec.Checks) != want {
		t.Errorf("%d checks in the record, the plan has %d", len(rec.Checks), want)
	}
	for _, c := range rec.Checks {
		switch c.Status {
		case reports.StatusPass, reports.StatusFail:
			// A second of slack: the last scrape lands a little after the stop.
			if c.WindowEnd > stopped+1 {
				t.Errorf("check %q is %s on t=%.1f–%.1fs, but the load stopped at t=%.1fs (%s)", c.Name, c.Status, c.WindowStart, c.WindowEnd, stopped, c.Reason)
			}
		case reports.StatusNotEvaluated:
			if c.Reason == "" {
				t.Errorf("check %q is not evaluated and does not say why", c.Name)
			}
		default:
			t.Errorf("check %q has status %q", c.Name, c.Status)
		}
	}
	n := 0
	for _, rs := range rec.Requests {
		for _, iv := range rs.Intervals {
			if iv.Errors["canceled"] > 0 {
				t.Errorf("%s at t=%.0fs: %d requests cut off by the stop counted as errors", rs.Name, iv.At, iv.Errors["canceled"])
			}
			n += int(iv.Cancelled)
		}
	}
	return n
}

// trialMoment picks when to interrupt a scenario, in one of four classes so
// that every scenario is cut, across the trials, at each kind of moment:
// 0 before its first fault, 1 during it, 2 in the 10 s after its revert
// (while a recovery is being watched), 3 anywhere in the first 40 s.
// Within its class the moment is random.
func trialMoment(t *testing.T, e *experiments.Experiment, class int, rng *rand.Rand) time.Duration {
	t.Helper()
	p, err := e.Plan()
	if err != nil {
		t.Fatal(err)
	}
	total := e.TotalDuration()
	lo, hi := 500*time.Millisecond, min(40*time.Second, total)
	if len(p.Faults) > 0 {
		start, end := p.Faults[0].Start.D(), p.Faults[0].End.D()
		switch class {
		case 0:
			hi = start
		case 1:
			lo, hi = start, max(end, start+time.Second)
		case 2:
			lo, hi = end, min(end+10*time.Second, total)
		}
	}
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int63n(int64(hi-lo)))
}
