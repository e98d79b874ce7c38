package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Totals is one request name's (or the whole mix's) outcome over a run: the
// sum of its intervals' IntervalStats, with the same meanings.
type Totals struct {
	// Count is the requests completed (answered, or failed on their own),
	// errors included, Cancelled not.
	Count int64
	// Cancelled is the requests the generator's own stop (interrupt, abort,
	// end-of-run hard stop) cut short or never sent: not errors, no latency.
	Cancelled int64
	// Dropped is the open model's arrivals not sent (in-flight cap).
	Dropped int64
	// Errors of the completed requests by class; never ClassCanceled.
	Errors map[string]int64
	// Rate is the achieved rate: completed requests (Count) per second of the run.
	Rate float64
	// Corrected (from the intended send time) and Uncorrected (service time)
	// latencies of the completed requests, nanoseconds.
	Corrected, Uncorrected *hdrhistogram.Histogram
}

// ErrorCount is the sum of the errors of every class (Cancelled is not one).
func (t *Totals) ErrorCount() int64 {
	var n int64
	for _, v := range t.Errors {
		n += v
	}
	return n
}

func newTotals() *Totals {
	return &Totals{Errors: map[string]int64{}, Corrected: NewHistogram(), Uncorrected: NewHistogram()}
}

func (t *Totals) add(s *IntervalStats) {
	t.Count += s.Count
	t.Cancelled += s.Cancelled
	t.Dropped += s.Dropped
	for k, v := range s.Errors {
		t.Errors[k] += v
	}
	t.Corrected.Merge(s.Corrected)
	t.Uncorrected.Merge(s.Uncorrected)
}

// Percentiles summarises a latency histogram.
type Percentiles struct {
	P50, P90, P99, P999, P9999, Max, Mean time.Duration
}

// Summarize reads the percentiles of h (nanoseconds).
func Summarize(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	q := func(p float64) time.Duration { return time.Duration(h.ValueAtQuantile(p)) }
	return Percentiles{P50: q(50), P90: q(90), P99: q(99), P999: q(99.9), P9999: q(99.99),
		Max: time.Duration(h.Max()), Mean: time.Duration(h.Mean())}
}

// NameSummary is one request name's part of an interval, kept small. Count,
// Cancelled, Dropped and Errors mean what they mean in IntervalStats.
type NameSummary struct {
	Count, Cancelled       int64
	Dropped                int64
	Errors                 map[string]int64
	Corrected, Uncorrected Percentiles
}

// IntervalSummary is what a Result keeps of each interval: percentiles, not
// histograms, so memory grows with intervals × names only.
type IntervalSummary struct {
	Start      time.Time
	Duration   time.Duration
	TargetRate float64
	TargetVUs  int
	InFlight   int64
	Lag        Percentiles
	ByName     map[string]NameSummary
}

// Result is the outcome of a run.
type Result struct {
	Model       string
	Start       time.Time
	Duration    time.Duration
	Interrupted bool
	Names       []string // the mix's request names, in mix order
	ByName      map[string]*Totals
	Total       *Totals // every name together
	Intervals   []IntervalSummary
	// SchedulerLag: how late the open model's scheduler dispatched arrivals
	// (nanoseconds); empty for the closed model.
	SchedulerLag *hdrhistogram.Histogram
	// Dropped and Cancelled are Total's (every request name together).
	Dropped   int64
	Cancelled int64
	// TargetRequests is the number of arrivals the open model's schedule
	// holds for the whole run (0 for the closed model).
	TargetRequests int64
}

func newResult(g *Generator) *Result {
	r := &Result{Model: g.cfg.Model, Names: g.names, ByName: map[string]*Totals{}, Total: newTotals(), SchedulerLag: NewHistogram()}
	for _, n := range g.names {
		r.ByName[n] = newTotals()
	}
	if g.cfg.Model == ModelOpen {
		r.TargetRequests = newPacer(g.cfg.Stages).total()
	}
	return r
}

