package reports

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

//go:embed templates/report.css
var reportCSS string

//go:embed templates/report.js
var reportJS string

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ftoa":    ftoa,
	"add":     func(a, b float64) float64 { return a + b },
	"sub":     func(a, b float64) float64 { return a - b },
	"rowY":    func(t float64, row int) float64 { return t + 11 + float64(row)*12 },
	"lower":   strings.ToLower,
	"verdict": func(v Verdict) string { return strings.ToUpper(string(v)) },
}).ParseFS(templateFS, "templates/*.tmpl"))

// maxChartPoints is the number of points a time chart draws at most; longer
// runs are downsampled keeping peaks.
const maxChartPoints = 600

// reportView is what templates/report.html.tmpl renders.
type reportView struct {
	Run         *Run
	Title       string
	Started     string
	Duration    string
	VerdictText string
	Problems    []string
	Glance      []glance
	Latency     *chart
	Throughput  *chart
	ErrorRatio  *chart
	FaultRows   []faultRow
	FaultTables []faultTable
	Checks      []checkRow
	Tally       Tally
	Requests    []requestRow
	Spectrum    *chart
	HasUncorr   bool
	Recovery    []recoveryRow
	Integrity   *integrityView
	Abort       *abortView
	Env         [][2]string
	Seeds       []string
	CSS         template.CSS
	JS          template.JS
}

type glance struct {
	Label, Value string
	Bad          bool
}

type faultRow struct {
	Name, Type, Target, Params         string
	PlannedInject, PlannedRevert       string
	ActualInject, ActualRevert, Status string
	Failed                             bool
}

type faultTable struct {
	Name, Window string
	Rows         []faultMetric
}

type faultMetric struct {
	Metric                  string
	Before, During, After   string
	DeltaDuring, DeltaAfter string
	WorseDuring, WorseAfter bool
}

type checkRow struct {
	Name, Kind, Window, Query, Expected, Observed, Breach, Result, Class, Reason string
	Samples                                                                      int
	Chart                                                                        *chart
}

type requestRow struct {
	Name, Count, Errors, ErrPct, ErrorClasses string
	P50, P90, P99, P999, Max                  string
	Source                                    string
}

type recoveryRow struct {
	Fault, SLI, Value, Bound string
}

type integrityView struct {
	Checked, OK bool
	Counts      [][2]string
	Problems    []string
}

type abortView struct {
	Condition, FiredAt, Observed string
}

