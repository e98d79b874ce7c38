package experiments

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

// Limits that keep a plan finite and a game day sane.
const (
	MaxTotalDuration   = 24 * time.Hour
	MaxOccurrences     = 1000 // per fault, after expanding every/times
	MaxRate            = 1e6  // requests per second
	MaxVUs             = 100000
	MaxReplicas        = 10
	minScrapeInterval  = 100 * time.Millisecond
	maxScrapeInterval  = time.Minute
	runtimeLocal       = "local"
	runtimeDocker      = "docker"
	pickFirst          = "first"
	pickRandom         = "random"
	faultTypeKill      = "kill"
	faultTypePartition = "partition"
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
	allowed := []string{runtimeLocal, runtimeDocker}
	switch {
	case !s.Src.Has("runtime"):
		s.Runtime = DefaultRuntime
	case !slices.Contains(allowed, s.Runtime):
		v.add(s.Src.Value("runtime"), "spec.runtime %q is not supported (allowed: %s)%s", s.Runtime, strings.Join(allowed, ", "), suggest(s.Runtime, allowed))
	}
}

func (v *validator) knownService(p Pos, what, name string, allowClient bool) bool {
	allowed := v.cat.services
	if allowClient {
		allowed = append(append([]string(nil), allowed...), ClientService)
	}
	if slices.Contains(allowed, name) {
		return true
	}
	v.add(p, "%s: unknown service %q (allowed: %s)%s", what, name, strings.Join(allowed, ", "), suggest(name, allowed))
	return false
}

func (v *validator) sut() {
	u := &v.e.Spec.SUT
	_, inline := v.e.Spec.Variants[u.Variant]
	if !u.Src.Has("variant") {
		u.Variant = DefaultVariant
	} else if !slices.Contains(v.cat.variants, u.Variant) && !inline {
		allowed := append([]string(nil), v.cat.variants...)
		for _, name := range sortedKeys(v.e.Spec.Variants) {
			if !slices.Contains(allowed, name) {
				allowed = append(allowed, name)
			}
		}
		v.add(u.Src.Value("variant"), "spec.sut.variant %q is unknown (allowed: %s)%s", u.Variant, strings.Join(allowed, ", "), suggest(u.Variant, allowed))
	}
	for _, svc := range sortedKeys(u.Replicas) {
		n := u.Replicas[svc]
		kp, vp := u.Src.mapKey("replicas", svc)
		if v.knownService(kp, "spec.sut.replicas", svc, false) && (n < 1 || n > MaxReplicas) {
			v.add(vp, "spec.sut.replicas.%s: %d is out of range (allowed: 1 to %d)", svc, n, MaxReplicas)
		}
	}
	if u.Src.Has("overrides") && u.Overrides != nil {
		v.overrides(u)
	}
}

// patchNames checks the service and edge names of a patch written at p
// under what (spec.sut.overrides, spec.variants.NAME.overrides).
func (v *validator) patchNames(p Pos, what string, patch *policy.Patch) bool {
	ok := true
	for _, svc := range sortedKeys(patch.Services) {
		ok = v.knownService(p, what+".services", svc, false) && ok
	}
	for _, edge := range sortedKeys(patch.Edges) {
		from, to, found := strings.Cut(edge, "->")
		if !found {
			v.add(p, "%s.edges: %q is not an edge; write caller->callee (for example orders->payment)", what, edge)
			ok = false
			continue
		}
		ok = v.knownService(p, what+".edges "+edge, from, false) && ok
		ok = v.knownService(p, what+".edges "+edge, to, false) && ok
	}
	return ok
}

// overrides checks the patch's service and edge names, then applies it to
// the variant (named or inline), which validates the resulting policy
// strictly.
func (v *validator) overrides(u *SUT) {
	p := u.Src.Value("overrides")
	ok := v.patchNames(p, "spec.sut.overrides", u.Overrides)
	_, inline := v.inline[u.Variant]
	if !ok || v.cat.variant == nil || (!slices.Contains(v.cat.variants, u.Variant) && !inline) {
		return
	}
	base, err := resolveVariant(u.Variant, v.inline, v.cat.variants, v.cat.variant)
	if err != nil {
		v.add(p, "spec.sut: %v", err)
		return
	}
	if _, err := base.Apply(u.Replicas, u.Overrides); err != nil {
		msg := policyLineRE.ReplaceAllString(err.Error(), "")
		v.add(p, "spec.sut.overrides do not apply to variant %s: %s", u.Variant, msg)
	}
}

