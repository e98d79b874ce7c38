package reports_test

import (
	"bytes"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

func TestJUnitParses(t *testing.T) {
	r := reportstest.New(reportstest.Options{Failing: true})
	r.Checks = append(r.Checks, reports.Check{Name: "error budget <burn>", Kind: reports.KindSLO, Bound: "< 0.1", Status: reports.StatusNotEvaluated, Reason: "run aborted"})
	r.Integrity.OK = false
	r.Integrity.Problems = []string{"order o-17 acknowledged but missing"}
	for i, c := range r.Checks {
		if c.Kind == reports.KindIntegrity {
			r.Checks[i] = reports.IntegrityCheck(r.Integrity, "")
		}
	}
	r.Verdict, r.Reason = reports.VerdictAborted, "error ratio above 50% for 10s"
	r.Abort = &reports.Abort{Condition: "gameday:error:ratio10s > 0.5", FiredAt: 80, Observed: 0.64}

	var buf bytes.Buffer
	if err := reports.WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(buf.Bytes())
	if err != nil {
		t.Fatalf("junit reader: %v\n%s", err, buf.String())
	}
	if len(suites) != 2 {
		t.Fatalf("%d suites, want 2 (the checks, the run)", len(suites))
	}
	s := suites[0]
	s.Aggregate()
	// 3 SLO/steady-state checks + 2 recoveries + integrity + the one not evaluated: the run's list of checks.
	if s.Totals.Tests != len(r.Checks) || s.Totals.Failed != 3 || s.Totals.Skipped != 1 || s.Totals.Passed != 3 {
		t.Errorf("totals %+v, want %d tests: 3 passed, 3 failed, 1 skipped", s.Totals, len(r.Checks))
	}
	for i, tc := range s.Tests {
		if tc.Name != r.Checks[i].Name {
			t.Errorf("testcase %d is %q, check %d is %q", i, tc.Name, i, r.Checks[i].Name)
		}
		if tc.SystemOut == "" {
			t.Errorf("testcase %q has no output", tc.Name)
		}
	}
	run := suites[1]
	if len(run.Tests) != 1 || run.Tests[0].Name != "run completes" || run.Tests[0].Status != junit.StatusFailed ||
		!strings.Contains(run.Tests[0].Error.Error(), "abort condition: gameday:error:ratio10s > 0.5") {
		t.Errorf("run suite: %+v", run.Tests)
	}
	if s.Properties["verdict"] != "aborted" || s.Properties["seed.load"] != "42" {
		t.Errorf("properties %v lack verdict or seeds", s.Properties)
	}
	byName := map[string]junit.Test{}
	for _, tc := range s.Tests {
		byName[tc.Name] = tc
	}
	slo := byName["checkout p99 during slowdown"]
	if slo.Status != junit.StatusFailed || slo.Message != "observed worst 1.42 s, expected < 1.2; first breach at t=29.0 s: 1.25 s" {
		t.Errorf("SLO testcase: %s %q", slo.Status, slo.Message)
	}
	if slo.Classname != "gameday.payment-slowdown.slo" || slo.Error == nil || !strings.Contains(slo.Error.Error(), "histogram_quantile") {
		t.Errorf("SLO testcase classname %q, detail %v", slo.Classname, slo.Error)
	}
	if ss := byName["availability before faults"]; ss.Status != junit.StatusPassed || ss.Classname != "gameday.payment-slowdown.steady-state" {
		t.Errorf("steady-state testcase: %s %s", ss.Status, ss.Classname)
	}
	if sk := byName["error budget <burn>"]; sk.Status != junit.StatusSkipped || !strings.Contains(sk.Message, "run aborted") {
		t.Errorf("skipped testcase: %s %q", sk.Status, sk.Message)
	}
	if in := byName[reports.IntegrityCheckName]; in.Status != junit.StatusFailed || !strings.Contains(in.Error.Error(), "o-17") {
		t.Errorf("integrity testcase: %s %q", in.Status, in.Message)
	}
	if rec := byName["availability"]; rec.Status != junit.StatusFailed || rec.Message != "observed recovered after 14.0 s, expected < 10s" || rec.Classname != "gameday.payment-slowdown.recovery" {
		t.Errorf("recovery testcase: %s %q %s", rec.Status, rec.Message, rec.Classname)
	}
}

func TestJUnitPassingRun(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteJUnit(&buf, reportstest.Short()); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	suites[0].Aggregate()
	if tot := suites[0].Totals; tot.Failed != 0 || tot.Error != 0 || tot.Passed != 6 {
		t.Errorf("passing run totals %+v, want 6 passed", tot)
	}
}
