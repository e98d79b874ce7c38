package experiments

import (
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/metrics"
)

// Config returns the workload as a loadgen configuration. Request paths are
// relative: the runner sets BaseURL (the gateway) and the run-time hooks.
func (w Workload) Config() loadgen.Config {
	c := loadgen.Config{
		Model:       w.Model,
		Connections: w.Connections,
		Timeout:     w.Timeout.D(),
		MaxInFlight: w.MaxInFlight,
		Seed:        w.Seed,
		ThinkTime:   w.ThinkTime.D(),
	}
	for _, s := range w.Stages {
		c.Stages = append(c.Stages, loadgen.Stage{Duration: s.Duration.D(), Rate: s.Rate, VUs: s.VUs})
	}
	for _, m := range w.Mix {
		c.Mix = append(c.Mix, loadgen.Request{Name: m.Name, Weight: m.Weight, Method: m.Request.Method, URL: m.Request.Path, Headers: m.Headers, Body: m.Body})
	}
	return c
}

// Spec returns the fault as the faults package takes it, seeded with seed
// (Plan.Timeline gives each occurrence its own).
func (f Fault) Spec(seed int64) faults.Spec {
	t := f.Target
	return faults.Spec{
		Name:   f.Name,
		Type:   f.Type,
		Target: faults.Target{Service: t.Service, From: t.From, Instances: t.Instances, Index: t.Index, Pick: t.Pick, Groups: t.Groups},
		Params: f.Params,
		Seed:   seed,
	}
}

// Rules returns the experiment's extra recording rules for the metrics package.
func (s Spec) Rules() []metrics.Rule {
	var out []metrics.Rule
	for _, r := range s.RecordingRules {
		out = append(out, metrics.Rule{Record: r.Record, Expr: r.Expr})
	}
	return out
}

// Timeline returns the plan's fault occurrences as the faults package runs
// them: every/times is expanded once, by the plan, and the timeline runs
// what it is given. Occurrence k (from 0) of the experiment's i-th fault is
// seeded seed*1000 + i + k, so that its target pick is reproducible from
// the run's seed.
func (p *Plan) Timeline(seed int64) []faults.Planned {
	if p.Experiment == nil {
		return nil
	}
	out := make([]faults.Planned, 0, len(p.Faults))
	for _, o := range p.Faults {
		f := p.Experiment.Spec.Faults[o.Index]
		out = append(out, faults.Planned{
			Spec:       f.Spec(seed*1000 + int64(o.Index) + int64(o.N-1)),
			Occurrence: o.N - 1,
			At:         o.Start.D(),
			Duration:   o.End.D() - o.Start.D(),
		})
	}
	return out
}
