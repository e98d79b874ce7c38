// Package experiments turns an experiment file (YAML) into a validated
// Experiment and its Plan: the timeline of load stages, phases, fault
// occurrences and SLO windows that the runner executes. It also holds the
// built-in scenario library (library/*.yaml, embedded in the binary).
//
// Errors name file:line:col and say what is allowed; every problem in a file
// is reported at once (ErrorList).
package experiments

import (
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut/policy"
)

// APIVersion and Kind are the only values accepted in the file's header.
const (
	APIVersion = "gameday/v1"
	Kind       = "Experiment"
)

// Experiment is one parsed and validated experiment file. Defaults are
// filled in by Parse (see docs/experiments.md).
type Experiment struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Kind       string   `yaml:"kind" json:"kind"`
	Metadata   Metadata `yaml:"metadata" json:"metadata"`
	Spec       Spec     `yaml:"spec" json:"spec"`

	// File is the name the experiment was parsed from (for messages).
	File string `yaml:"-" json:"file,omitempty"`
	Src  Source `yaml:"-" json:"-"`
}

// Metadata names and describes the experiment.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description" json:"description,omitempty"`
	Labels      map[string]string `yaml:"labels" json:"labels,omitempty"`
	Src         Source            `yaml:"-" json:"-"`
}

// Spec is what the game day does.
type Spec struct {
	Runtime string `yaml:"runtime" json:"runtime"`
	SUT     SUT    `yaml:"sut" json:"sut"`
	// Variants are inline variants: name → a shop variant with changes,
	// usable wherever a variant is named (spec.sut.variant, run --variant,
	// compare --variants). See ResolveVariant.
	Variants       map[string]InlineVariant `yaml:"variants" json:"variants,omitempty"`
	Load           Workload                 `yaml:"load" json:"load"`
	SteadyState    []Check                  `yaml:"steadyState" json:"steadyState,omitempty"`
	Faults         []Fault                  `yaml:"faults" json:"faults,omitempty"`
	SLOs           []SLO                    `yaml:"slos" json:"slos,omitempty"`
	AbortWhen      []Abort                  `yaml:"abortWhen" json:"abortWhen,omitempty"`
	RecordingRules []RecordingRule          `yaml:"recordingRules" json:"recordingRules,omitempty"`
	Integrity      bool                     `yaml:"integrity" json:"integrity"`
	ScrapeInterval Duration                 `yaml:"scrapeInterval" json:"scrapeInterval"`
	Src            Source                   `yaml:"-" json:"-"`
}

// SUT selects the shop's variant and changes to it.
type SUT struct {
	Variant  string         `yaml:"variant" json:"variant"`
	Replicas map[string]int `yaml:"replicas" json:"replicas,omitempty"`
	// Overrides patches the variant's policy (services and call edges);
	// validated by applying it to the variant.
	Overrides *policy.Patch `yaml:"overrides" json:"overrides,omitempty"`
	Src       Source        `yaml:"-" json:"-"`
}

// InlineVariant is one entry of spec.variants: a named variant of the shop
// (Base) with replica counts and a policy patch applied, as in spec.sut.
type InlineVariant struct {
	Base      string         `yaml:"base" json:"base"`
	Replicas  map[string]int `yaml:"replicas" json:"replicas,omitempty"`
	Overrides *policy.Patch  `yaml:"overrides" json:"overrides,omitempty"`
	Src       Source         `yaml:"-" json:"-"`
}

// Workload describes the load: its model, stages and request mix.
type Workload struct {
	Model       string     `yaml:"model" json:"model"` // open | closed
	Stages      []Stage    `yaml:"stages" json:"stages"`
	Mix         []MixEntry `yaml:"mix" json:"mix"`
	Connections int        `yaml:"connections" json:"connections,omitempty"`
	Timeout     Duration   `yaml:"timeout" json:"timeout,omitempty"`
	MaxInFlight int        `yaml:"maxInFlight" json:"maxInFlight,omitempty"`
	ThinkTime   Duration   `yaml:"thinkTime" json:"thinkTime,omitempty"`
	Seed        int64      `yaml:"seed" json:"seed"`
	Src         Source     `yaml:"-" json:"-"`
}

// Load models.
const (
	ModelOpen   = "open"
	ModelClosed = "closed"
)

// Stage is a period of constant load: an arrival rate (open model) or a
// number of virtual users (closed model).
type Stage struct {
	Duration Duration `yaml:"duration" json:"duration"`
	Rate     float64  `yaml:"rate" json:"rate,omitempty"` // requests per second (open)
	VUs      int      `yaml:"vus" json:"vus,omitempty"`   // virtual users (closed)
	Src      Source   `yaml:"-" json:"-"`
}

