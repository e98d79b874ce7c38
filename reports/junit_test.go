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
	r.Checks = append(r.Checks, reports.Check{Name: "error budget <burn>", Kind: reports.KindSLO, Bound: "< 0.1", Skipped: true, Reason: "run aborted"})
	r.Integrity.OK = false
	r.Integrity.Problems = []string{"order o-17 acknowledged but missing"}
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
	if len(suites) != 1 {
		t.Fatalf("%d suites, want 1", len(suites))
	}
	s := suites[0]
	s.Aggregate()
	// 4 checks + 2 recoveries + integrity + the aborted run.
	if s.Totals.Tests != 8 || s.Totals.Failed != 4 || s.Totals.Skipped != 1 || s.Totals.Passed != 3 {
		t.Errorf("totals %+v, want 8 tests: 3 passed, 4 failed, 1 skipped", s.Totals)
	}
	if s.Properties["verdict"] != "aborted" || s.Properties["seed.load"] != "42" {
		t.Errorf("properties %v lack verdict or seeds", s.Properties)
	}
	byName := map[string]junit.Test{}
	for _, tc := range s.Tests {
		byName[tc.Name] = tc
	}
	slo := byName["checkout p99 during slowdown"]
	if slo.Status != junit.StatusFailed || slo.Message != "observed 1.42 s, expected < 1.2" {
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
	if in := byName["nothing acknowledged was lost"]; in.Status != junit.StatusFailed || !strings.Contains(in.Message, "o-17") {
		t.Errorf("integrity testcase: %s %q", in.Status, in.Message)
	}
	if rec := byName["availability recovers after kill-orders"]; rec.Status != junit.StatusFailed || rec.Message != "observed 14.0 s, expected < 10s" {
		t.Errorf("recovery testcase: %s %q", rec.Status, rec.Message)
	}
	if run := byName["run completes"]; run.Status != junit.StatusFailed || !strings.Contains(run.Error.Error(), "abort condition: gameday:error:ratio10s > 0.5") {
		t.Errorf("run testcase: %s %v", run.Status, run.Error)
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
