package reports

import (
	"fmt"
	"io"
	"strings"
)

// MaxMarkdownLines is the most lines WriteMarkdown writes.
const MaxMarkdownLines = 60

// maxMarkdownChecks is the most check rows the summary lists (the tally
// above the table always counts them all).
const maxMarkdownChecks = 25

// WriteMarkdown writes a short summary of the run fit for a pull-request
// comment: verdict, failing checks, the check table, per-fault p99 and
// errors, per-request percentiles, recovery and integrity, in at most
// MaxMarkdownLines lines. Long lists are cut with a pointer to report.html.
func WriteMarkdown(w io.Writer, r *Run) error {
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	icon := map[Verdict]string{VerdictPass: "✅", VerdictFail: "❌", VerdictAborted: "🛑", VerdictInterrupted: "⚠️", VerdictError: "💥"}[r.Verdict]
	title := r.Scenario.Name
	if r.Variant != "" {
		title += " (variant `" + r.Variant + "`)"
	}
	add(fmt.Sprintf("### %s %s: %s", icon, strings.ToUpper(string(r.Verdict)), mdEscape(title)), "")
	add(mdEscape(verdictSentence(r)), "")
	add(fmt.Sprintf("Started %s · %s · %s · %s", r.Start.UTC().Format("2006-01-02 15:04:05Z"), fmtDuration(r.duration()),
		plural(len(r.Requests), "request name"), plural(len(r.Faults), "fault")), "")

	if n := r.cancelled(); n > 0 {
		add(fmt.Sprintf("%s requests were cut off by the harness's stop: counted as cancelled, not as errors.", fmtCount(n)), "")
	}
	if ps := problems(r); len(ps) > 0 {
		for i, p := range ps {
			if i == 6 {
				add(fmt.Sprintf("- … and %d more (see report.html)", len(ps)-i))
				break
			}
			add("- " + mdEscape(p))
		}
		add("")
	}
	if len(r.Checks) > 0 {
		add("**Checks:** "+r.Tally().String(), "")
		add("| | check | window | expected | observed |", "|---|---|---|---|---|")
		for i, c := range r.Checks {
			if i == maxMarkdownChecks {
				add(fmt.Sprintf("| | … %d more checks in report.html | | | |", len(r.Checks)-i))
				break
			}
			t := c.Text()
			mark := map[Status]string{StatusPass: "✅", StatusFail: "❌"}[c.Status]
			if mark == "" {
				mark = "⏭️ not evaluated"
			}
			obs := t.Observed
			if t.Breach != "" {
				obs += "; " + t.Breach
			}
			add(fmt.Sprintf("| %s | %s | %s | `%s` | %s |", mark, mdCell(t.Name), mdCell(t.Window), mdCode(t.Expected), mdCell(obs)))
		}
		add("")
	}
	if len(r.Faults) > 0 {
		add("| fault | window | p99 before → during → after | errors during |", "|---|---|---|---|")
		for i, f := range r.Faults {
			if i == 6 {
				add(fmt.Sprintf("| … %d more faults | | | |", len(r.Faults)-i))
				break
			}
			if f.InjectedAt == nil {
				add(fmt.Sprintf("| %s | not injected | | |", mdCell(f.Name)))
				continue
			}
			b, d, a := r.faultWindows(f)
			s, e := f.Window()
			add(fmt.Sprintf("| %s (%s) | %s → %s | %s → %s → %s | %s |", mdCell(f.Name), mdCell(f.Type), fmtOffset(s), fmtOffset(e), fmtMs(b.P99), fmtMs(d.P99), fmtMs(a.P99), fmtPct(d.errPct())))
		}
		add("")
	}
	if len(r.Requests) > 0 {
		rows, err := requestRows(r)
		if err != nil {
			return err
		}
		add("| request | count | errors | p50 | p99 | max |", "|---|---:|---:|---:|---:|---:|")
		for i, q := range rows {
			if i == 6 {
				add(fmt.Sprintf("| … %d more | | | | | |", len(rows)-i))
				break
			}
			add(fmt.Sprintf("| %s | %s | %s (%s) | %s | %s | %s |", mdCell(q.Name), q.Count, q.Errors, q.ErrPct, q.P50, q.P99, q.Max))
		}
		add("")
	}
	if a := r.Abort; a != nil {
		add(fmt.Sprintf("**Aborted** at %s: `%s` (observed %s)", fmtOffset(a.FiredAt), mdCode(a.Condition), fmtNum(a.Observed)), "")
	}
	foot := fmt.Sprintf("<sub>gameday %s · run `%s` · full report in report.html</sub>", r.Environment.GamedayVersion, r.ID)
	if len(lines)+1 > MaxMarkdownLines {
		lines = append(lines[:MaxMarkdownLines-3], "", "… (cut to fit; see report.html)")
	}
	lines = append(lines, foot)
	if _, err := io.WriteString(w, strings.Join(lines, "\n")+"\n"); err != nil {
		return fmt.Errorf("write markdown summary: %w", err)
	}
	return nil
}

// mdEscape keeps text from turning into Markdown or HTML.
func mdEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

// mdCell escapes text for a table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mdCode escapes text for a code span inside a table cell.
func mdCode(s string) string {
	return strings.NewReplacer("|", `\|`, "`", "'", "\n", " ").Replace(s)
}
