// Validation of spec.slos (window, recovery and step SLOs) and spec.abort.

package experiments

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

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
