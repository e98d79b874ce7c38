// Package reportstest builds realistic, deterministic run records for the
// tests and benchmarks of the reports and of their consumers.
package reportstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/gameday/gameday/reports"
)

// Options shape the synthetic run.
type Options struct {
	Duration time.Duration // length of the run (default 2 minutes)
	Rate     float64       // requests per second over every request name (default 200)
	Seed     uint64        // seed of the pseudo-random latencies (default 1)
	// Failing makes the checkout SLO, one recovery and the verdict fail.
	Failing bool
	// HistogramSamples is the number of distinct values recorded per phase
	// and request name (weighted by the phase's count; default 400).
	HistogramSamples int
}

// Start is the start time of every synthetic run.
var Start = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

var requestMix = []struct {
	name   string
	weight float64
	base   float64 // p50 in ms
}{
	{"browse", 0.6, 12},
	{"cart", 0.25, 18},
	{"checkout", 0.15, 45},
}

const scenarioYAML = `apiVersion: gameday/v1
kind: Experiment
metadata:
  name: payment-slowdown
  description: Payment slows to 800 ms; checkout must degrade, not collapse.
spec:
  runtime: local
  sut: {variant: resilient, replicas: {payment: 2}}
  load:
    model: open
    stages: [{duration: 10s, rate: 50}, {duration: 60s, rate: 200}]
    mix:
      - {name: browse,   weight: 6, request: GET /api/products}
      - {name: cart,     weight: 2.5, request: POST /api/cart}
      - {name: checkout, weight: 1.5, request: POST /api/checkout, body: '{"items":[{"sku":"A1","qty":1}]}'}
  steadyState:
    - {name: availability, promql: 'gameday:availability:ratio30s', expect: '>= 0.99'}
  faults:
    - {name: slow-payment, type: latency, target: {service: payment}, at: 20%, duration: 15%,
       params: {delay: 800ms, jitter: 100ms}}
    - {name: kill-orders, type: kill, target: {service: orders, instances: 1}, at: 60%, duration: 10%}
  slos:
    - {name: checkout p99 during slowdown, during: slow-payment,
       promql: 'histogram_quantile(0.99, sum by (le) (rate(gameday_client_request_duration_seconds_bucket{scenario="checkout"}[15s])))',
       expect: '< 1.2'}
    - {name: recovers quickly, after: slow-payment, recoveryTime: '< 10s'}
`

const policyYAML = `edges:
  checkout->payment: {timeout: 1s, retries: {max: 2, backoff: 50ms, jitter: true}, breaker: {failures: 5, open: 5s}}
  checkout->orders:  {timeout: 500ms, retries: {max: 1}}
  gateway->*:        {timeout: 2s}
replicas: {payment: 2, orders: 2}
`

