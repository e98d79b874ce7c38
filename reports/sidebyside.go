// Side by side: two or more run records of any scenarios on one HTML page
// (`gameday compare RUN.json RUN.json…`). Unrelated to the scorecard
// (scorecard.go), which analyses one scenario over several variants.

package reports

import (
	"bufio"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"
)

type compareView struct {
	Title    string
	Runs     []compareRun
	Checks   []compareRow
	Phases   []comparePhase
	Recovery []compareRow
	Latency  *chart
	CSS      template.CSS
	JS       template.JS
}

type compareRun struct {
	Label, ID, Scenario, Variant, Policy, Started, Duration, Seeds string
	Verdict                                                        Verdict
	Color                                                          string
}

type compareRow struct {
	Name  string
	Cells []compareCell
}

type compareCell struct {
	Text  string
	Delta string
	Pass  bool
	Fail  bool
	Worse bool
}

type comparePhase struct {
	Phase string
	Rows  []compareRow // p50, p99, p99.9, errors
}

// WriteCompareHTML writes one self-contained HTML page putting runs side by
// side: verdict per check, per-phase percentiles with the change against the
// first run, overlaid p99 timelines and recovery times.
func WriteCompareHTML(w io.Writer, runs []*Run) error {
	if len(runs) == 0 {
		return errors.New("compare: no runs")
	}
	v := &compareView{Title: "gameday comparison", CSS: template.CSS(reportCSS), JS: template.JS(reportJS)}
	for i, r := range runs {
		label := fmt.Sprintf("#%d %s", i+1, r.Scenario.Name)
		if r.Variant != "" {
			label += " · " + r.Variant
		}
		var seeds string
		for _, k := range sortedKeys(r.Seeds) {
			seeds += fmt.Sprintf("%s=%d ", k, r.Seeds[k])
		}
		v.Runs = append(v.Runs, compareRun{
			Label: label, ID: r.ID, Scenario: r.Scenario.Name, Variant: r.Variant, Policy: r.Policy.Name + " " + r.Policy.Hash,
			Started: r.Start.UTC().Format(time.RFC3339), Duration: fmtDuration(r.duration()), Seeds: seeds,
			Verdict: r.Verdict, Color: palette[i%len(palette)],
		})
	}
	v.Checks = compareChecks(runs)
	phases, err := comparePhases(runs)
	if err != nil {
		return err
	}
	v.Phases = phases
	v.Recovery = compareRecovery(runs)
	v.Latency = compareLatency(runs, v.Runs)

	bw := bufio.NewWriterSize(w, 64<<10)
	if err := templates.ExecuteTemplate(bw, "compare.html.tmpl", v); err != nil {
		return fmt.Errorf("render comparison: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// union returns the keys of every run in first-seen order.
func union(runs []*Run, keys func(*Run) []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		for _, k := range keys(r) {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

func compareChecks(runs []*Run) []compareRow {
	names := union(runs, func(r *Run) []string {
		var ks []string
		for _, c := range r.Checks {
			ks = append(ks, c.Name)
		}
		return ks
	})
	var rows []compareRow
	for _, n := range names {
		row := compareRow{Name: n}
		for _, r := range runs {
			cell := compareCell{Text: "—"}
			for _, c := range r.Checks {
				if c.Name != n {
					continue
				}
				t := c.Text()
				switch c.Status {
				case StatusPass:
					cell.Text, cell.Pass = "✓ "+t.Observed, true
				case StatusFail:
					cell.Text, cell.Fail = "✗ "+t.Observed, true
				default:
					cell.Text = "○ not evaluated"
				}
				cell.Delta = t.Expected
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	return rows
}

type phaseNumbers struct {
	p50, p99, p999, errPct float64
	ok                     bool
}

func phaseStats(r *Run) (map[string]phaseNumbers, error) {
	_, hs, err := r.mergeHistograms(func(h Histogram) string { return h.Phase })
	if err != nil {
		return nil, err
	}
	out := map[string]phaseNumbers{}
	for _, p := range r.Phases {
		w := r.statsIn(p.Start, p.End, nil)
		n := phaseNumbers{p50: w.P50, p99: w.P99, errPct: w.errPct(), ok: w.Count > 0}
		var ds []dist
		for _, rs := range r.Requests {
			for _, iv := range rs.Intervals {
				if iv.At >= p.Start && iv.At < p.End {
					ds = append(ds, newDist(iv))
				}
			}
		}
		n.p999 = mixQuantile(ds, 0.999)
		if m := hs[p.Name]; m != nil && m.corrected != nil && m.corrected.TotalCount() > 0 {
			h := m.corrected
			n.p50 = float64(h.ValueAtPercentile(50)) * m.toMs
			n.p99 = float64(h.ValueAtPercentile(99)) * m.toMs
			n.p999 = float64(h.ValueAtPercentile(99.9)) * m.toMs
			n.ok = true
		}
		out[p.Name] = n
	}
	return out, nil
}

func comparePhases(runs []*Run) ([]comparePhase, error) {
	stats := make([]map[string]phaseNumbers, len(runs))
	for i, r := range runs {
		s, err := phaseStats(r)
		if err != nil {
			return nil, err
		}
		stats[i] = s
	}
	names := union(runs, func(r *Run) []string {
		var ks []string
		for _, p := range r.Phases {
			ks = append(ks, p.Name)
		}
		return ks
	})
	var out []comparePhase
	for _, n := range names {
		cp := comparePhase{Phase: n}
		for _, m := range []struct {
			name string
			get  func(phaseNumbers) float64
			f    func(float64) string
		}{
			{"p50", func(p phaseNumbers) float64 { return p.p50 }, fmtMs},
			{"p99", func(p phaseNumbers) float64 { return p.p99 }, fmtMs},
			{"p99.9", func(p phaseNumbers) float64 { return p.p999 }, fmtMs},
			{"errors", func(p phaseNumbers) float64 { return p.errPct }, fmtPct},
		} {
			row := compareRow{Name: m.name}
			base, baseOK := stats[0][n]
			for i := range runs {
				p, ok := stats[i][n]
				if !ok || !p.ok {
					row.Cells = append(row.Cells, compareCell{Text: "—"})
					continue
				}
				cell := compareCell{Text: m.f(m.get(p))}
				if i > 0 && baseOK && base.ok {
					cell.Delta, cell.Worse = delta(m.get(base), m.get(p), true)
				}
				row.Cells = append(row.Cells, cell)
			}
			cp.Rows = append(cp.Rows, row)
		}
		out = append(out, cp)
	}
	return out, nil
}

func compareRecovery(runs []*Run) []compareRow {
	key := func(rc Recovery) string { return rc.SLI + " after " + rc.Fault }
	names := union(runs, func(r *Run) []string {
		var ks []string
		for _, rc := range r.Recovery {
			ks = append(ks, key(rc))
		}
		return ks
	})
	var rows []compareRow
	for _, n := range names {
		row := compareRow{Name: n}
		for _, r := range runs {
			cell := compareCell{Text: "—"}
			for _, rc := range r.Recovery {
				if key(rc) == n {
					cell.Text, cell.Delta = fmtRecovery(rc.Seconds), rc.Bound
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	return rows
}

func compareLatency(runs []*Run, labels []compareRun) *chart {
	c := newChart("compare-latency", "p99 over time, every request name", 1100, 340)
	c.YLabel, c.XLabel = "p99 (log)", "time since start"
	var dur float64
	lo, hi := math.Inf(1), 0.0
	tl := make([][]tick, len(runs))
	for i, r := range runs {
		dur = math.Max(dur, r.duration())
		tl[i] = downsample(r.timeline(nil), maxChartPoints)
		for _, t := range tl[i] {
			if t.P99 > 0 {
				lo = math.Min(lo, t.P99)
			}
			hi = math.Max(hi, t.P99)
		}
	}
	if math.IsInf(lo, 1) {
		lo = 1
	}
	sx := c.timeScale(dur)
	sy := c.logY(lo, hi, fmtMs)
	c.addBands(runs[0], sx)
	for i, ts := range tl {
		xs, ys, ls := make([]float64, len(ts)), make([]float64, len(ts)), make([]string, len(ts))
		for j, t := range ts {
			xs[j], ys[j] = t.At, t.P99
			ls[j] = "#" + strconv.Itoa(i+1) + " " + fmtOffset(t.At) + " p99 " + fmtMs(t.P99)
		}
		c.addSeries(labels[i].Label, i, xs, ys, sx, sy, ls)
	}
	return c
}
