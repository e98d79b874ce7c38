package reports_test

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

// viewCheck is one check as a view lists it.
type viewCheck struct{ name, status string }

// TestFourViewsListTheSameChecks renders the terminal, HTML, JUnit and
// Markdown views of one run record (passing, failing and not-evaluated
// checks of every kind) and asserts that each lists exactly the record's
// checks, in order, with the same statuses, and states the same tally.
func TestFourViewsListTheSameChecks(t *testing.T) {
	for _, verdict := range []reports.Verdict{reports.VerdictFail, reports.VerdictInterrupted, reports.VerdictPass} {
		t.Run(string(verdict), func(t *testing.T) {
			r := reportstest.New(reportstest.Options{Failing: verdict != reports.VerdictPass})
			if verdict == reports.VerdictInterrupted {
				r.Checks = append(r.Checks, reports.Check{Name: "availability (after faults)", Kind: reports.KindSteadyState,
					Bound: ">= 0.99", Window: "after the last fault", WindowStart: 55, WindowEnd: 60,
					Status: reports.StatusNotEvaluated, Reason: "the run ended at t=2.0 s, before this window began"})
			}
			r.Verdict = verdict
			want := make([]viewCheck, len(r.Checks))
			for i, c := range r.Checks {
				want[i] = viewCheck{c.Name, string(c.Status)}
			}
			tally := r.Tally()
			if tally.Total != len(r.Checks) || tally.Passed+tally.Failed+tally.NotEvaluated != tally.Total {
				t.Fatalf("tally %+v of %d checks", tally, len(r.Checks))
			}

			var term, htm, xml, md bytes.Buffer
			for _, w := range []struct {
				f   func() error
				out *bytes.Buffer
			}{
				{func() error { return reports.WriteTerminal(&term, r) }, &term},
				{func() error { return reports.WriteHTML(&htm, r) }, &htm},
				{func() error { return reports.WriteJUnit(&xml, r) }, &xml},
				{func() error { return reports.WriteMarkdown(&md, r) }, &md},
			} {
				if err := w.f(); err != nil {
					t.Fatal(err)
				}
			}
			views := map[string][]viewCheck{
				"terminal": terminalChecks(t, term.String(), r),
				"html":     htmlChecks(htm.String()),
				"junit":    junitChecks(t, xml.Bytes()),
				"markdown": markdownChecks(md.String()),
			}
			for view, got := range views {
				if len(got) != len(want) {
					t.Errorf("%s lists %d checks, the record has %d: %v", view, len(got), len(want), got)
					continue
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s check %d: %+v, record %+v", view, i, got[i], want[i])
					}
				}
			}
			if !strings.Contains(htm.String(), tally.String()) || !strings.Contains(md.String(), tally.String()) {
				t.Errorf("HTML or Markdown lacks the tally %q", tally.String())
			}
		})
	}
}

func statusOf(word string) string {
	switch word {
	case "PASS", "✓ pass", "✅", "passed":
		return string(reports.StatusPass)
	case "FAIL", "✗ fail", "❌", "failed":
		return string(reports.StatusFail)
	case "N/E", "○ not evaluated", "⏭️ not evaluated", "skipped":
		return string(reports.StatusNotEvaluated)
	}
	return "?" + word
}

// terminalChecks reads the verdict table: a line per check after the
// header, the status first and the name in the second column.
func terminalChecks(t *testing.T, out string, r *reports.Run) []viewCheck {
	t.Helper()
	_, table, ok := strings.Cut(out, "CHECK")
	if !ok {
		t.Fatalf("terminal output has no table:\n%s", out)
	}
	var got []viewCheck
	for _, line := range strings.Split(table, "\n")[1:] {
		status, rest, ok := strings.Cut(line, "  ")
		if !ok || statusOf(status)[0] == '?' {
			continue
		}
		rest = strings.TrimSpace(rest)
		name := ""
		for _, c := range r.Checks { // names contain spaces: take the longest that starts the column
			if strings.HasPrefix(rest, c.Name) && len(c.Name) > len(name) {
				name = c.Name
			}
		}
		got = append(got, viewCheck{name, statusOf(status)})
	}
	return got
}

var htmlRow = regexp.MustCompile(`<tr class="(?:ok|bad|skip)"><td class="result">([^<]+)</td>\s*<td><b>([^<]+)</b>`)

func htmlChecks(doc string) []viewCheck {
	_, table, _ := strings.Cut(doc, `<table class="data checks">`)
	table, _, _ = strings.Cut(table, "</table>")
	var got []viewCheck
	for _, m := range htmlRow.FindAllStringSubmatch(table, -1) {
		got = append(got, viewCheck{html.UnescapeString(m[2]), statusOf(html.UnescapeString(m[1]))})
	}
	return got
}

func junitChecks(t *testing.T, b []byte) []viewCheck {
	t.Helper()
	suites, err := junit.Ingest(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []viewCheck
	for _, tc := range suites[0].Tests {
		got = append(got, viewCheck{tc.Name, statusOf(string(tc.Status))})
	}
	return got
}

var mdRow = regexp.MustCompile(`(?m)^\| (✅|❌|⏭️ not evaluated) \| (.+?) \| `)

func markdownChecks(md string) []viewCheck {
	var got []viewCheck
	for _, m := range mdRow.FindAllStringSubmatch(md, -1) {
		got = append(got, viewCheck{strings.ReplaceAll(html.UnescapeString(m[2]), `\|`, "|"), statusOf(m[1])})
	}
	return got
}

// TestCancelledRequestsAreNotErrorsInAnyView: requests the harness's stop
// cut off are shown as cancelled, apart, and change no error figure.
func TestCancelledRequestsAreNotErrorsInAnyView(t *testing.T) {
	r := reportstest.Short()
	var before bytes.Buffer
	if err := reports.WriteTerminal(&before, r); err != nil {
		t.Fatal(err)
	}
	last := &r.Requests[0].Intervals[len(r.Requests[0].Intervals)-1]
	last.Cancelled = 62
	var term, htm, md bytes.Buffer
	if err := reports.WriteTerminal(&term, r); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteHTML(&htm, r); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	loadLine := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "load: ") {
				return l
			}
		}
		return ""
	}
	b, a := loadLine(before.String()), loadLine(term.String())
	if !strings.HasPrefix(a, b) || !strings.Contains(a, "62 cancelled by the harness's stop (not errors)") {
		t.Errorf("terminal load line\nbefore %q\nafter  %q", b, a)
	}
	if !strings.Contains(htm.String(), "cancelled by the stop (not errors)") {
		t.Error("HTML does not show the cancelled requests")
	}
	if !strings.Contains(md.String(), "62 requests were cut off by the harness's stop") {
		t.Error("Markdown does not show the cancelled requests")
	}
}

// The terminal's load line counts in words that agree with the number.
func TestLoadSummaryCountsInWords(t *testing.T) {
	for errs, want := range map[int64]string{0: ", 0 errors (0%)", 1: ", 1 error (50.0%)", 2: ", 2 errors (100.0%)"} {
		r := &reports.Run{Requests: []reports.RequestSeries{{Name: "browse", Intervals: []reports.Interval{{Count: 2, Errors: map[string]int64{"5xx": errs}}}}}}
		if got := r.LoadSummary(); !strings.HasPrefix(got, "2 requests") || !strings.Contains(got, want) {
			t.Errorf("%d errors: %q, want 2 requests and %q", errs, got, want)
		}
	}
}
