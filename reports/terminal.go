package reports

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteTerminal writes the verdict table a person reads at the end of a run:
// the verdict, the load in one line, and every check of Run.Checks (the same
// list, names and statuses as the HTML, JUnit and Markdown views).
func WriteTerminal(w io.Writer, r *Run) error {
	fmt.Fprintf(w, "\n%s  %s\n", strings.ToUpper(string(r.Verdict)), verdictSentence(r))
	if l := r.LoadSummary(); l != "" {
		fmt.Fprintln(w, "load: "+l)
	}
	if len(r.Checks) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tCHECK\tWINDOW\tOBSERVED\tEXPECTED")
	for _, c := range r.Checks {
		t := c.Text()
		obs := t.Observed
		if t.Breach != "" {
			obs += "; " + t.Breach
		}
		status := t.Status
		if status == "NOT EVALUATED" {
			status = "N/E"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", status, t.Name, t.Window, obs, t.Expected)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write verdict table: %w", err)
	}
	var notes []string
	for _, c := range r.Checks {
		if c.Status == StatusNotEvaluated && c.Reason != "" {
			notes = append(notes, fmt.Sprintf("N/E %s: %s", c.Name, c.Reason))
		}
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// LoadSummary is the load of the run in one line: requests, rate, errors
// and cancelled requests, from the per-interval series.
func (r *Run) LoadSummary() string {
	if len(r.Requests) == 0 {
		return ""
	}
	var n, errs, cancelled int64
	for _, rs := range r.Requests {
		for _, iv := range rs.Intervals {
			n += iv.Count
			errs += iv.ErrorCount()
			cancelled += iv.Cancelled
		}
	}
	s := fmt.Sprintf("%s, %s (%s)", plural(int(n), "request"), plural(int(errs), "error"), fmtPct(pct(errs, n)))
	if d := r.loadSeconds(); d > 0 {
		s = fmt.Sprintf("%s over %s (%s), %s (%s)", plural(int(n), "request"), fmtDuration(d), fmtRate(float64(n)/d), plural(int(errs), "error"), fmtPct(pct(errs, n)))
	}
	if _, hs, err := r.mergeHistograms(func(Histogram) string { return "" }); err == nil {
		if m := hs[""]; m != nil && m.corrected != nil && m.corrected.TotalCount() > 0 {
			h := m.corrected
			s += fmt.Sprintf(", p50 %s p99 %s max %s (corrected)", fmtMs(float64(h.ValueAtPercentile(50))*m.toMs),
				fmtMs(float64(h.ValueAtPercentile(99))*m.toMs), fmtMs(float64(h.Max())*m.toMs))
		}
	}
	if cancelled > 0 {
		s += fmt.Sprintf(", %d cancelled by the harness's stop (not errors)", cancelled)
	}
	return s
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// loadSeconds is how long the load ran: to the end of its last interval
// (the record's duration also counts the evaluation after it).
func (r *Run) loadSeconds() float64 {
	var d float64
	for _, rs := range r.Requests {
		if n := len(rs.Intervals); n > 0 {
			d = math.Max(d, rs.Intervals[n-1].At+r.intervalSeconds())
		}
	}
	if d == 0 {
		return r.duration()
	}
	return d
}

// cancelled counts the requests cut off by the harness's own stop.
func (r *Run) cancelled() int64 {
	var n int64
	for _, rs := range r.Requests {
		for _, iv := range rs.Intervals {
			n += iv.Cancelled
		}
	}
	return n
}