// variants checks spec.variants: names that are valid and do not shadow a
// variant of the shop, a base that is a variant of the shop, replica counts
// in range and a patch that applies to the base.
func (v *validator) variants() {
	s := &v.e.Spec
	v.inline = map[string]InlineVariant{}
	for _, name := range sortedKeys(s.Variants) {
		iv := s.Variants[name]
		what := "spec.variants." + name
		kp, _ := s.Src.mapKey("variants", name)
		ok := true
		switch {
		case !nameRE.MatchString(name) || len(name) > 63:
			v.add(kp, "spec.variants: %q must be lower-case letters, digits and - (at most 63, for example short-timeouts)", name)
			ok = false
		case slices.Contains(v.cat.variants, name):
			v.add(kp, "spec.variants: %q is already a variant of the shop; give the inline variant another name (the shop's: %s)", name, strings.Join(v.cat.variants, ", "))
			ok = false
		}
		switch {
		case !iv.Src.Has("base"):
			v.add(iv.Src.Pos, "%s.base is missing; name the shop variant it changes (allowed: %s)", what, strings.Join(v.cat.variants, ", "))
			ok = false
		case !slices.Contains(v.cat.variants, iv.Base):
			v.add(iv.Src.Value("base"), "%s.base %q is not a variant of the shop (allowed: %s)%s", what, iv.Base, strings.Join(v.cat.variants, ", "), suggest(iv.Base, v.cat.variants))
			ok = false
		}
		for _, svc := range sortedKeys(iv.Replicas) {
			n := iv.Replicas[svc]
			rkp, rvp := iv.Src.mapKey("replicas", svc)
			if !v.knownService(rkp, what+".replicas", svc, false) {
				ok = false
			} else if n < 1 || n > MaxReplicas {
				v.add(rvp, "%s.replicas.%s: %d is out of range (allowed: 1 to %d)", what, svc, n, MaxReplicas)
				ok = false
			}
		}
		if iv.Overrides != nil && !v.patchNames(iv.Src.Value("overrides"), what+".overrides", iv.Overrides) {
			ok = false
		}
		if !ok || v.cat.variant == nil {
			continue
		}
		base, err := v.cat.variant(iv.Base)
		if err != nil {
			v.add(iv.Src.Value("base"), "%s: %v", what, err)
			continue
		}
		if _, err := base.Apply(iv.Replicas, iv.Overrides); err != nil {
			msg := policyLineRE.ReplaceAllString(err.Error(), "")
			v.add(iv.Src.Value("overrides"), "%s.overrides do not apply to variant %s: %s", what, iv.Base, msg)
			continue
		}
		v.inline[name] = iv
	}
}