// MixEntry is one kind of request, chosen with probability weight/Σweights.
// Its name is the `scenario` label of the client metrics. The path, the
// header values and the body are loadgen templates ({{seq}}, {{uuid}},
// {{randInt A B}}, {{pick a b c}}).
type MixEntry struct {
	Name    string            `yaml:"name" json:"name"`
	Weight  int               `yaml:"weight" json:"weight"`
	Request Request           `yaml:"request" json:"request"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Body    string            `yaml:"body" json:"body,omitempty"`
	Src     Source            `yaml:"-" json:"-"`
}

// Check is one steady-state condition: checked before the first fault and
// after the last.
type Check struct {
	Name       string   `yaml:"name" json:"name"`
	PromQL     string   `yaml:"promql" json:"promql"`
	Expect     Bound    `yaml:"expect" json:"expect"`
	For        Duration `yaml:"for" json:"for,omitempty"`
	MinSamples int      `yaml:"minSamples" json:"minSamples,omitempty"`
	Src        Source   `yaml:"-" json:"-"`
}

// Fault is one fault on the timeline, possibly repeated (Every, Times).
type Fault struct {
	Name     string            `yaml:"name" json:"name"`
	Type     string            `yaml:"type" json:"type"`
	Target   Target            `yaml:"target" json:"target"`
	At       Duration          `yaml:"at" json:"at"`
	Duration Duration          `yaml:"duration" json:"duration"`
	Every    Duration          `yaml:"every" json:"every,omitempty"`
	Times    int               `yaml:"times" json:"times,omitempty"`
	Params   map[string]string `yaml:"params" json:"params,omitempty"`
	Src      Source            `yaml:"-" json:"-"`
}

// Target selects what a fault hits (see faults.Target).
type Target struct {
	Service   string     `yaml:"service" json:"service,omitempty"`
	From      string     `yaml:"from" json:"from,omitempty"`
	Instances string     `yaml:"instances" json:"instances,omitempty"`
	Index     *int       `yaml:"index" json:"index,omitempty"`
	Pick      string     `yaml:"pick" json:"pick,omitempty"`
	Groups    [][]string `yaml:"groups" json:"groups,omitempty"`
	Src       Source     `yaml:"-" json:"-"`
}

// SLO modes.
const (
	ModeEnd        = "end"        // evaluated once at the window's end, over the window
	ModeContinuous = "continuous" // evaluated at every step inside the window
)

// SLO is an objective checked against Prometheus over a window of the run:
// before the first fault (Before), during a fault (During), after a fault
// (After) or the whole run (none set). With RecoveryTime it is a recovery
// objective instead: after the fault ends, PromQL must satisfy Expect for
// for Consecutive steps in a row, within the RecoveryTime bound.
type SLO struct {
	Name         string         `yaml:"name" json:"name"`
	PromQL       string         `yaml:"promql" json:"promql"`
	Expect       Bound          `yaml:"expect" json:"expect"`
	During       string         `yaml:"during" json:"during,omitempty"`
	After        string         `yaml:"after" json:"after,omitempty"`
	Before       bool           `yaml:"before" json:"before,omitempty"`
	Mode         string         `yaml:"mode" json:"mode"`
	For          Duration       `yaml:"for" json:"for,omitempty"`
	MinSamples   int            `yaml:"minSamples" json:"minSamples,omitempty"`
	Step         Duration       `yaml:"step" json:"step"`
	RecoveryTime *DurationBound `yaml:"recoveryTime" json:"recoveryTime,omitempty"`
	Consecutive  int            `yaml:"consecutive" json:"consecutive,omitempty"`
	Src          Source         `yaml:"-" json:"-"`
}

// IsRecovery reports whether the SLO is a recovery-time objective.
func (s SLO) IsRecovery() bool { return s.RecoveryTime != nil }

// Abort is a stop condition evaluated continuously: when Expect holds for
// For, every fault is reverted, load stops and the run is aborted.
type Abort struct {
	Name   string   `yaml:"name" json:"name"`
	PromQL string   `yaml:"promql" json:"promql"`
	Expect Bound    `yaml:"expect" json:"expect"`
	For    Duration `yaml:"for" json:"for,omitempty"`
	Src    Source   `yaml:"-" json:"-"`
}

// RecordingRule is an extra Prometheus recording rule for the run.
type RecordingRule struct {
	Record string `yaml:"record" json:"record"`
	Expr   string `yaml:"expr" json:"expr"`
	Src    Source `yaml:"-" json:"-"`
}

// Defaults filled in by Parse.
const (
	DefaultRuntime        = platform.Default
	DefaultVariant        = "resilient"
	DefaultScrapeInterval = Duration(1e9)
	DefaultConsecutive    = 5 // steps in a row within bound that count as recovered
	// DefaultRecoveryPromQL and DefaultRecoveryExpect are used by a
	// recoveryTime SLO that gives no promql/expect: the client's error ratio
	// over a short window (the default gameday:error:* classification), so
	// that the measured recovery time is not dominated by a 10 s window.
	// The loader widens [3s] to three scrape intervals when they are longer
	// than 1s (DefaultRecoveryQuery).
	DefaultRecoveryPromQL = `(sum(rate(gameday_client_requests_total{code=~"5..|[^0-9].*",code!="canceled"}[3s])) or 0 * sum(rate(gameday_client_requests_total{code!="canceled"}[3s]))) / sum(rate(gameday_client_requests_total{code!="canceled"}[3s]))`
	DefaultRecoveryExpect = "< 0.01"
)

// DefaultRecoveryQuery is DefaultRecoveryPromQL for a scrape interval: its
// window is three scrape intervals, at least 3s.
func DefaultRecoveryQuery(scrape time.Duration) string {
	w := max(3*scrape, 3*time.Second)
	return strings.ReplaceAll(DefaultRecoveryPromQL, "[3s]", "["+model.Duration(w).String()+"]")
}