func (r *Result) add(iv *Interval) {
	for _, n := range r.Names {
		st := iv.ByName[n]
		r.ByName[n].add(st)
		r.Total.add(st)
	}
	r.SchedulerLag.Merge(iv.SchedulerLag)
	r.Intervals = append(r.Intervals, iv.Summary())
}

// Summary is what a Result keeps of the interval (percentiles, not
// histograms); callers that record intervals as they come (a run record
// written while the run goes) keep the same.
func (iv *Interval) Summary() IntervalSummary {
	s := IntervalSummary{Start: iv.Start, Duration: iv.Duration, TargetRate: iv.TargetRate, TargetVUs: iv.TargetVUs,
		InFlight: iv.InFlight, Lag: Summarize(iv.SchedulerLag), ByName: make(map[string]NameSummary, len(iv.ByName))}
	for n, st := range iv.ByName {
		errs := make(map[string]int64, len(st.Errors))
		for k, v := range st.Errors {
			errs[k] = v
		}
		s.ByName[n] = NameSummary{Count: st.Count, Cancelled: st.Cancelled, Dropped: st.Dropped, Errors: errs,
			Corrected: Summarize(st.Corrected), Uncorrected: Summarize(st.Uncorrected)}
	}
	return s
}

func (r *Result) finish(end time.Time, interrupted bool) {
	r.Duration = end.Sub(r.Start)
	r.Interrupted = interrupted
	secs := r.Duration.Seconds()
	for _, t := range append([]*Totals{r.Total}, r.mapValues()...) {
		if secs > 0 {
			t.Rate = float64(t.Count) / secs
		}
	}
	r.Dropped = r.Total.Dropped
	r.Cancelled = r.Total.Cancelled
}

