// Package reports defines the run record of a game day (run.json) and renders
// it: a self-contained HTML report, JUnit XML, a Markdown summary and an HTML
// comparison of several runs. Every renderer is a pure function of the record,
// so `gameday report run.json` renders the same report again at any time.
package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion is the version of the run record this package writes and reads.
// Version 2 keeps every check (SLOs, steady state, recovery, integrity) in
// one list with a status (pass, fail, not-evaluated); Parse upgrades v1.
const SchemaVersion = "gameday.run/v2"

// schemaV1 is the previous version, which Parse still reads.
const schemaV1 = "gameday.run/v1"

// Verdict is the outcome of a run.
type Verdict string

// The verdicts of a run.
const (
	VerdictPass        Verdict = "pass"        // every check held
	VerdictFail        Verdict = "fail"        // an SLO, steady-state or integrity check failed
	VerdictAborted     Verdict = "aborted"     // an abort condition fired
	VerdictInterrupted Verdict = "interrupted" // stopped by a signal (faults reverted)
	VerdictError       Verdict = "error"       // the platform failed: deploy, inject or revert
	// VerdictRunning is the record of a run still going (written as it
	// goes); a record left so by a crashed harness is closed by
	// `gameday recover` as VerdictCrashed.
	VerdictRunning Verdict = "running"
	VerdictCrashed Verdict = "crashed" // the harness died; closed by `gameday recover`
)

// Run is the canonical record of one game day. Offsets (fields in seconds
// named *At, Start, End, T) are seconds since Start.
type Run struct {
	SchemaVersion string `json:"schemaVersion"`
	// ID names the run, e.g. "payment-slowdown-20261122T024700Z".
	ID string `json:"id,omitempty"`

	Scenario    Scenario         `json:"scenario"`
	Variant     string           `json:"variant,omitempty"`
	Policy      Policy           `json:"policy"`
	Seeds       map[string]int64 `json:"seeds,omitempty"`
	Environment Environment      `json:"environment"`

	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	DurationSeconds float64   `json:"durationSeconds"`

	// StoppedAt is the offset at which the load stopped short of its plan
	// (an interrupt or an abort); nil for a run that ran its course. No
	// check is judged on a window that ends after it.
	StoppedAt *float64 `json:"stoppedAt,omitempty"`

	Verdict Verdict `json:"verdict"`
	// Reason says in plain words why the verdict is what it is.
	Reason string `json:"reason,omitempty"`

	Phases []Phase `json:"phases,omitempty"`
	Faults []Fault `json:"faults,omitempty"`

	// IntervalSeconds is the length of one load interval (usually 1).
	IntervalSeconds float64         `json:"intervalSeconds"`
	Requests        []RequestSeries `json:"requests,omitempty"`
	Histograms      []Histogram     `json:"histograms,omitempty"`

	Checks    []Check    `json:"checks,omitempty"`
	Recovery  []Recovery `json:"recovery,omitempty"`
	Integrity *Integrity `json:"integrity,omitempty"`
	Abort     *Abort     `json:"abort,omitempty"`
	Shop      *Shop      `json:"shop,omitempty"` // the shop's metrics summarised (see shop.go)
}

// Scenario is the experiment file the run executed.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	File        string `json:"file,omitempty"`
	YAML        string `json:"yaml,omitempty"`
}

// Policy is the resilience policy set the system under test ran with.
type Policy struct {
	Name string `json:"name,omitempty"`
	Hash string `json:"hash,omitempty"`
	YAML string `json:"yaml,omitempty"`
}

// Environment describes the harness and the machine.
type Environment struct {
	GamedayVersion string `json:"gamedayVersion,omitempty"`
	GoVersion      string `json:"goVersion,omitempty"`
	OS             string `json:"os,omitempty"`
	Arch           string `json:"arch,omitempty"`
	CPUs           int    `json:"cpus,omitempty"`
	Hostname       string `json:"hostname,omitempty"`
	Runtime        string `json:"runtime,omitempty"` // the runtime's name (spec.runtime: local, docker, …)
	Image          string `json:"image,omitempty"`   // the shop's image ID (docker runtime)
}