// WriteHTML writes the self-contained HTML report of r.
func WriteHTML(w io.Writer, r *Run) error {
	v, err := buildReportView(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := templates.ExecuteTemplate(bw, "report.html.tmpl", v); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

func buildReportView(r *Run) (*reportView, error) {
	v := &reportView{
		Run:         r,
		Title:       r.Scenario.Name,
		Started:     r.Start.UTC().Format(time.RFC3339),
		Duration:    fmtDuration(r.duration()),
		VerdictText: verdictSentence(r),
		Problems:    problems(r),
		CSS:         template.CSS(reportCSS),
		JS:          template.JS(reportJS),
	}
	if v.Title == "" {
		v.Title = "game day"
	}
	ticks := downsample(r.timeline(nil), maxChartPoints)
	v.Latency, v.Throughput, v.ErrorRatio = timeCharts(r, ticks)
	v.FaultRows, v.FaultTables = faultViews(r)
	v.Checks = checkRows(r)
	v.Tally = r.Tally()
	var err error
	if v.Glance, err = glanceOf(r); err != nil {
		return nil, err
	}
	if v.Requests, err = requestRows(r); err != nil {
		return nil, err
	}
	if v.Spectrum, v.HasUncorr, err = spectrumChart(r); err != nil {
		return nil, err
	}
	for _, rc := range r.Recovery {
		v.Recovery = append(v.Recovery, recoveryRow{Fault: rc.Fault, SLI: rc.SLI, Value: fmtRecovery(rc.Seconds), Bound: rc.Bound})
	}
	if in := r.Integrity; in != nil {
		iv := &integrityView{Checked: in.Checked, OK: in.OK, Problems: in.Problems}
		for _, k := range sortedKeys(in.Counts) {
			iv.Counts = append(iv.Counts, [2]string{k, strconv.FormatInt(in.Counts[k], 10)})
		}
		v.Integrity = iv
	}
	if a := r.Abort; a != nil {
		v.Abort = &abortView{Condition: a.Condition, FiredAt: fmtOffset(a.FiredAt), Observed: fmtNum(a.Observed)}
	}
	e := r.Environment
	v.Env = [][2]string{
		{"gameday", e.GamedayVersion}, {"Go", e.GoVersion}, {"OS/arch", e.OS + "/" + e.Arch},
		{"CPUs", strconv.Itoa(e.CPUs)}, {"host", e.Hostname}, {"runtime", e.Runtime},
		{"run id", r.ID}, {"start", r.Start.UTC().Format(time.RFC3339Nano)}, {"end", r.End.UTC().Format(time.RFC3339Nano)},
		{"interval", fmtNum(r.intervalSeconds()) + " s"},
	}
	if e.Image != "" {
		v.Env = append(v.Env, [2]string{"image", e.Image})
	}
	for _, k := range sortedKeys(r.Seeds) {
		v.Seeds = append(v.Seeds, fmt.Sprintf("%s=%d", k, r.Seeds[k]))
	}
	return v, nil
}

func (r *Run) duration() float64 {
	if r.DurationSeconds > 0 {
		return r.DurationSeconds
	}
	if !r.End.IsZero() && r.End.After(r.Start) {
		return r.End.Sub(r.Start).Seconds()
	}
	var d float64
	for _, rs := range r.Requests {
		if n := len(rs.Intervals); n > 0 {
			d = math.Max(d, rs.Intervals[n-1].At+r.intervalSeconds())
		}
	}
	return d
}

// fmtDuration formats seconds as "45 s", "2 min", "2 min 30 s", "1 h 5 min".
func fmtDuration(s float64) string {
	t := int64(math.Round(s))
	h, m, sec := t/3600, (t/60)%60, t%60
	var parts []string
	if h > 0 {
		parts = append(parts, strconv.FormatInt(h, 10)+" h")
	}
	if m > 0 {
		parts = append(parts, strconv.FormatInt(m, 10)+" min")
	}
	if sec > 0 && h == 0 || t == 0 {
		parts = append(parts, strconv.FormatInt(sec, 10)+" s")
	}
	return strings.Join(parts, " ")
}

func fmtRecovery(s *float64) string {
	if s == nil {
		return "did not recover"
	}
	return strconv.FormatFloat(*s, 'f', 1, 64) + " s"
}

// verdictSentence says the verdict in plain words, with the tally of the
// checks (the same in every view).
func verdictSentence(r *Run) string {
	t := r.Tally()
	var s string
	switch r.Verdict {
	case VerdictPass:
		s = fmt.Sprintf("Every check held (%d of %d).", t.Passed, t.Total)
	case VerdictFail:
		s = fmt.Sprintf("%d of %d checks failed.", t.Failed, t.Total)
	case VerdictAborted:
		s = "The run was stopped by its abort condition."
	case VerdictInterrupted:
		s = "The run was interrupted; faults were reverted."
	case VerdictError:
		s = "The platform failed during the run."
	case VerdictCrashed:
		s = "The harness crashed during the run; `gameday recover` reverted what it left and closed this record."
	case VerdictRunning:
		s = "The run had not finished when this record was written (if its harness is gone, run `gameday recover`)."
	default:
		s = "Verdict: " + string(r.Verdict) + "."
	}
	if r.Verdict != VerdictPass && r.Verdict != VerdictFail && t.Total > 0 {
		s += " Checks: " + t.String() + "."
	}
	if r.Reason != "" {
		s += " " + r.Reason
	}
	return s
}

// problems lists, in plain words, everything that went wrong: failing
// checks first (labelled: the first breach and the worst value), then the
// abort and fault errors.
func problems(r *Run) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Failed() {
			continue
		}
		t := c.Text()
		what := map[string]string{KindSteadyState: "Steady state", KindRecovery: "Recovery", KindIntegrity: "Integrity"}[c.Kind]
		if what == "" {
			what = "SLO"
		}
		s := fmt.Sprintf("%s “%s” failed", what, c.Name)
		if c.Window != "" && c.Kind != KindIntegrity {
			s += " " + c.Window
		}
		s += ": "
		if t.Breach != "" {
			s += t.Breach + ", "
		}
		s += fmt.Sprintf("%s; expected %s", t.Observed, t.Expected)
		if c.Kind == KindIntegrity && c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		out = append(out, s+".")
	}
	if a := r.Abort; a != nil {
		s := fmt.Sprintf("Aborted at %s: %s (observed %s)", fmtOffset(a.FiredAt), a.Condition, fmtNum(a.Observed))
		if a.Reason != "" {
			s += ": " + a.Reason
		}
		out = append(out, s+".")
	}
	for _, f := range r.Faults {
		if f.Error != "" {
			out = append(out, fmt.Sprintf("Fault %s: %s.", f.Name, f.Error))
		}
	}
	return out
}

