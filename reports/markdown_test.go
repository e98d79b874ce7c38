package reports_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

func markdown(t *testing.T, r *reports.Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestMarkdownGolden(t *testing.T) {
	md := markdown(t, reportstest.New(reportstest.Options{Failing: true}))
	if n := strings.Count(md, "\n"); n > reports.MaxMarkdownLines {
		t.Errorf("summary has %d lines", n)
	}
	golden(t, "summary-fail.md", md)
}

func TestMarkdownAtMost60Lines(t *testing.T) {
	r := reportstest.New(reportstest.Options{Failing: true})
	for i := range 40 {
		r.Checks = append(r.Checks, reports.Check{Name: fmt.Sprintf("extra | check %d", i), Kind: reports.KindSLO, Bound: "< 1", Observed: new(2.0), Status: reports.StatusFail})
		r.Faults = append(r.Faults, reports.Fault{Name: fmt.Sprintf("f%d", i), Type: "kill", PlannedInject: 1, PlannedRevert: 2, InjectedAt: new(1.0), RevertedAt: new(2.0)})
		r.Requests = append(r.Requests, reports.RequestSeries{Name: fmt.Sprintf("req%d", i), Intervals: r.Requests[0].Intervals[:5]})
		r.Recovery = append(r.Recovery, reports.Recovery{Fault: "f", SLI: "s", Bound: "< 1s"})
	}
	md := markdown(t, r)
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if len(lines) > reports.MaxMarkdownLines {
		t.Fatalf("summary has %d lines, want ≤ %d", len(lines), reports.MaxMarkdownLines)
	}
	if !strings.Contains(md, "more") || !strings.Contains(lines[len(lines)-1], "report.html") {
		t.Errorf("cut summary does not point to report.html:\n%s", md)
	}
	if !strings.Contains(md, `extra \| check 0`) {
		t.Error("a pipe in a check name is not escaped for the table")
	}
}