// CurrentEnvironment describes this process and machine.
func CurrentEnvironment(gamedayVersion, runtimeName string) Environment {
	host, _ := os.Hostname()
	return Environment{
		GamedayVersion: gamedayVersion,
		GoVersion:      runtime.Version(),
		OS:             runtime.GOOS,
		Arch:           runtime.GOARCH,
		CPUs:           runtime.NumCPU(),
		Hostname:       host,
		Runtime:        runtimeName,
	}
}

// Phase is a named part of the timeline, e.g. "baseline", "slow-payment",
// "recovery". Start and End are offsets in seconds.
type Phase struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Fault is one fault of the timeline with its planned and actual times
// (offsets in seconds). A nil actual time means it did not happen.
type Fault struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Target        string            `json:"target,omitempty"` // a description, e.g. "payment (1 of 2 instances)"
	Params        map[string]string `json:"params,omitempty"`
	PlannedInject float64           `json:"plannedInject"`
	PlannedRevert float64           `json:"plannedRevert"`
	InjectedAt    *float64          `json:"injectedAt"`
	RevertedAt    *float64          `json:"revertedAt"`
	Error         string            `json:"error,omitempty"`
}

// Window returns the fault's actual window, falling back to the planned
// times for the parts that did not happen.
func (f Fault) Window() (start, end float64) {
	start, end = f.PlannedInject, f.PlannedRevert
	if f.InjectedAt != nil {
		start = *f.InjectedAt
	}
	if f.RevertedAt != nil {
		end = *f.RevertedAt
	}
	if end < start {
		end = start
	}
	return start, end
}

