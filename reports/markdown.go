package reports

import (
	"fmt"
	"io"
	"strings"
)

// MaxMarkdownLines is the most lines WriteMarkdown writes.
const MaxMarkdownLines = 60

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
	add(fmt.Sprintf("Started %s · %s · %d request names · %d faults", r.Start.UTC().Format("2006-01-02 15:04:05Z"), fmtDuration(r.duration()), len(r.Requests), len(r.Faults)), "")

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
		add("| | check | window | bound | observed |", "|---|---|---|---|---|")
		for i, c := range r.Checks {
			if i == 12 {
				add(fmt.Sprintf("| | … %d more checks in report.html | | | |", len(r.Checks)-i))
				break
			}
			mark := "✅"
			switch {
			case c.Skipped:
				mark = "⏭️"
			case !c.Pass:
				mark = "❌"
			}
			add(fmt.Sprintf("| %s | %s | %s | `%s` | %s |", mark, mdCell(c.Name), mdCell(c.Window), mdCode(c.Bound), mdCell(fmtObserved(c))))
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
	if len(r.Recovery) > 0 {
		var parts []string
		for _, rc := range r.Recovery {
			mark := "✅"
			if !rc.Pass {
				mark = "❌"
			}
			parts = append(parts, fmt.Sprintf("%s %s after %s: %s (%s)", mark, rc.SLI, rc.Fault, fmtRecovery(rc.Seconds), rc.Bound))
		}
		add("**Recovery:** "+mdEscape(strings.Join(parts, " · ")), "")
	}
	if in := r.Integrity; in != nil {
		var counts []string
		for _, k := range sortedKeys(in.Counts) {
			counts = append(counts, fmt.Sprintf("%s %d", k, in.Counts[k]))
		}
		switch {
		case !in.Checked:
			add("**Integrity:** not checked", "")
		case in.OK:
			add("**Integrity:** ✅ "+strings.Join(counts, ", "), "")
		default:
			add("**Integrity:** ❌ "+mdEscape(strings.Join(in.Problems, "; "))+" ("+strings.Join(counts, ", ")+")", "")
		}
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
