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

// Spec returns the fault as the faults package takes it; seed is the run's
// seed (occurrences add their index to it).
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