// Sec converts a duration to an offset in seconds, as a pointer for the
// optional actual times of a Fault.
func Sec(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// RequestSeries is the per-interval load statistics of one request name of
// the mix.
type RequestSeries struct {
	Name      string     `json:"name"`
	Intervals []Interval `json:"intervals"`
}

// Interval is the load statistics of one request name over one interval.
// Count includes the errors; latencies are in milliseconds.
type Interval struct {
	At     float64          `json:"at"`
	Count  int64            `json:"count"`
	Errors map[string]int64 `json:"errors,omitempty"` // by class, e.g. "5xx", "timeout", "refused"
	// Cancelled counts the requests cut short by the harness's own stop
	// (an interrupt, an abort, the end of the run): neither completed nor
	// the system's errors, and not in Count.
	Cancelled int64   `json:"cancelled,omitempty"`
	P50       float64 `json:"p50"`
	P90       float64 `json:"p90"`
	P99       float64 `json:"p99"`
	P999      float64 `json:"p999"`
	Max       float64 `json:"max"`
}

// ErrorCount is the sum of the errors of every class.
func (iv Interval) ErrorCount() int64 {
	var n int64
	for _, c := range iv.Errors {
		n += c
	}
	return n
}

// Histogram holds the latency HdrHistograms of one request name over one
// phase, in hdrhistogram-go's compressed V2 encoding (base64). Corrected is
// corrected for coordinated omission (recorded against the intended send
// time), Uncorrected is the service time as measured.
type Histogram struct {
	Phase       string `json:"phase"`
	Request     string `json:"request"`
	Unit        string `json:"unit"` // unit of the recorded values: "ns", "us" or "ms"
	Corrected   string `json:"corrected,omitempty"`
	Uncorrected string `json:"uncorrected,omitempty"`
}

// EncodeHistogram encodes h for a Histogram field (compressed, base64).
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// Decode returns the corrected and uncorrected histograms; either is nil
// when absent.
func (h Histogram) Decode() (corrected, uncorrected *hdrhistogram.Histogram, err error) {
	if h.Corrected != "" {
		if corrected, err = hdrhistogram.Decode([]byte(h.Corrected)); err != nil {
			return nil, nil, fmt.Errorf("decode corrected histogram %s/%s: %w", h.Phase, h.Request, err)
		}
	}
	if h.Uncorrected != "" {
		if uncorrected, err = hdrhistogram.Decode([]byte(h.Uncorrected)); err != nil {
			return nil, nil, fmt.Errorf("decode uncorrected histogram %s/%s: %w", h.Phase, h.Request, err)
		}
	}
	return corrected, uncorrected, nil
}

// msPerUnit converts a Histogram unit to milliseconds.
func msPerUnit(unit string) float64 {
	switch unit {
	case "ns":
		return 1e-6
	case "ms":
		return 1
	default: // "us"
		return 1e-3
	}
}

// Check is one check of the run: an SLO, a steady-state check, a recovery
// objective or the integrity check. Run.Checks is the one list of them that
// every view (terminal, HTML, JUnit, Markdown) shows, in the same order, with
// the same names and statuses.
type Check struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // KindSLO, KindSteadyState, KindRecovery or KindIntegrity
	Query string `json:"query,omitempty"`
	// Bound is the expectation as written, e.g. "< 1.2", ">= 99.5%" or
	// "< 1.5 * baseline".
	Bound string `json:"bound"`
	// Threshold is the bound's absolute value once percentages and
	// baselines are resolved (drawn on the SLI chart); when nil the report
	// reads it from Bound if it can.
	Threshold *float64 `json:"threshold,omitempty"`
	// Baseline is the value a baseline-relative bound was computed from
	// (the query's mean over the baseline window).
	Baseline *float64 `json:"baseline,omitempty"`
	// Window says when the check applies, e.g. "during slow-payment";
	// WindowStart and WindowEnd are its offsets in seconds.
	Window      string  `json:"window,omitempty"`
	WindowStart float64 `json:"windowStart"`
	WindowEnd   float64 `json:"windowEnd"`
	// Status is pass, fail or not-evaluated (Reason says why).
	Status Status `json:"status"`
	// Observed is the value the verdict rests on, taken as ObservedAs says:
	// at the window's end, the worst over the window, a recovery time, a
	// count. Nil: no data (or not measured).
	Observed   *float64 `json:"observed"`
	ObservedAs string   `json:"observedAs,omitempty"`
	// FirstBreach is the first step at which the bound was broken (a failed
	// continuous check): T is an offset in seconds.
	FirstBreach *Point `json:"firstBreach,omitempty"`
	// Unit is the unit of Observed, Threshold, Baseline and Series: "s",
	// "%" (a ratio shown as a percentage), "ratio", or "" (a plain number).
	Unit    string  `json:"unit,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Samples int     `json:"samples"`
	Series  []Point `json:"series,omitempty"`
}

// Point is one sample of an SLI: T is an offset in seconds.
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// Recovery is how long an SLI took to return to its bound after a fault was
// reverted. A nil Seconds means it never recovered within the run (or was
// not measured). It is the detail comparisons read; the verdict is the
// check of kind recovery of the same SLI in Run.Checks.
type Recovery struct {
	Fault   string   `json:"fault"`
	SLI     string   `json:"sli"`
	Seconds *float64 `json:"seconds"`
	Bound   string   `json:"bound,omitempty"` // e.g. "< 10s"
}

// Integrity is the detail of the check, after the faults, that nothing
// acknowledged was lost (its verdict is the check of kind integrity).
type Integrity struct {
	Checked  bool             `json:"checked"`
	OK       bool             `json:"ok"`
	Counts   map[string]int64 `json:"counts,omitempty"` // e.g. acknowledged, found, lost, duplicated
	Problems []string         `json:"problems,omitempty"`
}

// Abort records the abort condition that stopped the run.
type Abort struct {
	Condition string  `json:"condition"` // e.g. "gameday:error:ratio10s > 0.5 for 10s"
	FiredAt   float64 `json:"firedAt"`
	Observed  float64 `json:"observed"`
	Reason    string  `json:"reason,omitempty"`
}

// ErrUnknownSchema is returned by Load for a record of another schema version.
var ErrUnknownSchema = errors.New("unknown run record schema")

// Load reads a run record and checks its schema version.
func Load(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load run record: %w", err)
	}
	return Parse(b, path)
}

// Parse decodes a run record; name is used in errors.
func Parse(b []byte, name string) (*Run, error) {
	var head struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("load run record %s: not JSON: %w", name, err)
	}
	if head.SchemaVersion == nil {
		return nil, fmt.Errorf("load run record %s: no schemaVersion field (want %q): %w", name, SchemaVersion, ErrUnknownSchema)
	}
	if v := *head.SchemaVersion; v != SchemaVersion && v != schemaV1 {
		return nil, fmt.Errorf("load run record %s: schemaVersion %q, this gameday reads %q and %q: %w", name, v, SchemaVersion, schemaV1, ErrUnknownSchema)
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("load run record %s: %w", name, err)
	}
	if r.SchemaVersion == schemaV1 {
		if err := r.upgradeV1(b); err != nil {
			return nil, fmt.Errorf("load run record %s: %w", name, err)
		}
	}
	return &r, nil
}

// upgradeV1 converts a v1 record read into r: checks had pass and skipped
// flags, and recovery and integrity lived outside the list of checks.
func (r *Run) upgradeV1(b []byte) error {
	var v1 struct {
		Checks []struct {
			Pass    bool `json:"pass"`
			Skipped bool `json:"skipped"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &v1); err != nil {
		return fmt.Errorf("upgrade v1 record: %w", err)
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		switch {
		case i < len(v1.Checks) && v1.Checks[i].Skipped:
			c.Status = StatusNotEvaluated
		case i < len(v1.Checks) && v1.Checks[i].Pass:
			c.Status = StatusPass
		default:
			c.Status = StatusFail
		}
		if c.Unit == "" {
			c.Unit = InferUnit(c.Query, c.Bound)
		}
	}
	var v1rec struct {
		Recovery []struct {
			Pass bool `json:"pass"`
		} `json:"recovery"`
	}
	_ = json.Unmarshal(b, &v1rec)
	for i, rc := range r.Recovery {
		st := StatusFail
		if i < len(v1rec.Recovery) && v1rec.Recovery[i].Pass {
			st = StatusPass
		}
		r.Checks = append(r.Checks, RecoveryCheck(rc, st, ""))
	}
	if in := r.Integrity; in != nil {
		r.Checks = append(r.Checks, IntegrityCheck(in, ""))
	}
	// v1 counted requests cut short by the harness as errors of class
	// "canceled", inside Count.
	for i := range r.Requests {
		for j := range r.Requests[i].Intervals {
			iv := &r.Requests[i].Intervals[j]
			if n := iv.Errors["canceled"]; n > 0 {
				delete(iv.Errors, "canceled")
				iv.Cancelled += n
				iv.Count -= n
			}
		}
	}
	r.SchemaVersion = SchemaVersion
	return nil
}