func timeCharts(r *Run, ticks []tick) (lat, thr, errc *chart) {
	dur := r.duration()
	xs := make([]float64, len(ticks))
	p50, p99, mx := make([]float64, len(ticks)), make([]float64, len(ticks)), make([]float64, len(ticks))
	rate, er := make([]float64, len(ticks)), make([]float64, len(ticks))
	l50, l99, lmx := make([]string, len(ticks)), make([]string, len(ticks)), make([]string, len(ticks))
	lr, le := make([]string, len(ticks)), make([]string, len(ticks))
	lo, hi := math.Inf(1), 0.0
	var maxRate, maxErr float64
	for i, t := range ticks {
		xs[i] = t.At
		p50[i], p99[i], mx[i] = t.P50, t.P99, t.Max
		rate[i], er[i] = t.rate(), 100*t.ErrRatio
		at := fmtOffset(t.At)
		l50[i], l99[i], lmx[i] = at+" p50 "+fmtMs(t.P50), "p99 "+fmtMs(t.P99), "max "+fmtMs(t.Max)
		lr[i], le[i] = at+" "+fmtRate(rate[i]), at+" "+fmtPct(er[i])
		if t.P50 > 0 {
			lo = math.Min(lo, t.P50)
		}
		hi = math.Max(hi, t.Max)
		maxRate = math.Max(maxRate, rate[i])
		maxErr = math.Max(maxErr, er[i])
	}
	if math.IsInf(lo, 1) {
		lo = 1
	}
	lat = newChart("latency", "p50, p99 and max, every request name", 1100, 340)
	lat.YLabel, lat.XLabel = "latency (log)", "time since start"
	sx := lat.timeScale(dur)
	sy := lat.logY(lo, hi, fmtMs)
	lat.addBands(r, sx)
	lat.addPhaseMarks(r, sx)
	lat.addSeries("p50", 0, xs, p50, sx, sy, l50)
	lat.addSeries("p99", 1, xs, p99, sx, sy, l99)
	lat.addSeries("max", 6, xs, mx, sx, sy, lmx)
	lat.Series[2].Width = 1

	thr = newChart("throughput", "Throughput", 1100, 220)
	thr.YLabel, thr.XLabel = "requests/s", "time since start"
	sx = thr.timeScale(dur)
	sy = thr.linearY(maxRate, fmtAxis)
	thr.addBands(r, sx)
	thr.addPhaseMarks(r, sx)
	thr.addSeries("throughput", 2, xs, rate, sx, sy, lr)

	errc = newChart("errors", "Error ratio", 1100, 220)
	errc.YLabel, errc.XLabel = "errors (%)", "time since start"
	sx = errc.timeScale(dur)
	sy = errc.linearY(math.Max(maxErr, 1), fmtPctAxis)
	errc.addBands(r, sx)
	errc.addPhaseMarks(r, sx)
	errc.addSeries("error ratio", 1, xs, er, sx, sy, le)
	return lat, thr, errc
}

func fmtPctAxis(v float64) string { return fmtAxis(v) + "%" }

