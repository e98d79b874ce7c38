// Validation of an experiment: one pass over the decoded file that reports
// every problem with its position (the sections are in validate_*.go).

package experiments

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/gameday/gameday/platform"
)

// Limits that keep a plan finite and a game day sane.
const (
	MaxTotalDuration  = 24 * time.Hour
	MaxOccurrences    = 1000 // per fault, after expanding every/times
	MaxRate           = 1e6  // requests per second
	MaxVUs            = 100000
	MaxReplicas       = 10
	minScrapeInterval = 100 * time.Millisecond
	maxScrapeInterval = time.Minute
	pickFirst         = "first"
	pickRandom        = "random"
)

var (
	nameRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	mixNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	headerRE    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	instancesRE = regexp.MustCompile(`^(all|[0-9]+|[0-9]+(\.[0-9]+)?%)$`)
	promParser  = parser.NewParser(parser.Options{})
	// policyLineRE strips line numbers that refer to the merged policy, not
	// to the experiment file.
	policyLineRE = regexp.MustCompile(`line \d+: `)
)

const boundHelp = "write an operator (<, <=, >, >=, ==, !=) and a number, a percentage, a duration or N * baseline (for example '< 1.2', '>= 99.5%', '< 800ms', '< 1.5 * baseline')"

type validator struct {
	*errs
	cat   catalog
	e     *Experiment
	lines []string
	total time.Duration
	// inline holds the spec.variants entries that validated: only those
	// are resolved (the others have been reported).
	inline map[string]InlineVariant
}

func (v *validator) validate() {
	e := v.e
	if !e.Src.Has("apiVersion") {
		v.add(e.Src.Pos, "apiVersion is missing; write apiVersion: %s", APIVersion)
	} else if e.APIVersion != APIVersion {
		v.add(e.Src.Value("apiVersion"), "apiVersion %q is not supported; write apiVersion: %s", e.APIVersion, APIVersion)
	}
	if !e.Src.Has("kind") {
		v.add(e.Src.Pos, "kind is missing; write kind: %s", Kind)
	} else if e.Kind != Kind {
		v.add(e.Src.Value("kind"), "kind %q is not supported; write kind: %s", e.Kind, Kind)
	}
	v.metadata()
	if !e.Src.Has("spec") {
		v.add(e.Src.Pos, "spec is missing; an experiment needs at least spec.load")
		return
	}
	s := &e.Spec
	v.runtime()
	v.variants()
	v.sut()
	v.load()
	if s.Src.Has("scrapeInterval") {
		if si := s.ScrapeInterval.D(); si < minScrapeInterval || si > maxScrapeInterval {
			v.add(s.Src.Value("scrapeInterval"), "scrapeInterval %s is out of range (allowed: %s to %s)", s.ScrapeInterval, Duration(minScrapeInterval), Duration(maxScrapeInterval))
		}
	} else {
		s.ScrapeInterval = DefaultScrapeInterval
	}
	v.recordingRules()
	v.steadyState()
	occ := v.faults()
	v.slos(occ)
	v.aborts()
}

func (v *validator) metadata() {
	m := &v.e.Metadata
	if !v.e.Src.Has("metadata") || !m.Src.Has("name") {
		v.add(m.Src.Pos, "metadata.name is missing; name the experiment (lower-case letters, digits and -)")
	} else if !nameRE.MatchString(m.Name) || len(m.Name) > 63 {
		v.add(m.Src.Value("name"), "metadata.name %q must be lower-case letters, digits and - (at most 63, for example payment-slowdown)", m.Name)
	}
	for _, k := range sortedKeys(m.Labels) {
		if !model.LabelName(k).IsValidLegacy() {
			kp, _ := m.Src.mapKey("labels", k)
			v.add(kp, "metadata.labels: %q is not a label name (letters, digits and _, not starting with a digit)", k)
		}
	}
}

func (v *validator) runtime() {
	s := &v.e.Spec
	allowed := platform.Names()
	switch {
	case !s.Src.Has("runtime"):
		s.Runtime = DefaultRuntime
	case len(allowed) == 0:
		v.add(s.Src.Value("runtime"), "spec.runtime %q: this program registers no runtimes (a Go program that validates experiments imports github.com/gameday/gameday/platform/runtimes)", s.Runtime)
	case !slices.Contains(allowed, s.Runtime):
		v.add(s.Src.Value("runtime"), "spec.runtime %q is not supported (allowed: %s)%s", s.Runtime, strings.Join(allowed, ", "), suggest(s.Runtime, allowed))
	}
}

func (v *validator) uniqueName(src Source, what, name string, seen map[string]bool, required bool) {
	switch {
	case !src.Has("name") || strings.TrimSpace(name) == "":
		if required {
			v.add(src.Pos, "%s: name is missing", what)
		}
		return
	case seen[name]:
		v.add(src.Value("name"), "%s: name %q is used twice", what, name)
	}
	seen[name] = true
}