// RecoveryCheck is the check of one recovery objective.
func RecoveryCheck(rc Recovery, st Status, reason string) Check {
	c := Check{
		Name: rc.SLI, Kind: KindRecovery, Bound: rc.Bound, Window: "after " + rc.Fault,
		Status: st, ObservedAs: ObservedRecovery, Unit: UnitSeconds, Reason: reason,
	}
	if rc.Seconds != nil {
		v := *rc.Seconds
		c.Observed = &v
	}
	return c
}

// IntegrityCheck is the integrity check's entry in the list of checks:
// Observed is the number of problems found.
func IntegrityCheck(in *Integrity, reason string) Check {
	c := Check{
		Name: IntegrityCheckName, Kind: KindIntegrity, Bound: "no problems", Window: "after the run",
		ObservedAs: ObservedCount, Unit: "problems", Reason: reason,
	}
	switch {
	case in == nil || !in.Checked:
		c.Status = StatusNotEvaluated
		if c.Reason == "" {
			c.Reason = "integrity was not checked"
		}
		return c
	case in.OK:
		c.Status = StatusPass
	default:
		c.Status = StatusFail
	}
	n := float64(len(in.Problems))
	c.Observed = &n
	if c.Reason == "" {
		var parts []string
		for _, k := range sortedKeys(in.Counts) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, in.Counts[k]))
		}
		c.Reason = strings.Join(parts, " ")
		if len(in.Problems) > 0 {
			c.Reason = strings.Join(in.Problems, "; ") + " (" + c.Reason + ")"
		}
	}
	return c
}

// IntegrityCheckName is the name of the integrity check in every view.
const IntegrityCheckName = "integrity: nothing acknowledged lost, nothing charged twice"