func (r *Result) mapValues() []*Totals {
	out := make([]*Totals, 0, len(r.Names))
	for _, n := range r.Names {
		out = append(out, r.ByName[n])
	}
	return out
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

// WriteText writes the human summary.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	state := "completed"
	if r.Interrupted {
		state = "interrupted"
	}
	fmt.Fprintf(&b, "%s model, %s in %.2fs", r.Model, state, r.Duration.Seconds())
	if r.TargetRequests > 0 {
		fmt.Fprintf(&b, " (schedule: %d requests)", r.TargetRequests)
	}
	b.WriteString("\n")
	sections := []struct {
		name string
		t    *Totals
	}{}
	if len(r.Names) > 1 {
		for _, n := range r.Names {
			sections = append(sections, struct {
				name string
				t    *Totals
			}{n, r.ByName[n]})
		}
	}
	sections = append(sections, struct {
		name string
		t    *Totals
	}{"all", r.Total})
	for _, s := range sections {
		t := s.t
		fmt.Fprintf(&b, "\n[%s]\n", s.name)
		fmt.Fprintf(&b, "  requests   %d  (%.1f/s achieved)", t.Count, t.Rate)
		if t.Dropped > 0 {
			fmt.Fprintf(&b, "  dropped %d", t.Dropped)
		}
		if t.Cancelled > 0 {
			fmt.Fprintf(&b, "  cancelled %d (cut short by the stop: not errors)", t.Cancelled)
		}
		b.WriteString("\n")
		ne := t.ErrorCount()
		fmt.Fprintf(&b, "  errors     %d", ne)
		if t.Count > 0 {
			fmt.Fprintf(&b, " (%.2f%%)", 100*float64(ne)/float64(t.Count))
		}
		for _, k := range sortedKeys(t.Errors) {
			fmt.Fprintf(&b, "  %s=%d", k, t.Errors[k])
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "  %-12s %10s %10s %10s %10s %10s %10s\n", "latency", "p50", "p90", "p99", "p99.9", "p99.99", "max")
		for _, row := range []struct {
			n string
			p Percentiles
		}{{"corrected", Summarize(t.Corrected)}, {"uncorrected", Summarize(t.Uncorrected)}} {
			p := row.p
			fmt.Fprintf(&b, "  %-12s %10s %10s %10s %10s %10s %10s\n", row.n, ms(p.P50), ms(p.P90), ms(p.P99), ms(p.P999), ms(p.P9999), ms(p.Max))
		}
	}
	if r.Model == ModelOpen {
		p := Summarize(r.SchedulerLag)
		fmt.Fprintf(&b, "\nscheduler lag  p50 %s  p99 %s  max %s\n", ms(p.P50), ms(p.P99), ms(p.Max))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// JSONSchema names the version of the JSON summary's layout (its
// schemaVersion field).
const JSONSchema = "gameday.load/v1"

// JSONPercentiles is a latency summary in milliseconds.
type JSONPercentiles struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// JSONTotals is Totals in the JSON summary.
type JSONTotals struct {
	Count     int64            `json:"count"`     // completed, errors included
	Cancelled int64            `json:"cancelled"` // cut short by the generator's stop: not errors, no latency
	Dropped   int64            `json:"dropped"`   // not sent (in-flight cap)
	Rate      float64          `json:"rate"`      // count per second of the run
	Errors    map[string]int64 `json:"errors"`    // by class, of count
	// ErrorRatio is the errors over count (0 without completed requests).
	ErrorRatio float64     `json:"errorRatio"`
	LatencyMs  JSONLatency `json:"latencyMs"`
}

// JSONLatency holds both views of latency.
type JSONLatency struct {
	Corrected   JSONPercentiles `json:"corrected"`
	Uncorrected JSONPercentiles `json:"uncorrected"`
}

// JSONInterval is IntervalSummary in the JSON summary.
type JSONInterval struct {
	OffsetSeconds     float64                 `json:"offsetSeconds"`
	DurationSeconds   float64                 `json:"durationSeconds"`
	TargetRate        float64                 `json:"targetRate"`
	TargetVUs         int                     `json:"targetVUs"`
	InFlight          int64                   `json:"inFlight"`
	SchedulerLagP99Ms float64                 `json:"schedulerLagP99Ms"`
	Scenarios         map[string]JSONInterSum `json:"scenarios"`
}

// JSONInterSum is one name's part of a JSON interval.
type JSONInterSum struct {
	Count     int64            `json:"count"`
	Cancelled int64            `json:"cancelled"`
	Dropped   int64            `json:"dropped"`
	Errors    map[string]int64 `json:"errors"`
	LatencyMs JSONLatency      `json:"latencyMs"`
}

// JSONResult is the layout of `gameday load --output json`
// (docs/performance.md, "`gameday load -o json` schema"): camelCase keys,
// as run.json.
type JSONResult struct {
	SchemaVersion   string                `json:"schemaVersion"`
	Model           string                `json:"model"`
	Start           time.Time             `json:"start"`
	DurationSeconds float64               `json:"durationSeconds"`
	Interrupted     bool                  `json:"interrupted"`
	TargetRequests  int64                 `json:"targetRequests"`
	Total           JSONTotals            `json:"total"`
	Scenarios       map[string]JSONTotals `json:"scenarios"`
	SchedulerLagMs  JSONPercentiles       `json:"schedulerLagMs"`
	Intervals       []JSONInterval        `json:"intervals"`
}

func jsonP(p Percentiles) JSONPercentiles {
	f := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return JSONPercentiles{P50: f(p.P50), P90: f(p.P90), P99: f(p.P99), P999: f(p.P999), P9999: f(p.P9999), Max: f(p.Max), Mean: f(p.Mean)}
}

func jsonT(t *Totals) JSONTotals {
	j := JSONTotals{Count: t.Count, Cancelled: t.Cancelled, Dropped: t.Dropped, Rate: t.Rate, Errors: map[string]int64{},
		LatencyMs: JSONLatency{Corrected: jsonP(Summarize(t.Corrected)), Uncorrected: jsonP(Summarize(t.Uncorrected))}}
	for k, v := range t.Errors {
		j.Errors[k] = v
	}
	if t.Count > 0 {
		j.ErrorRatio = float64(t.ErrorCount()) / float64(t.Count)
	}
	return j
}

// JSON returns the JSON summary's structure.
func (r *Result) JSON() JSONResult {
	j := JSONResult{SchemaVersion: JSONSchema, Model: r.Model, Start: r.Start.UTC(), DurationSeconds: r.Duration.Seconds(),
		Interrupted: r.Interrupted, TargetRequests: r.TargetRequests, Total: jsonT(r.Total),
		Scenarios: map[string]JSONTotals{}, SchedulerLagMs: jsonP(Summarize(r.SchedulerLag)), Intervals: []JSONInterval{}}
	for _, n := range r.Names {
		j.Scenarios[n] = jsonT(r.ByName[n])
	}
	for _, iv := range r.Intervals {
		ji := JSONInterval{OffsetSeconds: iv.Start.Sub(r.Start).Seconds(), DurationSeconds: iv.Duration.Seconds(), TargetRate: iv.TargetRate,
			TargetVUs: iv.TargetVUs, InFlight: iv.InFlight, SchedulerLagP99Ms: float64(iv.Lag.P99) / float64(time.Millisecond),
			Scenarios: map[string]JSONInterSum{}}
		for n, s := range iv.ByName {
			errs := s.Errors
			if errs == nil {
				errs = map[string]int64{}
			}
			ji.Scenarios[n] = JSONInterSum{Count: s.Count, Cancelled: s.Cancelled, Dropped: s.Dropped, Errors: errs,
				LatencyMs: JSONLatency{Corrected: jsonP(s.Corrected), Uncorrected: jsonP(s.Uncorrected)}}
		}
		j.Intervals = append(j.Intervals, ji)
	}
	return j
}

// WriteJSON writes the JSON summary (schema JSONSchema), indented.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.JSON())
}

// hlogWriter writes the HdrHistogram interval log: per interval, one
// histogram per request name tagged with the name (corrected latency) and
// one tagged "<name>.uncorrected" (service time); values in nanoseconds,
// timestamps relative to the BaseTime line.
type hlogWriter struct {
	w *hdrhistogram.HistogramLogWriter
}

func newHlogWriter(w io.Writer) *hlogWriter {
	return &hlogWriter{w: hdrhistogram.NewHistogramLogWriter(w)}
}

func (h *hlogWriter) header(base time.Time) error {
	// The BaseTime line holds whole seconds: relative timestamps count from there.
	ms := base.UnixMilli() / 1000 * 1000
	h.w.SetBaseTime(ms)
	for _, f := range []func() error{
		func() error {
			return h.w.OutputComment("gameday load: latency in nanoseconds; Tag=<name> corrected, Tag=<name>.uncorrected service time")
		},
		h.w.OutputLogFormatVersion,
		func() error { return h.w.OutputStartTime(ms) },
		func() error { return h.w.OutputBaseTime(ms) },
		h.w.OutputLegend,
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func (h *hlogWriter) write(iv *Interval, base time.Time, names []string) error {
	start, end := iv.Start.UnixMilli(), iv.Start.Add(iv.Duration).UnixMilli()
	for _, n := range names {
		st := iv.ByName[n]
		for _, x := range []struct {
			h   *hdrhistogram.Histogram
			tag string
		}{{st.Corrected, n}, {st.Uncorrected, n + ".uncorrected"}} {
			x.h.SetStartTimeMs(start)
			x.h.SetEndTimeMs(end)
			x.h.SetTag(x.tag)
			err := h.w.OutputIntervalHistogram(x.h)
			x.h.SetTag("")
			if err != nil {
				return err
			}
		}
	}
	return nil
}
