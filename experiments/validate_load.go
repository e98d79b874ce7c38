// Validation of spec.load: the model, its rate or VUs, the request mix.

package experiments

import (
	"fmt"
	"slices"
	"time"

	"github.com/gameday/gameday/loadgen"
)

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