func (v *validator) load() {
	s := &v.e.Spec
	l := &s.Load
	if !s.Src.Has("load") {
		v.add(s.Src.Pos, "spec.load is missing; a game day needs load (model, stages, mix)")
		return
	}
	models := []string{ModelOpen, ModelClosed}
	switch {
	case !l.Src.Has("model"):
		l.Model = ModelOpen
	case !slices.Contains(models, l.Model):
		v.add(l.Src.Value("model"), "spec.load.model %q is unknown (allowed: open (arrival rate), closed (virtual users))%s", l.Model, suggest(l.Model, models))
	}
	if len(l.Stages) == 0 {
		v.add(l.Src.Value("stages"), "spec.load.stages: at least one stage is needed, for example {duration: 60s, rate: 50}")
	}
	var total time.Duration
	for i := range l.Stages {
		st := &l.Stages[i]
		what := fmt.Sprintf("spec.load.stages[%d]", i)
		if !st.Src.Has("duration") || st.Duration <= 0 {
			v.add(st.Src.Value("duration"), "%s: duration must be more than 0 (for example 30s)", what)
		}
		total += st.Duration.D()
		switch l.Model {
		case ModelOpen:
			if st.Src.Has("vus") {
				v.add(st.Src.Key("vus"), "%s: vus is for the closed model; the open model takes rate (requests per second)", what)
			}
			if !st.Src.Has("rate") {
				v.add(st.Src.Pos, "%s: rate is missing; the open model needs rate (requests per second)", what)
			} else if st.Rate <= 0 || st.Rate > MaxRate {
				v.add(st.Src.Value("rate"), "%s: rate %v is out of range (allowed: more than 0, at most %g per second)", what, st.Rate, MaxRate)
			}
		case ModelClosed:
			if st.Src.Has("rate") {
				v.add(st.Src.Key("rate"), "%s: rate is for the open model; the closed model takes vus (virtual users)", what)
			}
			if !st.Src.Has("vus") {
				v.add(st.Src.Pos, "%s: vus is missing; the closed model needs vus (virtual users)", what)
			} else if st.VUs < 1 || st.VUs > MaxVUs {
				v.add(st.Src.Value("vus"), "%s: vus %d is out of range (allowed: 1 to %d)", what, st.VUs, MaxVUs)
			}
		}
		if total > MaxTotalDuration {
			v.add(st.Src.Value("duration"), "%s: the load lasts more than %s in total", what, Duration(MaxTotalDuration))
			total = MaxTotalDuration
			break
		}
	}
	v.total = total
	if len(l.Mix) == 0 {
		v.add(l.Src.Value("mix"), "spec.load.mix: at least one request is needed, for example {name: browse, weight: 1, request: GET /api/products}")
	}
	seen := map[string]bool{}
	for i := range l.Mix {
		m := &l.Mix[i]
		what := fmt.Sprintf("spec.load.mix[%d]", i)
		switch {
		case !m.Src.Has("name"):
			v.add(m.Src.Pos, "%s: name is missing; it becomes the scenario label of the client metrics", what)
		case !mixNameRE.MatchString(m.Name):
			v.add(m.Src.Value("name"), "%s: name %q must be letters, digits, _ and - (it becomes the scenario label)", what, m.Name)
		case seen[m.Name]:
			v.add(m.Src.Value("name"), "%s: name %q is used twice in the mix", what, m.Name)
		}
		seen[m.Name] = true
		if !m.Src.Has("weight") {
			m.Weight = 1
		} else if m.Weight <= 0 {
			v.add(m.Src.Value("weight"), "%s: weight %d must be 1 or more", what, m.Weight)
		}
		if !m.Src.Has("request") {
			v.add(m.Src.Pos, "%s: request is missing; write \"METHOD /path\", for example GET /api/products", what)
		}
		for _, h := range sortedKeys(m.Headers) {
			kp, vp := m.Src.mapKey("headers", h)
			if !headerRE.MatchString(h) {
				v.add(kp, "%s.headers: %q is not an HTTP header name", what, h)
			}
			if _, err := loadgen.ParseTemplate(m.Headers[h]); err != nil {
				v.add(vp, "%s.headers.%s: %v", what, h, err)
			}
		}
		if _, err := loadgen.ParseTemplate(m.Body); err != nil {
			v.add(m.Src.Value("body"), "%s.body: %v", what, err)
		}
	}
	if l.Connections < 0 {
		v.add(l.Src.Value("connections"), "spec.load.connections must be 0 (the load generator's default) or more")
	}
	if l.MaxInFlight < 0 {
		v.add(l.Src.Value("maxInFlight"), "spec.load.maxInFlight must be 0 (the load generator's default) or more")
	}
	if l.Src.Has("thinkTime") && l.Model != ModelClosed {
		v.add(l.Src.Key("thinkTime"), "spec.load.thinkTime is for the closed model (pause of each virtual user between requests)")
	}
}

// promql checks a PromQL expression held in field key of src and reports
// the parser's error at its position inside the file.
func (v *validator) promql(src Source, key, what, expr string) {
	if !src.Has(key) || strings.TrimSpace(expr) == "" {
		v.add(src.Pos, "%s: %s is missing; give a PromQL expression", what, key)
		return
	}
	_, err := promParser.ParseExpr(expr)
	if err == nil {
		return
	}
	var pes parser.ParseErrors
	var pe *parser.ParseErr
	switch {
	case errors.As(err, &pes) && len(pes) > 0:
		v.add(v.offsetPos(src.nodes[key], int(pes[0].PositionRange.Start)), "%s: invalid PromQL: %v", what, pes[0].Err)
	case errors.As(err, &pe):
		v.add(v.offsetPos(src.nodes[key], int(pe.PositionRange.Start)), "%s: invalid PromQL: %v", what, pe.Err)
	default:
		v.add(src.Value(key), "%s: invalid PromQL: %v", what, err)
	}
}

