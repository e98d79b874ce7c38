// Validation of spec.faults: types, targets, parameters, and the every/times expansion.

package experiments

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut"
)

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
			if name := v.e.Spec.Runtime; name != "" {
				if rt, ok := platform.Lookup(name); ok && !platform.Supports(rt, info) {
					v.add(f.Src.Value("type"), "%s: a %s fault is not available on the %s runtime (available on: %s)", what, f.Type, name, strings.Join(platform.RuntimesOf(info), ", "))
				}
			}
		}
		if !f.Src.Has("at") {
			v.add(f.Src.Pos, "%s: at is missing; when the fault starts, from the start of the run (for example 20s)", what)
		}
		if f.Duration <= 0 && !(known && info.Instant) {
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
	partition := known && info.Groups
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