func faultViews(r *Run) ([]faultRow, []faultTable) {
	var rows []faultRow
	var tables []faultTable
	for _, f := range r.Faults {
		row := faultRow{
			Name: f.Name, Type: f.Type, Target: f.Target, Params: fmtParams(f.Params),
			PlannedInject: fmtOffset(f.PlannedInject), PlannedRevert: fmtOffset(f.PlannedRevert),
			ActualInject: fmtActual(f.InjectedAt), ActualRevert: fmtActual(f.RevertedAt),
			Status: "ok",
		}
		switch {
		case f.Error != "":
			row.Status, row.Failed = f.Error, true
		case f.InjectedAt == nil:
			row.Status = "not injected"
		case f.RevertedAt == nil:
			row.Status, row.Failed = "not reverted", true
		}
		rows = append(rows, row)
		if f.InjectedAt == nil {
			continue
		}
		b, d, a := r.faultWindows(f)
		s, e := f.Window()
		t := faultTable{Name: f.Name, Window: fmtOffset(s) + " → " + fmtOffset(e)}
		t.Rows = []faultMetric{
			metricRow("p50", b.P50, d.P50, a.P50, fmtMs, true),
			metricRow("p99", b.P99, d.P99, a.P99, fmtMs, true),
			metricRow("max", b.Max, d.Max, a.Max, fmtMs, true),
			metricRow("errors", b.errPct(), d.errPct(), a.errPct(), fmtPct, true),
			metricRow("throughput", b.rate(), d.rate(), a.rate(), fmtRate, false),
		}
		tables = append(tables, t)
	}
	return rows, tables
}

func metricRow(name string, b, d, a float64, f func(float64) string, higherIsWorse bool) faultMetric {
	m := faultMetric{Metric: name, Before: f(b), During: f(d), After: f(a)}
	m.DeltaDuring, m.WorseDuring = delta(b, d, higherIsWorse)
	m.DeltaAfter, m.WorseAfter = delta(b, a, higherIsWorse)
	return m
}

// delta formats the relative change from b to x and says whether it is a
// notable (>10 %) change for the worse.
func delta(b, x float64, higherIsWorse bool) (string, bool) {
	if b == 0 {
		if x == 0 {
			return "±0", false
		}
		return "new", higherIsWorse
	}
	p := 100 * (x - b) / b
	worse := (p > 10 && higherIsWorse) || (p < -10 && !higherIsWorse)
	sign := "+"
	if p < 0 {
		sign = "−"
		p = -p
	}
	switch {
	case p < 0.05:
		return "±0", false
	case p >= 1000 && x > b:
		return "×" + strconv.FormatFloat(x/b, 'f', 0, 64), worse
	case p >= 10:
		return sign + strconv.FormatFloat(p, 'f', 0, 64) + "%", worse
	default:
		return sign + strconv.FormatFloat(p, 'f', 1, 64) + "%", worse
	}
}

func fmtActual(s *float64) string {
	if s == nil {
		return "—"
	}
	return fmtOffset(*s)
}

func fmtParams(p map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(p) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}

func checkRows(r *Run) []checkRow {
	var rows []checkRow
	for i, c := range r.Checks {
		t := c.Text()
		row := checkRow{
			Name: c.Name, Kind: c.Kind, Window: t.Window, Query: c.Query, Expected: t.Expected,
			Observed: t.Observed, Breach: t.Breach, Reason: c.Reason, Samples: c.Samples,
		}
		switch c.Status {
		case StatusPass:
			row.Result, row.Class = "✓ pass", "ok"
		case StatusFail:
			row.Result, row.Class = "✗ fail", "bad"
		default:
			row.Result, row.Class = "○ not evaluated", "skip"
		}
		if len(c.Series) > 0 {
			row.Chart = sliChart(r, c, i)
		}
		rows = append(rows, row)
	}
	return rows
}

// parseBound reads a bound like "< 1.2", ">= 0.99" or "< 10s".
func parseBound(b string) (op string, v float64, ok bool) {
	b = strings.TrimSpace(b)
	for _, o := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(b, o) {
			op, b = o, strings.TrimSpace(b[len(o):])
			break
		}
	}
	if op == "" {
		return "", 0, false
	}
	if f, err := strconv.ParseFloat(b, 64); err == nil {
		return op, f, true
	}
	if pct, ok := strings.CutSuffix(b, "%"); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64); err == nil {
			return op, f / 100, true
		}
	}
	if d, err := time.ParseDuration(b); err == nil {
		return op, d.Seconds(), true
	}
	return "", 0, false
}