// New returns a synthetic run: three request names, a latency fault on
// payment and a kill of an orders instance, with phases, checks, series,
// histograms, recovery times and an integrity result.
func New(o Options) *reports.Run {
	if o.Duration <= 0 {
		o.Duration = 2 * time.Minute
	}
	if o.Rate <= 0 {
		o.Rate = 200
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.HistogramSamples <= 0 {
		o.HistogramSamples = 400
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	dur := math.Round(o.Duration.Seconds())
	slowAt, slowEnd := math.Round(dur*0.2), math.Round(dur*0.35)
	killAt, killEnd := math.Round(dur*0.6), math.Round(dur*0.7)

	r := &reports.Run{
		SchemaVersion: reports.SchemaVersion,
		ID:            "payment-slowdown-" + Start.Format("20060102T150405Z"),
		Scenario: reports.Scenario{
			Name:        "payment-slowdown",
			Description: "Payment slows to 800 ms; checkout must degrade, not collapse.",
			File:        "experiments/library/payment-slowdown.yaml",
			YAML:        scenarioYAML,
		},
		Variant: "resilient",
		Policy:  reports.Policy{Name: "resilient", Hash: "sha256:4f2a9c0d1e7b", YAML: policyYAML},
		Seeds:   map[string]int64{"load": 42, "faults": 7},
		Environment: reports.Environment{
			GamedayVersion: "v0.1.0-test", GoVersion: "go1.26.8", OS: "linux", Arch: "amd64",
			CPUs: 2, Hostname: "ci-runner", Runtime: "local",
		},
		Start:           Start,
		End:             Start.Add(time.Duration(dur) * time.Second),
		DurationSeconds: dur,
		IntervalSeconds: 1,
		Phases: []reports.Phase{
			{Name: "baseline", Start: 0, End: slowAt},
			{Name: "slow-payment", Start: slowAt, End: slowEnd},
			{Name: "between", Start: slowEnd, End: killAt},
			{Name: "kill-orders", Start: killAt, End: killEnd},
			{Name: "recovery", Start: killEnd, End: dur},
		},
		Faults: []reports.Fault{
			{Name: "slow-payment", Type: "latency", Target: "payment (all 2 instances, inbound)",
				Params:        map[string]string{"delay": "800ms", "jitter": "100ms"},
				PlannedInject: slowAt, PlannedRevert: slowEnd, InjectedAt: ptr(slowAt + 0.012), RevertedAt: ptr(slowEnd + 0.008)},
			{Name: "kill-orders", Type: "kill", Target: "orders (1 of 2 instances, first)",
				PlannedInject: killAt, PlannedRevert: killEnd, InjectedAt: ptr(killAt + 0.004), RevertedAt: ptr(killEnd + 0.21)},
		},
	}

	phaseOf := func(t float64) int {
		for i, p := range r.Phases {
			if t >= p.Start && t < p.End {
				return i
			}
		}
		return len(r.Phases) - 1
	}
	type acc struct{ samples [][2]float64 } // value ms, weight
	hists := make([][]acc, len(r.Phases))
	for i := range hists {
		hists[i] = make([]acc, len(requestMix))
	}
	var p99Series []reports.Point
	var availSeries []reports.Point
	var windowCount, windowErr float64
	for ri, m := range requestMix {
		rs := reports.RequestSeries{Name: m.name, Intervals: make([]reports.Interval, 0, int(dur))}
		for s := 0.0; s < dur; s++ {
			count := int64(math.Round(o.Rate * m.weight * (0.95 + 0.1*rng.Float64())))
			base := m.base * (0.9 + 0.2*rng.Float64())
			tail := 4.0
			var errs map[string]int64
			slow := s >= slowAt && s < slowEnd
			kill := s >= killAt && s < killEnd
			if slow && m.name == "checkout" {
				base += 780 + 60*rng.Float64()
				tail = 0.25
				if o.Failing {
					tail = 0.6
				}
			}
			if kill && m.name != "browse" {
				errs = map[string]int64{"5xx": int64(float64(count) * (0.04 + 0.03*rng.Float64())), "refused": int64(float64(count) * 0.01)}
				tail = 9
			}
			if spike := rng.Float64() < 0.01; spike && !(slow && m.name == "checkout") { // an occasional GC-like spike
				tail *= 6
			}
			iv := reports.Interval{
				At: s, Count: count, Errors: errs,
				P50:  round3(base),
				P90:  round3(base * (1 + 0.4*tail/4)),
				P99:  round3(base * (1 + tail)),
				P999: round3(base * (1 + 1.8*tail)),
				Max:  round3(base * (1 + 2.5*tail) * (1 + rng.Float64())),
			}
			rs.Intervals = append(rs.Intervals, iv)
			ph := phaseOf(s)
			a := &hists[ph][ri]
			for _, q := range [][2]float64{{iv.P50, 0.5}, {iv.P90, 0.4}, {iv.P99, 0.09}, {iv.P999, 0.009}, {iv.Max, 0.001}} {
				a.samples = append(a.samples, [2]float64{q[0], q[1] * float64(count)})
			}
			if m.name == "checkout" && int(s)%5 == 4 {
				p99Series = append(p99Series, reports.Point{T: s, V: round3(iv.P99 / 1000)})
			}
			if m.name == "browse" && int(s)%5 == 4 {
				v := 0.9995 - 0.0004*rng.Float64()
				if kill {
					v = 0.95 + 0.01*rng.Float64()
				}
				availSeries = append(availSeries, reports.Point{T: s, V: round3(v*1000) / 1000})
			}
			if slow && m.name == "checkout" {
				windowCount += float64(count)
				windowErr += float64(iv.ErrorCount())
			}
		}
		r.Requests = append(r.Requests, rs)
	}
	for pi, p := range r.Phases {
		for ri, m := range requestMix {
			c := hdrhistogram.New(1, 60_000_000, 3)
			u := hdrhistogram.New(1, 60_000_000, 3)
			samples := hists[pi][ri].samples
			step := max(1, len(samples)/o.HistogramSamples)
			for i := 0; i < len(samples); i += step {
				v, w := samples[i][0], samples[i][1]*float64(step)
				us := int64(v * 1000)
				n := int64(math.Max(1, math.Round(w)))
				_ = c.RecordValues(us, n)
				_ = u.RecordValues(int64(float64(us)*0.8), n) // service time: no queueing
			}
			ce, err := reports.EncodeHistogram(c)
			if err != nil {
				panic(err)
			}
			ue, err := reports.EncodeHistogram(u)
			if err != nil {
				panic(err)
			}
			r.Histograms = append(r.Histograms, reports.Histogram{Phase: p.Name, Request: m.name, Unit: "us", Corrected: ce, Uncorrected: ue})
		}
	}

	var worst float64
	for _, p := range p99Series {
		if p.T >= slowAt && p.T < slowEnd {
			worst = math.Max(worst, p.V)
		}
	}
	sloPass := worst < 1.2
	r.Checks = []reports.Check{
		{Name: "availability before faults", Kind: reports.KindSteadyState, Query: "gameday:availability:ratio30s",
			Bound: ">= 0.99", Window: "before the first fault", WindowStart: 0, WindowEnd: slowAt,
			Observed: ptr(0.9994), ObservedAs: reports.ObservedAtEnd, Unit: "ratio", Status: reports.StatusPass, Samples: int(slowAt / 5), Series: availSeries},
		{Name: "checkout p99 during slowdown", Kind: reports.KindSLO,
			Query: `histogram_quantile(0.99, sum by (le) (rate(gameday_client_request_duration_seconds_bucket{scenario="checkout"}[15s])))`,
			Bound: "< 1.2", Window: "during slow-payment", WindowStart: slowAt, WindowEnd: slowEnd,
			Observed: ptr(worst), ObservedAs: reports.ObservedWorst, Unit: "s", Status: status(sloPass), Samples: int((slowEnd - slowAt) / 5), Series: p99Series},
		{Name: "availability after faults", Kind: reports.KindSteadyState, Query: "gameday:availability:ratio30s",
			Bound: ">= 0.99", Window: "after kill-orders", WindowStart: killEnd, WindowEnd: dur,
			Observed: ptr(0.9991), ObservedAs: reports.ObservedAtEnd, Unit: "ratio", Status: reports.StatusPass, Samples: int((dur - killEnd) / 5), Series: availSeries},
	}
	rec2 := 6.5
	if o.Failing {
		rec2 = 14.0
	}
	if !sloPass {
		r.Checks[1].FirstBreach = &reports.Point{T: slowAt + 5, V: 1.25}
	}
	r.Recovery = []reports.Recovery{
		{Fault: "slow-payment", SLI: "checkout p99", Seconds: ptr(4.0), Bound: "< 10s"},
		{Fault: "kill-orders", SLI: "availability", Seconds: ptr(rec2), Bound: "< 10s"},
	}
	r.Checks = append(r.Checks,
		reports.RecoveryCheck(r.Recovery[0], reports.StatusPass, ""),
		reports.RecoveryCheck(r.Recovery[1], status(rec2 < 10), ""))
	orders := int64(o.Rate * 0.15 * dur * 0.97)
	r.Integrity = &reports.Integrity{Checked: true, OK: true, Counts: map[string]int64{"acknowledged": orders, "found": orders, "lost": 0, "duplicated": 0}}
	r.Checks = append(r.Checks, reports.IntegrityCheck(r.Integrity, ""))
	r.Verdict, r.Reason = reports.VerdictPass, ""
	if !sloPass || rec2 >= 10 {
		r.Verdict = reports.VerdictFail
		r.Reason = fmt.Sprintf("checkout p99 reached %.2f s during slow-payment.", worst)
	}
	return r
}

// Short is a two-minute run at 200 requests/s that passes.
func Short() *reports.Run { return New(Options{}) }

// Hour is a one-hour run at 5,000 requests/s.
func Hour() *reports.Run {
	return New(Options{Duration: time.Hour, Rate: 5000, HistogramSamples: 2000})
}

func ptr(v float64) *float64 { return &v }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func status(pass bool) reports.Status {
	if pass {
		return reports.StatusPass
	}
	return reports.StatusFail
}