// offsetPos maps a byte offset inside a scalar's value to a file position.
func (v *validator) offsetPos(n *yaml.Node, off int) Pos {
	if n == nil {
		return Pos{}
	}
	p := posOf(n)
	if off < 0 || off > len(n.Value) {
		return p
	}
	switch n.Style {
	case yaml.LiteralStyle:
		before := n.Value[:off]
		nl := strings.Count(before, "\n")
		// The block's indentation is the smallest of its non-empty lines.
		indent := -1
		for i := n.Line; i < n.Line+1+strings.Count(strings.TrimRight(n.Value, "\n"), "\n") && i < len(v.lines); i++ {
			t := v.lines[i]
			if strings.TrimSpace(t) == "" {
				continue
			}
			if in := len(t) - len(strings.TrimLeft(t, " ")); indent < 0 || in < indent {
				indent = in
			}
		}
		return Pos{Line: n.Line + 1 + nl, Column: max(indent, 0) + 1 + off - (strings.LastIndex(before, "\n") + 1)}
	case yaml.FoldedStyle:
		return p
	}
	if strings.Contains(n.Value, "\n") {
		return p
	}
	if n.Style == yaml.SingleQuotedStyle || n.Style == yaml.DoubleQuotedStyle {
		p.Column++
	}
	p.Column += off
	return p
}

// bound checks that a required expect bound was given.
func (v *validator) bound(src Source, key, what string, b Bound, allowBaseline bool) {
	if !src.Has(key) {
		v.add(src.Pos, "%s: %s is missing; %s", what, key, boundHelp)
		return
	}
	if b.Relative() && !allowBaseline {
		v.add(src.Value(key), "%s: %s %q is relative to the baseline, which is only measured for SLOs checked after the baseline window (during/after a fault or the whole run, with the first fault after 0s)", what, key, b.Text)
	}
}