func sliChart(r *Run, c Check, i int) *chart {
	ch := newChart(fmt.Sprintf("sli-%d", i), c.Name, 360, 130)
	dur := r.duration()
	sx := ch.timeScale(dur)
	pts := downsamplePoints(c.Series, 150)
	xs, ys, labels := make([]float64, len(pts)), make([]float64, len(pts)), make([]string, len(pts))
	minV, maxV := math.Inf(1), math.Inf(-1)
	for j, p := range pts {
		xs[j], ys[j] = p.T, p.V
		labels[j] = fmtOffset(p.T) + " " + fmtNum(p.V)
		minV, maxV = math.Min(minV, p.V), math.Max(maxV, p.V)
	}
	_, bound, hasBound := parseBound(c.Bound)
	if c.Threshold != nil {
		bound, hasBound = *c.Threshold, true
	}
	if hasBound {
		minV, maxV = math.Min(minV, bound), math.Max(maxV, bound)
	}
	ceiling := math.Inf(1)
	if c.Unit == UnitRatio || c.Unit == UnitPercent {
		ceiling = 1
	}
	sy := ch.rangeYCapped(minV, maxV, ceiling, fmtAxis)
	if c.WindowEnd > c.WindowStart {
		x0, x1 := sx.at(c.WindowStart), sx.at(c.WindowEnd)
		ch.Bands = append(ch.Bands, band{X: x0, W: x1 - x0, Title: c.Window})
	}
	if hasBound {
		ch.HLines = append(ch.HLines, hline{Y: sy.at(bound), Label: c.Bound})
	}
	idx := 0
	if c.Failed() {
		idx = 1
	}
	ch.addSeries(c.Name, idx, xs, ys, sx, sy, labels)
	ch.Series[0].Dash = ""
	return ch
}

