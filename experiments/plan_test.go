package experiments

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, path string) *Experiment {
	t.Helper()
	e, err := Load(path)
	if err != nil {
		t.Fatalf("load %s:\n%v", path, err)
	}
	return e
}

func mustPlan(t *testing.T, e *Experiment) *Plan {
	t.Helper()
	p, err := e.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ivs(list []Interval) string {
	var out []string
	for _, in := range list {
		out = append(out, fmt.Sprintf("%s-%s", in.Start, in.End))
	}
	return strings.Join(out, " ")
}

func TestPlanTimeline(t *testing.T) {
	p := mustPlan(t, mustLoad(t, "testdata/full.good.yaml"))
	if p.Total.D() != 90*time.Second {
		t.Fatalf("total %s, want 1m30s", p.Total)
	}
	var occ []string
	for _, o := range p.Faults {
		occ = append(occ, fmt.Sprintf("%s#%d/%d@%s-%s", o.Fault, o.N, o.Of, o.Start, o.End))
	}
	wantOcc := "slow-payment#1/1@20s-30s kill-orders#1/3@35s-35s kill-orders#2/3@45s-45s kill-orders#3/3@55s-55s split#1/1@1m-1m5s abort-checkout#1/1@1m10s-1m15s"
	if got := strings.Join(occ, " "); got != wantOcc {
		t.Errorf("occurrences\n got %s\nwant %s", got, wantOcc)
	}
	var phases []string
	for _, ph := range p.Phases {
		phases = append(phases, fmt.Sprintf("%s[%s]%s-%s", ph.Kind, strings.Join(ph.Faults, ","), ph.Start, ph.End))
	}
	wantPhases := "baseline[]0s-20s fault[slow-payment]20s-30s recovery[]30s-1m fault[split]1m-1m5s recovery[]1m5s-1m10s fault[abort-checkout]1m10s-1m15s recovery[]1m15s-1m30s"
	if got := strings.Join(phases, " "); got != wantPhases {
		t.Errorf("phases\n got %s\nwant %s", got, wantPhases)
	}
	want := map[string]string{
		"baseline p99":                 "before 0s-20s",
		"checkout p99 during slowdown": "during 20s-30s",
		"recovers":                     "after 30s-1m30s",
		"availability":                 "run 0s-1m30s",
		"after the split":              "after 1m5s-1m30s",
	}
	for _, s := range p.SLOs {
		if got := s.Window + " " + ivs(s.Intervals); got != want[s.Name] {
			t.Errorf("SLO %q window %q, want %q", s.Name, got, want[s.Name])
		}
	}
	rec := p.SLOs[2]
	if !rec.Recovery || rec.Deadline == nil || rec.Deadline.D() != 40*time.Second {
		t.Errorf("recovery SLO: recovery %v deadline %v, want deadline 40s", rec.Recovery, rec.Deadline)
	}
	if got := p.SLOs[4].Deadline.D(); got != 80*time.Second {
		t.Errorf("after the split: deadline %s, want 1m20s (1m5s + 15s)", got)
	}
	// Steady state: over `for` before the first fault, and at the end.
	if len(p.SteadyState) != 2 || ivs([]Interval{p.SteadyState[0].Window}) != "15s-20s" || p.SteadyState[0].When != CheckBeforeFaults ||
		ivs([]Interval{p.SteadyState[1].Window}) != "1m25s-1m30s" || p.SteadyState[1].When != CheckAfterFaults {
		t.Errorf("steady state checks: %+v", p.SteadyState)
	}
	if len(p.Stages) != 2 || p.Stages[1].Start.D() != 10*time.Second || p.Stages[1].Rate != 50.5 {
		t.Errorf("stages: %+v", p.Stages)
	}
}

func TestPlanRepeatsUntilTheEnd(t *testing.T) {
	p := mustPlan(t, mustLoad(t, "testdata/repeat-until-end.good.yaml"))
	// at 5s every 15s for 5s in a 60s run: 5, 20, 35, 50 (the one at 65s does not fit).
	var starts []string
	for _, o := range p.Faults {
		starts = append(starts, o.Start.String())
	}
	if got := strings.Join(starts, ","); got != "5s,20s,35s,50s" {
		t.Errorf("starts %s, want 5s,20s,35s,50s", got)
	}
	if got := ivs(p.SLOs[0].Intervals); got != "5s-10s 20s-25s 35s-40s 50s-55s" {
		t.Errorf("during windows %s", got)
	}
}

func TestPlanDefaults(t *testing.T) {
	e := mustLoad(t, "testdata/minimal.good.yaml")
	if e.Spec.Runtime != DefaultRuntime || e.Spec.SUT.Variant != DefaultVariant || e.Spec.Load.Model != ModelOpen ||
		e.Spec.ScrapeInterval != DefaultScrapeInterval || e.Spec.Load.Mix[0].Weight != 1 {
		t.Errorf("defaults not filled: %+v", e.Spec)
	}
	p := mustPlan(t, e)
	if len(p.Faults) != 0 || len(p.Phases) != 1 || p.Phases[0].Kind != PhaseBaseline {
		t.Errorf("a run without faults is one baseline phase: %+v", p.Phases)
	}
	full := mustLoad(t, "testdata/full.good.yaml")
	rec := full.Spec.SLOs[4]
	if rec.PromQL != DefaultRecoveryPromQL || rec.Expect.Text != DefaultRecoveryExpect || rec.Consecutive != DefaultConsecutive || rec.Step != full.Spec.ScrapeInterval {
		t.Errorf("recovery defaults not filled: %+v", rec)
	}
	if full.Spec.AbortWhen[1].Name != "abort-2" {
		t.Errorf("abort name default %q", full.Spec.AbortWhen[1].Name)
	}
}

func TestPlanJSON(t *testing.T) {
	p := mustPlan(t, mustLoad(t, "testdata/full.good.yaml"))
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Total  string `json:"total"`
		Faults []struct {
			Fault string `json:"fault"`
			Start string `json:"start"`
			End   string `json:"end"`
		} `json:"faults"`
		SLOs []struct {
			Name     string  `json:"name"`
			Deadline *string `json:"deadline"`
		} `json:"slos"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Total != "1m30s" || len(back.Faults) != 6 || back.Faults[0].Start != "20s" || back.Faults[0].End != "30s" ||
		back.SLOs[2].Deadline == nil || *back.SLOs[2].Deadline != "40s" {
		t.Errorf("JSON plan: %s", data)
	}
	// The experiment round-trips through JSON with its bounds and durations as text.
	ej, err := json.Marshal(p.Experiment)
	if err != nil {
		t.Fatal(err)
	}
	var e2 Experiment
	if err := json.Unmarshal(ej, &e2); err != nil {
		t.Fatalf("experiment JSON does not read back: %v\n%s", err, ej)
	}
	if e2.Spec.SLOs[1].Expect.Text != "< 1.5 * baseline" || !e2.Spec.SLOs[1].Expect.Relative() || e2.Spec.Faults[0].At.D() != 20*time.Second ||
		e2.Spec.Load.Mix[1].Request.String() != "POST /api/checkout" {
		t.Errorf("experiment JSON round trip: %+v", e2.Spec)
	}
}

func TestEveryWithoutTimesIsMadeExplicit(t *testing.T) {
	e := mustLoad(t, "testdata/repeat-until-end.good.yaml")
	if e.Spec.Faults[0].Times != 4 {
		t.Errorf("times = %d, want 4 (the occurrences that fit)", e.Spec.Faults[0].Times)
	}
}

// The timeline runs the plan's occurrences as they are: every/times is
// expanded once (by the plan), each occurrence with its own seed.
func TestPlanTimelineIsThePlansOccurrences(t *testing.T) {
	e := mustLoad(t, "testdata/full.good.yaml")
	p := mustPlan(t, e)
	tl := p.Timeline(7)
	if len(tl) != len(p.Faults) || len(tl) != 6 {
		t.Fatalf("%d timeline entries for %d occurrences, want 6", len(tl), len(p.Faults))
	}
	var kills []string
	for i, pl := range tl {
		o := p.Faults[i]
		if pl.Spec.Name != o.Fault || pl.At != o.Start.D() || pl.Duration != o.End.D()-o.Start.D() || pl.Occurrence != o.N-1 {
			t.Errorf("entry %d %+v, occurrence %+v", i, pl, o)
		}
		if want := 7*1000 + int64(o.Index) + int64(o.N-1); pl.Spec.Seed != want {
			t.Errorf("%s #%d seed %d, want %d", o.Fault, o.N, pl.Spec.Seed, want)
		}
		if pl.Spec.Name == "kill-orders" {
			kills = append(kills, fmt.Sprintf("%s@%s", pl.Spec.Target.Instances, pl.At))
		}
	}
	if got := strings.Join(kills, " "); got != "50%@35s 50%@45s 50%@55s" {
		t.Errorf("kill-orders occurrences %s", got)
	}
}