func (v *validator) steadyState() {
	seen := map[string]bool{}
	for i := range v.e.Spec.SteadyState {
		c := &v.e.Spec.SteadyState[i]
		what := fmt.Sprintf("spec.steadyState[%d]", i)
		v.uniqueName(c.Src, what, c.Name, seen, true)
		v.promql(c.Src, "promql", what, c.PromQL)
		v.bound(c.Src, "expect", what, c.Expect, false)
		if c.MinSamples < 0 {
			v.add(c.Src.Value("minSamples"), "%s: minSamples must be 0 or more", what)
		}
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

func (v *validator) recordingRules() {
	seen := map[string]bool{}
	for i := range v.e.Spec.RecordingRules {
		r := &v.e.Spec.RecordingRules[i]
		what := fmt.Sprintf("spec.recordingRules[%d]", i)
		switch {
		case !r.Src.Has("record"):
			v.add(r.Src.Pos, "%s: record is missing; name the recorded series (for example job:errors:rate1m)", what)
		case !model.IsValidLegacyMetricName(r.Record):
			v.add(r.Src.Value("record"), "%s: record %q is not a metric name (letters, digits, _ and :)", what, r.Record)
		case seen[r.Record]:
			v.add(r.Src.Value("record"), "%s: record %q is defined twice", what, r.Record)
		}
		seen[r.Record] = true
		v.promql(r.Src, "expr", what, r.Expr)
	}
}

// occurrence is one planned injection of a fault.
type occurrence struct {
	fault      int
	n          int
	start, end time.Duration
}

// expand lists the occurrences of a fault inside a run of length total. It
// stops at MaxOccurrences.
func expand(f Fault, total time.Duration) []occurrence {
	var out []occurrence
	for k := 0; k < MaxOccurrences; k++ {
		if k > 0 && (f.Every <= 0 || (f.Times > 0 && k >= f.Times)) {
			break
		}
		start := f.At.D() + time.Duration(k)*f.Every.D()
		if k > 0 && f.Times == 0 && start+f.Duration.D() > total {
			break
		}
		out = append(out, occurrence{n: k + 1, start: start, end: start + f.Duration.D()})
	}
	return out
}

func (v *validator) faults() [][]occurrence {
	fs := v.e.Spec.Faults
	out := make([][]occurrence, len(fs))
	seen := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		what := fmt.Sprintf("spec.faults[%d]", i)
		v.uniqueName(f.Src, what, f.Name, seen, true)
		if f.Src.Has("name") && !nameRE.MatchString(f.Name) {
			v.add(f.Src.Value("name"), "%s: name %q must be lower-case letters, digits and - (SLOs refer to it with during/after)", what, f.Name)
		}
		info, known := v.faultType(f, what)
		v.target(f, what, info, known)
		if known {
			v.params(f, what, info)
			if rt := v.e.Spec.Runtime; len(info.Runtimes) > 0 && !slices.Contains(info.Runtimes, rt) {
				v.add(f.Src.Value("type"), "%s: a %s fault is not available on the %s runtime (available on: %s)", what, f.Type, rt, strings.Join(info.Runtimes, ", "))
			}
		}
		if !f.Src.Has("at") {
			v.add(f.Src.Pos, "%s: at is missing; when the fault starts, from the start of the run (for example 20s)", what)
		}
		if f.Duration <= 0 && f.Type != faultTypeKill {
			v.add(f.Src.Value("duration"), "%s: duration must be more than 0 for a %s fault (for example 30s)", what, f.Type)
		}
		if f.Times < 0 {
			v.add(f.Src.Value("times"), "%s: times must be 1 or more", what)
		}
		if f.Times > 1 && f.Every <= 0 {
			v.add(f.Src.Key("times"), "%s: times %d needs every (the period between starts)", what, f.Times)
		}
		if f.Src.Has("every") && (f.Every <= 0 || f.Every < f.Duration) {
			v.add(f.Src.Value("every"), "%s: every %s must be more than 0 and at least the duration %s (occurrences of one fault do not overlap)", what, f.Every, f.Duration)
			continue
		}
		if f.Times > MaxOccurrences {
			v.add(f.Src.Value("times"), "%s: times %d is more than %d", what, f.Times, MaxOccurrences)
			continue
		}
		occ := expand(*f, v.total)
		for j := range occ {
			occ[j].fault = i
		}
		out[i] = occ
		if v.total == 0 {
			continue
		}
		if f.At.D() >= v.total {
			v.add(f.Src.Value("at"), "%s: at %s is not inside the run, which lasts %s (the sum of the load stages)", what, f.At, Duration(v.total))
			continue
		}
		if len(occ) == MaxOccurrences && f.Times == 0 {
			v.add(f.Src.Value("every"), "%s: every %s repeats the fault more than %d times", what, f.Every, MaxOccurrences)
			continue
		}
		if f.Every > 0 && f.Times == 0 {
			// Make the count explicit, so that every consumer (the faults
			// timeline too) expands the same occurrences.
			f.Times = len(occ)
		}
		last := occ[len(occ)-1]
		if last.end > v.total {
			v.add(f.Src.Pos, "%s: occurrence %d ends at %s, after the end of the run at %s (the sum of the load stages)", what, last.n, Duration(last.end), Duration(v.total))
		}
	}
	return out
}

func (v *validator) faultType(f *Fault, what string) (faults.TypeInfo, bool) {
	if !f.Src.Has("type") {
		v.add(f.Src.Pos, "%s: type is missing (allowed: %s)", what, v.typeNames())
		return faults.TypeInfo{}, false
	}
	info, ok := v.cat.faultType(f.Type)
	if !ok {
		names := v.typeNameList()
		v.add(f.Src.Value("type"), "%s: unknown fault type %q (allowed: %s)%s", what, f.Type, v.typeNames(), suggest(f.Type, names))
	}
	return info, ok
}

func (v *validator) typeNameList() []string {
	var names []string
	for _, t := range v.cat.faultTypes() {
		names = append(names, t.Name)
	}
	return names
}

func (v *validator) typeNames() string {
	names := v.typeNameList()
	if len(names) == 0 {
		return "no fault type is registered"
	}
	return strings.Join(names, ", ")
}

func (v *validator) target(f *Fault, what string, info faults.TypeInfo, known bool) {
	t := &f.Target
	what += ".target"
	if !f.Src.Has("target") {
		v.add(f.Src.Pos, "%s is missing; at least target.service", what)
		return
	}
	partition := f.Type == faultTypePartition
	switch {
	case partition && t.Src.Has("groups") && t.Src.Has("service"):
		v.add(t.Src.Key("groups"), "%s: give groups (cut between two sides) or service (isolate one service), not both", what)
	case partition && t.Src.Has("groups"):
		if len(t.Groups) != 2 {
			v.add(t.Src.Key("groups"), "%s.groups: a partition needs exactly two sides, for example [[gateway, orders], [payment]]", what)
		}
		side := map[string]int{}
		for gi, g := range t.Groups {
			if len(g) == 0 {
				v.add(t.Src.Value("groups"), "%s.groups[%d] is empty", what, gi)
			}
			for _, s := range g {
				if v.knownService(t.Src.Value("groups"), what+".groups", s, true) {
					if prev, dup := side[s]; dup && prev != gi {
						v.add(t.Src.Value("groups"), "%s.groups: %q is on both sides", what, s)
					}
					side[s] = gi
				}
			}
		}
	case t.Src.Has("groups"):
		v.add(t.Src.Key("groups"), "%s.groups is only for partition faults", what)
	case !t.Src.Has("service"):
		if partition {
			v.add(t.Src.Pos, "%s: a partition needs groups (two sides) or service (isolate it)", what)
		} else {
			v.add(t.Src.Pos, "%s.service is missing (allowed: %s)", what, strings.Join(v.cat.services, ", "))
		}
	default:
		v.knownService(t.Src.Value("service"), what+".service", t.Service, false)
	}
	if !known {
		return
	}
	process := info.Class == faults.ClassProcess || info.Class == faults.ClassHTTP
	if t.Src.Has("from") {
		if info.Class != faults.ClassLink || partition {
			v.add(t.Src.Key("from"), "%s.from is only for link faults on one edge (latency, loss, bandwidth …)", what)
		} else if v.knownService(t.Src.Value("from"), what+".from", t.From, true) && slices.Contains(v.cat.services, t.Service) {
			callers := v.callers(t.Service)
			if !slices.Contains(callers, t.From) {
				v.add(t.Src.Value("from"), "%s.from: there is no call edge %s->%s (callers of %s: %s)", what, t.From, t.Service, t.Service, strings.Join(callers, ", "))
			}
		}
	}
	for _, k := range []string{"instances", "index", "pick"} {
		if t.Src.Has(k) && !process {
			v.add(t.Src.Key(k), "%s.%s is only for faults on instances (process and HTTP faults); a %s fault acts on call edges", what, k, f.Type)
		}
	}
	if !process {
		return
	}
	if t.Src.Has("instances") && t.Src.Has("index") {
		v.add(t.Src.Key("index"), "%s: give instances or index, not both", what)
	}
	if t.Src.Has("instances") {
		if !instancesRE.MatchString(t.Instances) || t.Instances == "0" {
			v.add(t.Src.Value("instances"), "%s.instances %q is not allowed (a count such as 1, a percentage such as 50%%, or all)", what, t.Instances)
		} else if strings.HasSuffix(t.Instances, "%") {
			if p, err := faults.ParsePercent(t.Instances); err != nil || p == 0 {
				v.add(t.Src.Value("instances"), "%s.instances %q must be a percentage above 0%% and at most 100%%", what, t.Instances)
			}
		}
	}
	if t.Index != nil {
		n := v.replicas(t.Service)
		if *t.Index < 0 || *t.Index >= n {
			v.add(t.Src.Value("index"), "%s.index %d is out of range: %s has %d replica(s) in this experiment (allowed: 0 to %d)", what, *t.Index, t.Service, n, n-1)
		}
	}
	if t.Src.Has("instances") && instancesRE.MatchString(t.Instances) && !strings.HasSuffix(t.Instances, "%") && t.Instances != "all" {
		if n, err := strconv.Atoi(t.Instances); err == nil && n > v.replicas(t.Service) && v.e.Spec.SUT.Replicas[t.Service] > 0 {
			v.add(t.Src.Value("instances"), "%s.instances %d is more than the %d replica(s) of %s", what, n, v.replicas(t.Service), t.Service)
		}
	}
	if t.Src.Has("pick") && t.Pick != pickFirst && t.Pick != pickRandom {
		v.add(t.Src.Value("pick"), "%s.pick %q is not allowed (allowed: first, random)%s", what, t.Pick, suggest(t.Pick, []string{pickFirst, pickRandom}))
	}
}

// callers lists who calls service: the shop's services, and the load
// generator (client) for the gateway.
func (v *validator) callers(service string) []string {
	var out []string
	if v.cat.callers != nil {
		out = v.cat.callers(service)
	}
	if service == sut.Gateway {
		out = append(out, ClientService)
	}
	return out
}

// replicas is the number of instances of a service, as far as the file says
// (replica counts set by the variant are known only to the shop).
func (v *validator) replicas(svc string) int {
	if n, ok := v.e.Spec.SUT.Replicas[svc]; ok && n > 0 {
		return n
	}
	return MaxReplicas
}

func (v *validator) params(f *Fault, what string, info faults.TypeInfo) {
	var names []string
	for _, p := range info.Params {
		names = append(names, p.Name)
	}
	valid := true // every parameter valid on its own
	for _, k := range sortedKeys(f.Params) {
		p, ok := info.Param(k)
		kp, vp := f.Src.mapKey("params", k)
		if !ok {
			valid = false
			allowed := strings.Join(names, ", ")
			if allowed == "" {
				allowed = "none"
			}
			v.add(kp, "%s.params: unknown parameter %q for a %s fault (allowed: %s)%s", what, k, f.Type, allowed, suggest(k, names))
			continue
		}
		if err := p.Check(f.Params[k]); err != nil {
			valid = false
			v.add(vp, "%s.params.%v", what, err)
		}
	}
	for _, p := range info.Params {
		if _, ok := f.Params[p.Name]; p.Required && !ok {
			valid = false
			v.add(f.Src.Key("params"), "%s.params: %s is required for a %s fault (%s)", what, p.Name, f.Type, p.Help)
		}
	}
	// Rules over several parameters, once each one is valid on its own.
	if valid && info.Check != nil {
		if err := info.Validate(f.Params); err != nil {
			v.add(f.Src.Key("params"), "%s.params: %v for a %s fault", what, err, f.Type)
		}
	}
}

func (v *validator) slos(occ [][]occurrence) {
	fs := v.e.Spec.Faults
	byName := map[string]int{}
	for i, f := range fs {
		if _, dup := byName[f.Name]; !dup {
			byName[f.Name] = i
		}
	}
	var faultNames []string
	for _, f := range fs {
		faultNames = append(faultNames, f.Name)
	}
	firstStart := time.Duration(-1)
	for _, o := range occ {
		if len(o) > 0 && (firstStart < 0 || o[0].start < firstStart) {
			firstStart = o[0].start
		}
	}
	hasBaseline := firstStart > 0
	if firstStart == 0 && len(v.e.Spec.SteadyState) > 0 {
		v.add(v.e.Spec.Src.Key("steadyState"), "spec.steadyState is checked before the first fault, but a fault starts at 0s; start the faults later (for example at: 20s)")
	}
	seen := map[string]bool{}
	for i := range v.e.Spec.SLOs {
		s := &v.e.Spec.SLOs[i]
		what := fmt.Sprintf("spec.slos[%d]", i)
		v.uniqueName(s.Src, what, s.Name, seen, true)
		windows := 0
		for _, k := range []string{"during", "after"} {
			if s.Src.Has(k) {
				windows++
			}
		}
		if s.Before {
			windows++
		}
		if windows > 1 {
			v.add(s.Src.Pos, "%s: give one window: during: FAULT, after: FAULT or before: true (none: the whole run)", what)
		}
		ref := func(key, name string) (int, bool) {
			if !s.Src.Has(key) {
				return 0, false
			}
			fi, ok := byName[name]
			if !ok {
				allowed := strings.Join(faultNames, ", ")
				if allowed == "" {
					allowed = "the experiment has no faults"
				}
				v.add(s.Src.Value(key), "%s.%s: no fault is named %q (allowed: %s)%s", what, key, name, allowed, suggest(name, faultNames))
				return 0, false
			}
			return fi, true
		}
		di, dok := ref("during", s.During)
		ai, aok := ref("after", s.After)
		if dok && fs[di].Duration <= 0 {
			v.add(s.Src.Value("during"), "%s.during: fault %q lasts 0s, so there is no window during it; use after", what, s.During)
		}
		if aok && len(occ[ai]) > 0 && occ[ai][len(occ[ai])-1].end >= v.total {
			v.add(s.Src.Value("after"), "%s.after: fault %q ends with the run, so there is no window after it", what, s.After)
		}
		if s.Before && firstStart <= 0 {
			v.add(s.Src.Value("before"), "%s.before: there is no baseline window (no fault, or the first fault starts at 0s)", what)
		}
		if s.IsRecovery() {
			v.recoverySLO(s, what)
			continue
		}
		for _, k := range []string{"consecutive"} {
			if s.Src.Has(k) {
				v.add(s.Src.Key(k), "%s.%s is only for recoveryTime SLOs", what, k)
			}
		}
		v.promql(s.Src, "promql", what, s.PromQL)
		v.bound(s.Src, "expect", what, s.Expect, hasBaseline && !s.Before)
		modes := []string{ModeEnd, ModeContinuous}
		switch {
		case !s.Src.Has("mode"):
			s.Mode = ModeEnd
		case !slices.Contains(modes, s.Mode):
			v.add(s.Src.Value("mode"), "%s.mode %q is unknown (allowed: end (once over the window), continuous (at every step))%s", what, s.Mode, suggest(s.Mode, modes))
		}
		if s.Src.Has("for") && s.Mode != ModeContinuous {
			v.add(s.Src.Key("for"), "%s.for is only for mode: continuous (how long a violation may last)", what)
		}
		v.step(s, what)
	}
}

func (v *validator) step(s *SLO, what string) {
	if !s.Src.Has("step") {
		s.Step = v.e.Spec.ScrapeInterval
	} else if s.Step <= 0 {
		v.add(s.Src.Value("step"), "%s.step must be more than 0", what)
	}
	if s.MinSamples < 0 {
		v.add(s.Src.Value("minSamples"), "%s.minSamples must be 0 or more", what)
	}
}

func (v *validator) recoverySLO(s *SLO, what string) {
	rt := s.RecoveryTime
	if !s.Src.Has("after") {
		v.add(s.Src.Key("recoveryTime"), "%s: recoveryTime needs after: FAULT (the fault whose end starts the clock)", what)
	}
	if rt.Op != "<" && rt.Op != "<=" {
		v.add(s.Src.Value("recoveryTime"), "%s.recoveryTime %q must be < or <= a duration (for example '< 10s')", what, rt.Text)
	}
	for _, k := range []string{"during", "before", "mode", "for"} {
		if s.Src.Has(k) {
			v.add(s.Src.Key(k), "%s.%s is not allowed with recoveryTime (allowed: name, after, recoveryTime, promql, expect, consecutive, step, minSamples)", what, k)
		}
	}
	if s.Src.Has("promql") != s.Src.Has("expect") {
		v.add(s.Src.Pos, "%s: give both promql and expect, or neither (then the client's error ratio over 3s %s)", what, DefaultRecoveryExpect)
	}
	if s.Src.Has("promql") {
		v.promql(s.Src, "promql", what, s.PromQL)
		if s.Expect.Relative() {
			v.add(s.Src.Value("expect"), "%s.expect: a recovery bound cannot be relative to the baseline", what)
		}
	} else {
		s.PromQL = DefaultRecoveryQuery(v.e.Spec.ScrapeInterval.D())
		if err := s.Expect.decodeScalar(DefaultRecoveryExpect); err != nil {
			v.add(s.Src.Pos, "%s: default expect: %v", what, err)
		}
	}
	if !s.Src.Has("consecutive") {
		s.Consecutive = DefaultConsecutive
	} else if s.Consecutive <= 0 {
		v.add(s.Src.Value("consecutive"), "%s.consecutive must be 1 or more (steps in a row within bound that count as recovered)", what)
	}
	s.Mode = ModeContinuous
	v.step(s, what)
}

func (v *validator) aborts() {
	for i := range v.e.Spec.AbortWhen {
		a := &v.e.Spec.AbortWhen[i]
		what := fmt.Sprintf("spec.abortWhen[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			a.Name = fmt.Sprintf("abort-%d", i+1)
		}
		v.promql(a.Src, "promql", what, a.PromQL)
		v.bound(a.Src, "expect", what, a.Expect, false)
	}
}