// Save writes the record as indented JSON, atomically (temporary file and
// rename), setting SchemaVersion if it is empty. It sanitizes the record
// first (see Sanitize), since JSON has no NaN.
func (r *Run) Save(path string) error {
	if r.SchemaVersion == "" {
		r.SchemaVersion = SchemaVersion
	}
	r.Sanitize()
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("save run record: %w", err)
	}
	b = append(b, '\n')
	return writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// NewHistogram encodes the corrected and uncorrected histograms of one
// request name over one phase; either may be nil. unit is the unit of the
// recorded values ("ns", "us" or "ms").
func NewHistogram(phase, request, unit string, corrected, uncorrected *hdrhistogram.Histogram) (Histogram, error) {
	h := Histogram{Phase: phase, Request: request, Unit: unit}
	var err error
	if corrected != nil {
		if h.Corrected, err = EncodeHistogram(corrected); err != nil {
			return Histogram{}, fmt.Errorf("histogram %s/%s: %w", phase, request, err)
		}
	}
	if uncorrected != nil {
		if h.Uncorrected, err = EncodeHistogram(uncorrected); err != nil {
			return Histogram{}, fmt.Errorf("histogram %s/%s: %w", phase, request, err)
		}
	}
	return h, nil
}

// IntervalFromHistogram fills an Interval from the latency histogram of one
// request name over one interval starting at offset at (seconds). The
// histogram records every completed request, errors included, in unit ("ns",
// "us" or "ms"); the caller sets Errors.
func IntervalFromHistogram(at float64, h *hdrhistogram.Histogram, unit string) Interval {
	iv := Interval{At: at}
	if h == nil || h.TotalCount() == 0 {
		return iv
	}
	k := msPerUnit(unit)
	v := h.ValueAtPercentiles([]float64{50, 90, 99, 99.9})
	iv.Count = h.TotalCount()
	iv.P50, iv.P90, iv.P99, iv.P999 = float64(v[50])*k, float64(v[90])*k, float64(v[99])*k, float64(v[99.9])*k
	iv.Max = float64(h.Max()) * k
	return iv
}

// Sanitize replaces the values JSON cannot hold (NaN, ±Inf), which PromQL
// produces for windows without traffic: an observed value or recovery time
// becomes nil ("no data"), an SLI sample is dropped, any other number
// becomes 0.
func (r *Run) Sanitize() {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	fix := func(v *float64) {
		if bad(*v) {
			*v = 0
		}
	}
	nilIfBad := func(p **float64) {
		if *p != nil && bad(**p) {
			*p = nil
		}
	}
	fix(&r.DurationSeconds)
	nilIfBad(&r.StoppedAt)
	fix(&r.IntervalSeconds)
	for i := range r.Phases {
		fix(&r.Phases[i].Start)
		fix(&r.Phases[i].End)
	}
	for i := range r.Faults {
		f := &r.Faults[i]
		fix(&f.PlannedInject)
		fix(&f.PlannedRevert)
		nilIfBad(&f.InjectedAt)
		nilIfBad(&f.RevertedAt)
	}
	for i := range r.Requests {
		for j := range r.Requests[i].Intervals {
			iv := &r.Requests[i].Intervals[j]
			for _, v := range []*float64{&iv.At, &iv.P50, &iv.P90, &iv.P99, &iv.P999, &iv.Max} {
				fix(v)
			}
		}
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		nilIfBad(&c.Observed)
		nilIfBad(&c.Threshold)
		nilIfBad(&c.Baseline)
		if c.FirstBreach != nil && (bad(c.FirstBreach.T) || bad(c.FirstBreach.V)) {
			c.FirstBreach = nil
		}
		fix(&c.WindowStart)
		fix(&c.WindowEnd)
		kept := c.Series[:0]
		for _, p := range c.Series {
			if !bad(p.T) && !bad(p.V) {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		c.Series = kept
	}
	for i := range r.Recovery {
		nilIfBad(&r.Recovery[i].Seconds)
	}
	if r.Abort != nil {
		fix(&r.Abort.FiredAt)
		fix(&r.Abort.Observed)
	}
}

// Ms converts a duration to milliseconds, the unit of Interval latencies.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