func requestRows(r *Run) ([]requestRow, error) {
	_, hs, err := r.mergeHistograms(func(h Histogram) string { return h.Request })
	if err != nil {
		return nil, err
	}
	var rows []requestRow
	for _, rs := range r.Requests {
		names := map[string]bool{rs.Name: true}
		w := r.statsIn(math.Inf(-1), math.Inf(1), names)
		classes := map[string]int64{}
		for _, iv := range rs.Intervals {
			for k, n := range iv.Errors {
				classes[k] += n
			}
		}
		var cl []string
		for _, k := range sortedKeys(classes) {
			if classes[k] == 0 {
				continue
			}
			cl = append(cl, fmt.Sprintf("%s %d", k, classes[k]))
		}
		row := requestRow{
			Name: rs.Name, Count: strconv.FormatInt(w.Count, 10), Errors: strconv.FormatInt(w.Errors, 10),
			ErrPct: fmtPct(w.errPct()), ErrorClasses: strings.Join(cl, ", "),
		}
		if m := hs[rs.Name]; m != nil && m.corrected != nil && m.corrected.TotalCount() > 0 {
			h := m.corrected
			q := func(p float64) string { return fmtMs(float64(h.ValueAtPercentile(p)) * m.toMs) }
			row.P50, row.P90, row.P99, row.P999 = q(50), q(90), q(99), q(99.9)
			row.Max = fmtMs(float64(h.Max()) * m.toMs)
			row.Source = "histogram"
		} else {
			var ds []dist
			for _, iv := range rs.Intervals {
				ds = append(ds, newDist(iv))
			}
			row.P50, row.P90 = fmtMs(mixQuantile(ds, 0.5)), fmtMs(mixQuantile(ds, 0.9))
			row.P99, row.P999 = fmtMs(mixQuantile(ds, 0.99)), fmtMs(mixQuantile(ds, 0.999))
			row.Max = fmtMs(w.Max)
			row.Source = "intervals"
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// spectrumChart draws the percentile spectrum of every phase (all request
// names merged) on a log axis from 50% to 99.999%.
func spectrumChart(r *Run) (*chart, bool, error) {
	keys, hs, err := r.mergeHistograms(func(h Histogram) string { return h.Phase })
	if err != nil || len(keys) == 0 {
		return nil, false, err
	}
	ps := spectrumPercentiles(120)
	c := newChart("spectrum", "Latency by percentile, per phase", 1100, 340)
	c.YLabel, c.XLabel = "latency (log)", "percentile"
	lo, hi := math.Inf(1), 0.0
	for _, k := range keys {
		m := hs[k]
		for _, h := range []*hdrhistogram.Histogram{m.corrected, m.uncorrected} {
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			lo = math.Min(lo, math.Max(float64(h.ValueAtPercentile(50))*m.toMs, 0.01))
			hi = math.Max(hi, float64(h.Max())*m.toMs)
		}
	}
	if math.IsInf(lo, 1) {
		return nil, false, nil
	}
	sx := scale{min: math.Log10(2), max: 5, p0: c.L, p1: c.R}
	for _, p := range []float64{50, 90, 99, 99.9, 99.99, 99.999} {
		c.XTicks = append(c.XTicks, axisTick{Pos: sx.at(-math.Log10(1 - p/100)), Label: strconv.FormatFloat(p, 'f', -1, 64) + "%"})
	}
	sy := c.logY(lo, hi, fmtMs)
	xs := make([]float64, len(ps))
	for i, p := range ps {
		xs[i] = -math.Log10(1 - p/100)
	}
	hasUnc := false
	for i, k := range keys {
		m := hs[k]
		for j, h := range []struct {
			h      *hdrhistogram.Histogram
			suffix string
		}{{m.corrected, ""}, {m.uncorrected, " (uncorrected)"}} {
			if h.h == nil || h.h.TotalCount() == 0 {
				continue
			}
			vals := h.h.ValueAtPercentilesSlice(ps)
			ys, labels := make([]float64, len(ps)), make([]string, len(ps))
			for n, v := range vals {
				ys[n] = float64(v) * m.toMs
				labels[n] = k + h.suffix + " p" + strconv.FormatFloat(ps[n], 'g', 6, 64) + " " + fmtMs(ys[n])
			}
			c.addSeries(k+h.suffix, i, xs, ys, sx, sy, labels)
			if j == 1 {
				c.Series[len(c.Series)-1].Hidden = true
				c.Series[len(c.Series)-1].Width = 1
				hasUnc = true
			} else {
				c.Series[len(c.Series)-1].Dash = ""
				c.Series[len(c.Series)-1].Width = 2
			}
		}
	}
	return c, hasUnc, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// glanceOf is the row of key numbers under the verdict.
func glanceOf(r *Run) ([]glance, error) {
	all := r.statsIn(math.Inf(-1), math.Inf(1), nil)
	p99 := all.P99
	_, hs, err := r.mergeHistograms(func(Histogram) string { return "" })
	if err != nil {
		return nil, err
	}
	if m := hs[""]; m != nil && m.corrected != nil && m.corrected.TotalCount() > 0 {
		p99 = float64(m.corrected.ValueAtPercentile(99)) * m.toMs
	}
	var rate float64
	if d := r.loadSeconds(); d > 0 {
		rate = float64(all.Count) / d
	}
	g := []glance{
		{Label: "requests", Value: fmtCount(all.Count)},
		{Label: "mean throughput", Value: fmtRate(rate)},
		{Label: "errors", Value: fmtPct(all.errPct()), Bad: all.errPct() >= 1},
		{Label: "p99 (whole run)", Value: fmtMs(p99)},
	}
	if n := r.cancelled(); n > 0 {
		g = append(g, glance{Label: "cancelled by the stop (not errors)", Value: fmtCount(n)})
	}
	if t := r.Tally(); t.Total > 0 {
		g = append(g, glance{Label: "checks passed", Value: fmt.Sprintf("%d of %d", t.Passed, t.Total), Bad: t.Failed > 0})
		if t.NotEvaluated > 0 {
			g = append(g, glance{Label: "checks not evaluated", Value: strconv.Itoa(t.NotEvaluated), Bad: true})
		}
	}
	if len(r.Faults) > 0 {
		inj, rev := 0, 0
		for _, f := range r.Faults {
			if f.InjectedAt != nil {
				inj++
				if f.RevertedAt != nil {
					rev++
				}
			}
		}
		g = append(g, glance{Label: "faults injected / reverted", Value: fmt.Sprintf("%d / %d", inj, rev), Bad: rev < inj})
	}
	return g, nil
}

// fmtCount formats a count with thin-space thousands separators.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	return b.String()
}
