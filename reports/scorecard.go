// The scorecard: one scenario run over several variants of the shop,
// repeated (`gameday compare NAME --variants …`, compare.json and
// compare.html), with medians, intervals and significance from
// reports/stats. It shares the charts and number formats of the run report,
// hence it lives here; side by side (sidebyside.go) is the other, unrelated
// comparison.

package reports

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/reports/stats"
)

// ComparisonSchemaVersion is the version of compare.json.
const ComparisonSchemaVersion = "gameday.compare/v1"

// Comparison is one scenario run over several variants of the shop, repeated
// (compare.json). The orchestrator fills the header and Runs, then Analyze
// fills each run's values, the statistics and the timelines from the run
// records.
type Comparison struct {
	SchemaVersion string    `json:"schemaVersion"`
	Scenario      string    `json:"scenario"`
	Variants      []string  `json:"variants"`
	Repeat        int       `json:"repeat"`
	Seed          int64     `json:"seed"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	// WallSeconds is the whole comparison; RunSeconds the sum of the runs'
	// own wall time; OverheadSeconds the difference (the harness's share).
	WallSeconds float64 `json:"wallSeconds"`
	RunSeconds  float64 `json:"runSeconds"`
	// PlannedSeconds is the sum of the runs' planned load durations.
	PlannedSeconds  float64 `json:"plannedSeconds"`
	OverheadSeconds float64 `json:"overheadSeconds"`

	// Alpha is the significance level of the tests and Level the confidence
	// asked of the intervals (Analyze fills both from its options).
	Alpha float64 `json:"alpha,omitempty"`
	Level float64 `json:"level,omitempty"`
	// MinRepeat is the smallest number of runs a side with which the test
	// can show a difference at Alpha (stats.MinRuns); with fewer, every
	// verdict is "too few runs to tell". MinIntervalRepeat is the smallest
	// with which an interval of the median at Level exists
	// (stats.MinIntervalRuns); with fewer, the intervals are the runs'
	// ranges, each with the confidence it has.
	MinRepeat         int `json:"minRepeat,omitempty"`
	MinIntervalRepeat int `json:"minIntervalRepeat,omitempty"`

	Runs      []ComparedRun     `json:"runs"`
	Metrics   []VariantMetric   `json:"metrics,omitempty"`
	Timelines []VariantTimeline `json:"timelines,omitempty"`
	// Faults are the first run's faults, shaded on the timelines.
	Faults []Fault `json:"faults,omitempty"`
	// Duration is the longest run, in seconds.
	Duration float64 `json:"duration"`
}

// ComparedRun is one run of the comparison, in the order it ran.
type ComparedRun struct {
	Variant     string  `json:"variant"`
	Repeat      int     `json:"repeat"` // 1-based
	Seed        int64   `json:"seed"`
	ID          string  `json:"id,omitempty"`
	Dir         string  `json:"dir,omitempty"` // relative to compare.json when possible
	Verdict     Verdict `json:"verdict"`
	Reason      string  `json:"reason,omitempty"`
	WallSeconds float64 `json:"wallSeconds"`
	// Values are the run's metrics by key; null: not measured.
	Values map[string]*float64 `json:"values,omitempty"`
}

// VariantMetric is one metric across variants, with its statistics.
type VariantMetric struct {
	Key           string         `json:"key"`
	Name          string         `json:"name"`
	Unit          string         `json:"unit"` // ms, s, ratio, x, rate
	LowerIsBetter bool           `json:"lowerIsBetter"`
	Variants      []MetricSample `json:"variants"`
	Pairs         []MetricPair   `json:"pairs,omitempty"`
	Best          string         `json:"best,omitempty"` // significantly better than every other variant
	Note          string         `json:"note,omitempty"`
}

// MetricSample is the values of one metric for one variant.
type MetricSample struct {
	Variant string    `json:"variant"`
	Values  []float64 `json:"values"`
	// Censored counts values that are lower bounds (never recovered: the
	// rest of the run is counted).
	Censored int     `json:"censored,omitempty"`
	Missing  int     `json:"missing,omitempty"`
	Mean     float64 `json:"mean"`
	stats.Summary
}

// MetricPair is the verdict between two variants on one metric: A and B are
// variant names, Better is the better one or empty (no significant
// difference, or too few runs to tell: Stats.Verdict says which), Verdict
// the sentence every report shows for the pair (PairVerdict).
type MetricPair struct {
	A       string `json:"a"`
	B       string `json:"b"`
	Better  string `json:"better,omitempty"`
	Verdict string `json:"verdict"`
	// Stats holds the verdict, the method and the test; its A and B are
	// the pair's A and B.
	Stats stats.Comparison `json:"stats"`
}

// VariantTimeline is the p99 over time of one variant across its repeats.
type VariantTimeline struct {
	Variant string          `json:"variant"`
	Points  []TimelinePoint `json:"points"`
}

// TimelinePoint is the median and the range (min–max) across repeats of the
// p99 of one interval, in milliseconds.
type TimelinePoint struct {
	At     float64 `json:"at"`
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
}

// MetricValue is one metric of one run.
type MetricValue struct {
	Key, Name, Unit string
	LowerIsBetter   bool
	Value           *float64
	// Censored: the value is a lower bound (not recovered within the run).
	Censored bool
}

// RunMetrics extracts the metrics a comparison of variants uses from one
// run record: whether its SLOs held, the p99 and the error ratio during each
// fault, the shop's retry amplification during each fault, every recovery
// time and the time breakers spent open.
func RunMetrics(r *Run) ([]MetricValue, error) {
	f64 := func(v float64) *float64 { return &v }
	pass := 0.0
	if r.Verdict == VerdictPass {
		pass = 1
	}
	out := []MetricValue{{Key: "slo-pass", Name: "SLOs held (share of runs)", Unit: "rate", Value: f64(pass)}}
	_, byPhase, err := r.mergeHistograms(func(h Histogram) string { return h.Phase })
	if err != nil {
		return nil, err
	}
	for i, f := range r.Faults {
		_, during, _ := r.faultWindows(f)
		var p99 *float64
		if m := byPhase[f.Name]; m != nil && m.corrected != nil && m.corrected.TotalCount() > 0 {
			p99 = f64(float64(m.corrected.ValueAtQuantile(99)) * m.toMs)
		} else if during.Count > 0 {
			p99 = f64(during.P99)
		}
		var errRatio *float64
		if during.Count > 0 {
			errRatio = f64(float64(during.Errors) / float64(during.Count))
		}
		out = append(out,
			MetricValue{Key: "p99:" + f.Name, Name: "p99 during " + f.Name, Unit: "ms", LowerIsBetter: true, Value: p99},
			MetricValue{Key: "errors:" + f.Name, Name: "error ratio during " + f.Name, Unit: "ratio", LowerIsBetter: true, Value: errRatio})
		if r.Shop != nil && i < len(r.Shop.Faults) && r.Shop.Faults[i].Fault == f.Name {
			out = append(out, MetricValue{Key: "retry:" + f.Name, Name: "retry amplification during " + f.Name, Unit: "x",
				LowerIsBetter: true, Value: r.Shop.Faults[i].RetryAmplification})
		}
	}
	for _, rc := range r.Recovery {
		mv := MetricValue{Key: "recovery:" + rc.Fault + ":" + rc.SLI, Name: fmt.Sprintf("recovery after %s (%s)", rc.Fault, rc.SLI),
			Unit: "s", LowerIsBetter: true, Value: rc.Seconds}
		if rc.Seconds == nil {
			// Never recovered: count the rest of the load, a lower bound.
			for _, f := range r.Faults {
				if f.Name == rc.Fault && f.InjectedAt != nil {
					_, e := f.Window()
					mv.Value, mv.Censored = f64(math.Max(0, loadEnd(r)-e)), true
				}
			}
		}
		out = append(out, mv)
	}
	if r.Shop != nil {
		out = append(out, MetricValue{Key: "breaker-open", Name: "time breakers spent open (breaker-seconds)", Unit: "s",
			LowerIsBetter: true, Value: f64(r.Shop.BreakerOpenSeconds)})
	}
	return out, nil
}

// loadEnd is the end of the run's timeline (its last phase), else its
// duration.
func loadEnd(r *Run) float64 {
	var end float64
	for _, p := range r.Phases {
		end = math.Max(end, p.End)
	}
	if end == 0 {
		end = r.duration()
	}
	return end
}

// Analyze computes every run's metrics, the statistics per metric (median and
// bootstrap interval per variant, a verdict per pair of variants) and the
// timelines. records[i] is the record of c.Runs[i] (nil: the run left no
// record).
func (c *Comparison) Analyze(records []*Run, o stats.Options) error {
	if len(records) != len(c.Runs) {
		return fmt.Errorf("compare: %d records for %d runs", len(records), len(c.Runs))
	}
	if c.SchemaVersion == "" {
		c.SchemaVersion = ComparisonSchemaVersion
	}
	o = o.WithDefaults()
	c.Alpha, c.Level = o.Alpha, o.Level
	c.MinRepeat, c.MinIntervalRepeat = stats.MinRuns(o.Alpha), stats.MinIntervalRuns(o.Level)
	vidx := map[string]int{}
	for i, v := range c.Variants {
		vidx[v] = i
	}
	byKey := map[string]*VariantMetric{}
	c.Metrics = nil
	for i, r := range records {
		if r == nil {
			continue
		}
		if len(c.Faults) == 0 {
			c.Faults = r.Faults
		}
		c.Duration = math.Max(c.Duration, r.duration())
		mvs, err := RunMetrics(r)
		if err != nil {
			return fmt.Errorf("compare: run %s: %w", c.Runs[i].ID, err)
		}
		run := &c.Runs[i]
		run.Values = map[string]*float64{}
		vi, ok := vidx[run.Variant]
		if !ok {
			return fmt.Errorf("compare: run %s has variant %q, not one of %v", run.ID, run.Variant, c.Variants)
		}
		for _, mv := range mvs {
			run.Values[mv.Key] = mv.Value
			m := byKey[mv.Key]
			if m == nil {
				m = &VariantMetric{Key: mv.Key, Name: mv.Name, Unit: mv.Unit, LowerIsBetter: mv.LowerIsBetter}
				for _, v := range c.Variants {
					m.Variants = append(m.Variants, MetricSample{Variant: v})
				}
				byKey[mv.Key] = m
				c.Metrics = append(c.Metrics, VariantMetric{Key: mv.Key}) // placeholder keeps first-seen order
			}
			s := &m.Variants[vi]
			if mv.Value == nil {
				s.Missing++
				continue
			}
			s.Values = append(s.Values, *mv.Value)
			if mv.Censored {
				s.Censored++
			}
		}
	}
	for k := range c.Metrics {
		m := byKey[c.Metrics[k].Key]
		analyzeMetric(m, o, uint64(k)*1000)
		c.Metrics[k] = *m
	}
	c.Timelines = timelines(c, records)
	return nil
}

func analyzeMetric(m *VariantMetric, o stats.Options, salt uint64) {
	for i := range m.Variants {
		s := &m.Variants[i]
		so := o
		so.Seed += salt + uint64(i)
		s.Summary = stats.Summarize(s.Values, so)
		s.Mean = math.NaN()
		if len(s.Values) > 0 {
			var sum float64
			for _, v := range s.Values {
				sum += v
			}
			s.Mean = sum / float64(len(s.Values))
		}
		if s.Censored > 0 {
			m.Note = "some runs never recovered within the run: the rest of the load is counted, a lower bound, so compare with care"
		}
	}
	wins := map[string]int{}
	for i := 0; i < len(m.Variants); i++ {
		for j := i + 1; j < len(m.Variants); j++ {
			po := o
			po.Seed += salt + 100 + uint64(i*len(m.Variants)+j)
			cmp := stats.Compare(m.Variants[i].Values, m.Variants[j].Values, m.LowerIsBetter, po)
			p := MetricPair{A: m.Variants[i].Variant, B: m.Variants[j].Variant, Stats: cmp}
			switch cmp.Verdict {
			case stats.ABetter:
				p.Better = p.A
			case stats.BBetter:
				p.Better = p.B
			}
			if p.Better != "" {
				wins[p.Better]++
			}
			p.Verdict = PairVerdict(p)
			m.Pairs = append(m.Pairs, p)
		}
	}
	if len(m.Variants) > 1 {
		for v, n := range wins {
			if n == len(m.Variants)-1 {
				m.Best = v
			}
		}
	}
}

// PairVerdict is the one wording of a pair's verdict, for every report of a
// comparison: "B better than A", "A vs B: no significant difference" (the
// test could have shown one), or "A vs B: too few runs to tell" (it could
// not, whatever the data).
func PairVerdict(p MetricPair) string {
	switch {
	case p.Better != "":
		other := p.A
		if p.Better == p.A {
			other = p.B
		}
		return p.Better + " better than " + other
	case p.Stats.Verdict == stats.NoDifference:
		return p.A + " vs " + p.B + ": no significant difference"
	}
	return p.A + " vs " + p.B + ": " + string(stats.TooFewRuns)
}

// timelines returns, per variant, the median and the range across repeats of
// the p99 of every interval.
func timelines(c *Comparison, records []*Run) []VariantTimeline {
	var out []VariantTimeline
	for _, v := range c.Variants {
		buckets := map[int64][]float64{}
		for i, r := range records {
			if r == nil || c.Runs[i].Variant != v {
				continue
			}
			for _, t := range r.timeline(nil) {
				if t.Count == 0 {
					continue
				}
				k := int64(math.Round(t.At / r.intervalSeconds()))
				buckets[k] = append(buckets[k], t.P99)
			}
		}
		keys := make([]int64, 0, len(buckets))
		for k := range buckets {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		vt := VariantTimeline{Variant: v}
		for _, k := range keys {
			xs := buckets[k]
			sort.Float64s(xs)
			vt.Points = append(vt.Points, TimelinePoint{At: float64(k), N: len(xs), Median: stats.Median(xs), Lo: xs[0], Hi: xs[len(xs)-1]})
		}
		out = append(out, vt)
	}
	return out
}

// Save writes compare.json atomically; NaN (no values) becomes null.
func (c *Comparison) Save(path string) error {
	b, err := json.MarshalIndent(c.sanitized(), "", " ")
	if err != nil {
		return fmt.Errorf("save comparison: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// LoadComparison reads compare.json.
func LoadComparison(path string) (*Comparison, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load comparison: %w", err)
	}
	var c Comparison
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("load comparison %s: %w", path, err)
	}
	if c.SchemaVersion != ComparisonSchemaVersion {
		return nil, fmt.Errorf("load comparison %s: schemaVersion %q, this gameday reads %q: %w", path, c.SchemaVersion, ComparisonSchemaVersion, ErrUnknownSchema)
	}
	return &c, nil
}

// sanitized returns a copy whose NaN and infinite numbers are zeroed where
// JSON has no way to say them (medians and intervals of empty samples: their
// N is 0, which says it).
func (c *Comparison) sanitized() *Comparison {
	cp := *c
	fix := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	cp.Metrics = make([]VariantMetric, len(c.Metrics))
	for i, m := range c.Metrics {
		m.Variants = append([]MetricSample(nil), m.Variants...)
		for j := range m.Variants {
			s := &m.Variants[j]
			s.Mean, s.Median, s.CI = fix(s.Mean), fix(s.Median), fixCI(s.CI, fix)
		}
		m.Pairs = append([]MetricPair(nil), m.Pairs...)
		for j := range m.Pairs {
			p := &m.Pairs[j]
			st := &p.Stats
			st.A.Median, st.A.CI = fix(st.A.Median), fixCI(st.A.CI, fix)
			st.B.Median, st.B.CI = fix(st.B.Median), fixCI(st.B.CI, fix)
			st.Test.P, st.Test.MinP = fix(st.Test.P), fix(st.Test.MinP)
		}
		cp.Metrics[i] = m
	}
	cp.Runs = make([]ComparedRun, len(c.Runs))
	for i, r := range c.Runs {
		if r.Values != nil {
			vals := make(map[string]*float64, len(r.Values))
			for k, v := range r.Values {
				if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
					v = nil
				}
				vals[k] = v
			}
			r.Values = vals
		}
		cp.Runs[i] = r
	}
	return &cp
}

// fixCI returns a copy of ci with fix applied to its bounds (the original is
// shared with the comparison being saved); nil stays nil.
func fixCI(ci *stats.Interval, fix func(float64) float64) *stats.Interval {
	if ci == nil {
		return nil
	}
	return &stats.Interval{Lo: fix(ci.Lo), Hi: fix(ci.Hi)}
}

// The view of templates/variants.html.tmpl.
type variantsView struct {
	Title   string
	Repeats string
	// TooFew is the warning when the repeats cannot show a difference.
	TooFew    string
	Intervals string
	C         *Comparison
	Wall      string
	Overhead  string
	Legend    []variantKey
	Scorecard []scoreRow
	Timeline  *variantChart
	Tables    []metricTable
	Runs      []runRow
	CSS       template.CSS
	JS        template.JS
}

type variantKey struct{ Name, Color string }

type scoreRow struct {
	Metric  string
	Note    string
	Cells   []scoreCell
	Verdict []scoreVerdict
}

type scoreVerdict struct {
	Text   string
	TooFew bool
}

type scoreCell struct {
	Text, CI string
	Best     bool
}

type metricTable struct {
	ID, Name, Note string
	Rows           []variantMetricRow
	Pairs          []pairRow
}

type variantMetricRow struct {
	Variant, N, Median, CI, Values string
}

type pairRow struct {
	A, B, Verdict, U, P, Method string
	Significant, TooFew         bool
}

type runRow struct {
	N                                        int
	Variant, Repeat, Seed, ID, Verdict, Wall string
	Link                                     string
	Pass                                     bool
}

type variantChart struct {
	*chart
	Areas []area
}

type area struct {
	D, Color string
}

// WriteVariantsHTML writes the comparison of variants as one self-contained
// HTML page: the design scorecard first, then the p99 timelines of every
// variant (median across repeats with the min–max band), then a table per
// metric and the runs.
func WriteVariantsHTML(w io.Writer, c *Comparison) error {
	if c == nil || len(c.Variants) == 0 {
		return errors.New("compare: no variants")
	}
	v := &variantsView{
		Title: "gameday: " + c.Scenario + " across " + strings.Join(c.Variants, ", "),
		C:     c, CSS: template.CSS(reportCSS), JS: template.JS(reportJS),
		Wall: fmtDuration(c.WallSeconds), Repeats: plural(c.Repeat, "repeat"),
	}
	if c.RunSeconds > 0 {
		v.Overhead = fmt.Sprintf("%s (%.1f %% beyond the runs' own %s)", fmtDuration(c.OverheadSeconds), 100*c.OverheadSeconds/c.RunSeconds, fmtDuration(c.RunSeconds))
		if c.PlannedSeconds > 0 {
			v.Overhead += fmt.Sprintf("; the runs took %.1f %% longer than their planned load (%s: deploy, settle, judge, tear down)",
				100*(c.RunSeconds-c.PlannedSeconds)/c.PlannedSeconds, fmtDuration(c.PlannedSeconds))
		}
	}
	if c.MinRepeat > 0 && c.Repeat < c.MinRepeat {
		v.TooFew = fmt.Sprintf("%s: with %d v %d runs the smallest p-value Mann-Whitney U can give is %.2g, above alpha %.3g, so no verdict can be a difference: they read “too few runs to tell”. %d repeats are the fewest that can show one.",
			plural(c.Repeat, "repeat"), c.Repeat, c.Repeat, stats.MinP(c.Repeat, c.Repeat), c.Alpha, c.MinRepeat)
	}
	v.Intervals = intervalsNote(c)
	for i, name := range c.Variants {
		v.Legend = append(v.Legend, variantKey{Name: name, Color: palette[i%len(palette)]})
	}
	for i, m := range c.Metrics {
		row := scoreRow{Metric: m.Name, Note: m.Note}
		t := metricTable{ID: "m-" + strconv.Itoa(i), Name: m.Name, Note: m.Note}
		for _, s := range m.Variants {
			row.Cells = append(row.Cells, scoreCell{Text: fmtSample(m.Unit, s), CI: fmtCI(m.Unit, s), Best: m.Best == s.Variant})
			vals := make([]string, len(s.Values))
			for k, x := range s.Values {
				vals[k] = fmtUnit(m.Unit, x)
			}
			extra := ""
			if s.Missing > 0 {
				extra = fmt.Sprintf(" (%d not measured)", s.Missing)
			}
			t.Rows = append(t.Rows, variantMetricRow{Variant: s.Variant, N: strconv.Itoa(s.N) + extra, Median: fmtSample(m.Unit, s), CI: fmtInterval(m.Unit, s), Values: strings.Join(vals, ", ")})
		}
		for _, p := range m.Pairs {
			verdict := PairVerdict(p)
			tooFew := p.Better == "" && p.Stats.Verdict != stats.NoDifference
			row.Verdict = append(row.Verdict, scoreVerdict{Text: verdict, TooFew: tooFew})
			pr := pairRow{A: p.A, B: p.B, Verdict: verdict, Method: p.Stats.Method, Significant: p.Better != "", TooFew: tooFew}
			if p.Stats.A.N > 0 && p.Stats.B.N > 0 {
				pr.U, pr.P = fmtNum(p.Stats.Test.U), strconv.FormatFloat(p.Stats.Test.P, 'g', 3, 64)
			}
			t.Pairs = append(t.Pairs, pr)
		}
		v.Scorecard = append(v.Scorecard, row)
		v.Tables = append(v.Tables, t)
	}
	v.Timeline = variantTimelineChart(c)
	for i, r := range c.Runs {
		link := ""
		if r.Dir != "" {
			link = strings.TrimSuffix(r.Dir, "/") + "/" + HTMLFile
		}
		v.Runs = append(v.Runs, runRow{
			N: i + 1, Variant: r.Variant, Repeat: strconv.Itoa(r.Repeat), Seed: strconv.FormatInt(r.Seed, 10),
			ID: r.ID, Verdict: strings.ToUpper(string(r.Verdict)), Wall: fmtDuration(r.WallSeconds), Link: link,
			Pass: r.Verdict == VerdictPass,
		})
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := templates.ExecuteTemplate(bw, "variants.html.tmpl", v); err != nil {
		return fmt.Errorf("render comparison of variants: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison of variants: %w", err)
	}
	return nil
}

func fmtUnit(unit string, v float64) string {
	switch unit {
	case "ms":
		return fmtMs(v)
	case "s":
		return strconv.FormatFloat(v, 'f', 1, 64) + " s"
	case "ratio":
		return fmtPct(100 * v)
	case "x":
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	case "rate":
		return fmtPct(100 * v)
	}
	return fmtNum(v)
}

func fmtSample(unit string, s MetricSample) string {
	if s.N == 0 {
		return "no data"
	}
	if unit == "rate" { // a pass rate reads as a share of runs
		return fmt.Sprintf("%d/%d", int(math.Round(s.Mean*float64(s.N))), s.N)
	}
	out := fmtUnit(unit, s.Median)
	if s.Censored > 0 {
		out = "≥ " + out
	}
	return out
}

// fmtCI is a scorecard cell's interval: the bootstrap interval at the
// comparison's level, the range of the runs with the confidence it has (2 to
// 5 runs at 95 %), or none from one run, said so. A pass rate has none.
func fmtCI(unit string, s MetricSample) string {
	switch {
	case unit == "rate" || s.N == 0:
		return ""
	case s.CI == nil:
		return "no interval from 1 run"
	case s.Range:
		return fmt.Sprintf("[%s – %s] range, %s", fmtUnit(unit, s.CI.Lo), fmtUnit(unit, s.CI.Hi), fmtConfidence(s.Level))
	}
	return "[" + fmtUnit(unit, s.CI.Lo) + " – " + fmtUnit(unit, s.CI.Hi) + "]"
}

// fmtInterval is the per-metric table's interval, with its confidence.
func fmtInterval(unit string, s MetricSample) string {
	switch {
	case s.N == 0:
		return ""
	case s.CI == nil:
		return "none from 1 run"
	case s.Range:
		return fmt.Sprintf("[%s – %s]: the range of %d runs, %s", fmtUnit(unit, s.CI.Lo), fmtUnit(unit, s.CI.Hi), s.N, fmtConfidence(s.Level))
	}
	return fmt.Sprintf("[%s – %s], %s", fmtUnit(unit, s.CI.Lo), fmtUnit(unit, s.CI.Hi), fmtConfidence(s.Level))
}

// fmtConfidence is a confidence level as a percentage: 95 %, 75 %, 93.75 %.
func fmtConfidence(level float64) string {
	return strconv.FormatFloat(100*level, 'f', -1, 64) + " %"
}

// intervalsNote says what the scorecard's intervals are.
func intervalsNote(c *Comparison) string {
	level := c.Level
	if level <= 0 {
		level = 0.95
	}
	note := fmt.Sprintf("Median over repeats with its %s bootstrap interval", fmtConfidence(level))
	if c.MinIntervalRepeat > 0 && c.Repeat < c.MinIntervalRepeat {
		note = fmt.Sprintf("Median over repeats; below it the range of the runs and the chance that range holds the true median (no %s interval of a median exists from fewer than %d runs; one run gives none)",
			fmtConfidence(level), c.MinIntervalRepeat)
	}
	return note
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// variantTimelineChart overlays the variants' p99 timelines: the median
// across repeats as a line, the min–max across repeats as a band.
func variantTimelineChart(c *Comparison) *variantChart {
	ch := newChart("variants-latency", "p99 over time, every request name: median across repeats, band min–max", 1100, 360)
	ch.YLabel, ch.XLabel = "p99 (log)", "time since start"
	lo, hi := math.Inf(1), 0.0
	for _, vt := range c.Timelines {
		for _, p := range vt.Points {
			if p.Lo > 0 {
				lo = math.Min(lo, p.Lo)
			}
			hi = math.Max(hi, p.Hi)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	sx := ch.timeScale(c.Duration)
	sy := ch.logY(lo, hi, fmtMs)
	ch.addBands(&Run{Faults: c.Faults}, sx)
	vc := &variantChart{chart: ch}
	clamp := func(v float64) float64 { return math.Max(v, lo) }
	for i, vt := range c.Timelines {
		if len(vt.Points) == 0 {
			continue
		}
		xs, ys, ls := make([]float64, len(vt.Points)), make([]float64, len(vt.Points)), make([]string, len(vt.Points))
		var d strings.Builder
		for j, p := range vt.Points {
			xs[j], ys[j] = p.At, clamp(p.Median)
			ls[j] = fmt.Sprintf("%s %s p99 %s (%s – %s, %d runs)", vt.Variant, fmtOffset(p.At), fmtMs(p.Median), fmtMs(p.Lo), fmtMs(p.Hi), p.N)
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			d.WriteString(cmd + ftoa(sx.at(p.At)) + " " + ftoa(sy.at(clamp(p.Hi))))
		}
		for j := len(vt.Points) - 1; j >= 0; j-- {
			p := vt.Points[j]
			d.WriteString("L" + ftoa(sx.at(p.At)) + " " + ftoa(sy.at(clamp(p.Lo))))
		}
		d.WriteString("Z")
		vc.Areas = append(vc.Areas, area{D: d.String(), Color: palette[i%len(palette)]})
		ch.addSeries(vt.Variant, i, xs, ys, sx, sy, ls)
	}
	return vc
}
