// Package runner executes a game day: it deploys the system under test,
// starts the metrics store, drives the load, runs the fault timeline (always
// reverting), evaluates steady state, SLOs, recovery and integrity against
// Prometheus, and writes the run record and its reports.
//
// The runner consumes each part through the small interfaces below, so that
// one scenario runs unchanged against every runtime.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/sut/policy"
)

// Options configure one run.
type Options struct {
	Experiment *experiments.Experiment
	// YAML is the experiment file as written, kept in the run record.
	YAML string
	// RunsDir receives runs/<name>-<timestamp>/ (default "runs").
	RunsDir string
	// Settings are the user's choices of how the runtime runs the shop
	// (the command, the image, extra environment).
	Settings platform.Settings
	// Runtimes, when set, are the runtimes by name that this run may use
	// instead of the platform registry (tests); the experiment must still
	// name a registered runtime to pass validation.
	Runtimes map[string]platform.Runtime
	// Journal records fault intents and children for `gameday recover`.
	Journal *journal.Journal
	// PrometheusURL selects the remote metrics path; empty: embedded.
	PrometheusURL string
	// FileSD is where the remote path writes the scrape targets (file_sd
	// JSON) for the user's Prometheus; default <run dir>/targets.json.
	FileSD string
	// Seed overrides the experiment's load seed when non-zero.
	Seed int64
	// Out receives live progress and the verdict table; TTY selects bars.
	Out io.Writer
	TTY bool
	// OnFaultEvent, when set, sees every fault injection and revert as it
	// happens (live output, tests).
	OnFaultEvent func(faults.Event)
	// Version is gameday's version, for the record.
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Outcome is the result of a run: the record, where it was written and the
// exit code it calls for.
type Outcome struct {
	Run  *reports.Run
	Dir  string
	Code errext.ExitCode
}

// settle is how long the runner waits after the load for the last scrape
// and rule evaluation to land in the store before it evaluates.
func settle(scrape time.Duration) time.Duration { return 2*scrape + 500*time.Millisecond }

// Run executes the experiment. It returns an error only when nothing could
// be recorded (bad options, no run directory); every other failure is in the
// Outcome, with its exit code, and the run record is written whatever
// happened.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	if o.Experiment == nil {
		return nil, errors.New("run: no experiment")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.RunsDir == "" {
		o.RunsDir = "runs"
	}
	plan, err := o.Experiment.Plan()
	if err != nil {
		return nil, errext.WithExitCode(err, errext.Invalid)
	}
	r := &run{o: o, plan: plan, exp: o.Experiment}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	r.execute(ctx)
	return r.finish()
}

// run is the state of one game day.
type run struct {
	o    Options
	plan *experiments.Plan
	exp  *experiments.Experiment

	id, dir string
	seed    int64
	variant *policy.Variant
	start   time.Time // time 0 of the plan: the load's start
	began   time.Time // when the run itself began (deploy)

	store   metricsStore
	dep     platform.Deployment
	phases  *phaseRecorder
	result  *loadgen.Result
	events  []faults.Event
	record  *reports.Run
	code    errext.ExitCode
	reasons []string

	// slots index the planned checks in record.Checks; judgedKeys are
	// those with a verdict (see checks.go).
	slots      map[string]int
	judgedKeys map[string]bool
	// cut is when a run stopped short of its plan (interrupt or abort: the
	// moment the load stopped); zero for a run that completed.
	cut time.Time
	// unjudged says why checks never reached were not evaluated.
	unjudged string
	// live is what was measured so far, for the checkpoints of the record.
	live live

	mu sync.Mutex
}

func (r *run) prepare() error {
	now := r.o.Now().UTC()
	r.began = now
	r.id = fmt.Sprintf("%s-%s", r.exp.Metadata.Name, now.Format("20060102T150405Z"))
	r.dir = filepath.Join(r.o.RunsDir, r.id)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("run: create run directory: %w", err)
	}
	r.seed = r.exp.Spec.Load.Seed
	if r.o.Seed != 0 {
		r.seed = r.o.Seed
	}
	if r.seed == 0 {
		r.seed = 1
	}
	r.record = &reports.Run{
		SchemaVersion: reports.SchemaVersion,
		ID:            r.id,
		Scenario: reports.Scenario{
			Name: r.exp.Metadata.Name, Description: r.exp.Metadata.Description,
			File: r.exp.File, YAML: r.o.YAML,
		},
		Variant:         r.exp.Spec.SUT.Variant,
		Seeds:           map[string]int64{"load": r.seed, "faults": r.seed},
		Environment:     reports.CurrentEnvironment(r.o.Version, r.exp.Spec.Runtime),
		IntervalSeconds: 1,
		Verdict:         reports.VerdictRunning,
	}
	r.judgedKeys = map[string]bool{}
	r.planChecks()
	if err := r.openJournal(); err != nil {
		return fmt.Errorf("run: journal: %w", err)
	}
	r.checkpoint()
	return nil
}

// fail records a reason and raises the exit code (a platform failure wins
// over a failed check, an interruption over both).
func (r *run) fail(code errext.ExitCode, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, fmt.Sprintf(format, args...))
	if errext.Severity(code) > errext.Severity(r.code) {
		r.code = code
	}
}

// execute runs the game day; every failure is recorded with r.fail.
func (r *run) execute(ctx context.Context) {
	spec := r.exp.Spec
	log := r.o.Logger

	// The effective policy: the variant (inline or the shop's) with the
	// scenario's replicas and overrides.
	v, err := r.exp.ResolveVariant(spec.SUT.Variant)
	if err == nil {
		v, err = v.Apply(spec.SUT.Replicas, spec.SUT.Overrides)
	}
	if err != nil {
		r.fail(errext.Invalid, "variant %s: %v", spec.SUT.Variant, err)
		return
	}
	r.variant = v
	policyFile := filepath.Join(r.dir, "policy.yaml")
	if b, err := v.Marshal(); err != nil {
		r.fail(errext.Invalid, "policy: %v", err)
		return
	} else {
		if err := os.WriteFile(policyFile, b, 0o644); err != nil {
			r.fail(errext.Platform, "write policy: %v", err)
			return
		}
		r.record.Policy = reports.Policy{Name: v.Name, Hash: v.Hash(), YAML: string(b)}
	}

	// Metrics store first, so that it sees the shop from its first second.
	store, err := r.openStore(ctx)
	if err != nil {
		r.fail(errext.Platform, "metrics: %v", err)
		return
	}
	r.store = store
	defer func() {
		if err := store.Close(); err != nil {
			log.Warn("close metrics store", "err", err)
		}
	}()

	// The client's metrics, served on loopback for the store to scrape.
	client, err := startClientMetrics(ctx)
	if err != nil {
		r.fail(errext.Platform, "client metrics: %v", err)
		return
	}
	defer client.Close()

	rt, ok := r.runtime(spec.Runtime)
	if !ok {
		r.fail(errext.Invalid, "runtime %q is not available in this build (have: %s)", spec.Runtime, strings.Join(r.runtimeNames(), ", "))
		return
	}
	fmt.Fprintf(r.o.Out, "gameday: %s — deploying the shop (%s variant, %s runtime)\n", r.exp.Metadata.Name, v.Name, spec.Runtime)
	ds := ShopSpec(v)
	ds.Policy, ds.RunDir, ds.RunID = policyFile, r.dir, r.id
	ds.Journal, ds.Seed, ds.Logger, ds.Settings = r.o.Journal, r.seed, log, r.o.Settings
	dep, err := rt.Deploy(ctx, ds)
	if err != nil {
		if ctx.Err() != nil {
			r.fail(errext.Interrupted, "interrupted while deploying")
			return
		}
		r.fail(errext.Platform, "deploy: %v", err)
		return
	}
	r.dep = dep
	if im, ok := dep.(interface{ ImageID() string }); ok {
		r.record.Environment.Image = im.ImageID()
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := dep.Close(cctx); err != nil {
			r.fail(errext.Platform, "tear down: %v", err)
		}
	}()
	targets := append(dep.Targets(), client.Target())
	if err := store.SetTargets(targets); err != nil {
		if ctx.Err() != nil {
			r.fail(errext.Interrupted, "interrupted while the metrics store picked up its targets")
			return
		}
		r.fail(errext.Platform, "metrics targets: %v", err)
		return
	}

	r.drive(ctx, client)
}

// drive runs the load, the fault timeline and the abort watcher together,
// then evaluates every check.
func (r *run) drive(ctx context.Context, client *clientMetrics) {
	spec := r.exp.Spec
	q := r.store.Querier()

	hlog, err := os.Create(filepath.Join(r.dir, "latency.hlog"))
	if err != nil {
		r.fail(errext.Platform, "hlog: %v", err)
		return
	}
	defer hlog.Close()

	progress := loadgen.NewProgress(r.o.Out, r.o.TTY, r.plan.Total.D())
	r.phases = newPhaseRecorder(r.plan)
	cfg := spec.Load.Config()
	cfg.BaseURL, cfg.Seed = r.dep.GatewayURL(), r.seed
	cfg.HlogWriter = hlog
	cfg.OnInterval = func(iv loadgen.Interval) {
		r.live.addInterval(iv)
		r.phases.add(iv, r.loadStart())
		progress.Update(iv)
	}
	gen, err := loadgen.New(cfg, client.metrics)
	if err != nil {
		progress.Close()
		r.fail(errext.Invalid, "load: %v", err)
		return
	}

	// runCtx stops the load early: on an abort condition or an interruption.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)

	timeline := &faults.Timeline{
		Runtime: r.dep, Journal: r.o.Journal, RunID: r.id,
		Faults: r.plan.Timeline(r.seed),
		OnEvent: func(e faults.Event) {
			r.live.addEvent(e)
			r.o.Logger.Info("fault", "fault", e.Fault, "action", e.Action, "late", e.Late, "err", e.Error)
			if r.o.OnFaultEvent != nil {
				r.o.OnFaultEvent(e)
			}
		},
	}
	if err := timeline.Validate(); err != nil {
		progress.Close()
		r.fail(errext.Invalid, "faults: %v", err)
		return
	}

	var wg sync.WaitGroup
	loadDone := make(chan struct{})
	r.setLoadStart(r.o.Now())
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(loadDone)
		res, err := gen.Run(runCtx)
		if err != nil {
			r.fail(errext.Platform, "load: %v", err)
		}
		r.result = res
	}()

	// The abort watcher runs for the whole load.
	abortFired := make(chan *metrics.Abort, 1)
	if len(spec.AbortWhen) > 0 {
		w := &metrics.AbortWatcher{Querier: q, Conditions: abortConditions(spec.AbortWhen), Step: spec.ScrapeInterval.D(), Logger: r.o.Logger}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := w.Run(runCtx)
			if err != nil && runCtx.Err() == nil {
				r.o.Logger.Warn("abort watcher", "err", err)
			}
			if a != nil {
				abortFired <- a
				stopRun(errAborted)
			}
		}()
	}

	// The record is rewritten as the load goes, for a crash.
	cpCtx, stopCheckpoints := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.checkpoints(cpCtx)
	}()
	defer stopCheckpoints()

	exec, steadyOK := r.startFaults(runCtx, timeline, q, loadDone)

	<-loadDone
	if runCtx.Err() != nil {
		r.mu.Lock()
		r.cut = r.o.Now()
		r.mu.Unlock()
	}
	// Revert whatever is still injected (an abort or interrupt cut the
	// timeline short), then wait for the timeline's own goroutines.
	if exec != nil {
		var evs []faults.Event
		var err error
		if runCtx.Err() != nil {
			evs, err = exec.Abort()
		} else {
			evs, err = exec.Wait()
		}
		r.events = evs
		if err != nil {
			r.fail(errext.Platform, "faults: %v", err)
		}
	}
	stopRun(nil)
	stopCheckpoints()
	wg.Wait()
	progress.Close()
	r.checkpoint()

	select {
	case a := <-abortFired:
		r.recordAbort(a)
	default:
	}
	if ctx.Err() != nil {
		if cut := r.cutAt(); !cut.IsZero() {
			r.fail(errext.Interrupted, "stopped by a signal at t=%s", fmtOffset(r.offset(cut)))
		} else {
			r.fail(errext.Interrupted, "stopped by a signal")
		}
	}

	// Let the last scrape and rule evaluation land, then judge.
	if ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(settle(spec.ScrapeInterval.D())):
		}
	}
	evalCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if steadyOK {
		r.evaluate(evalCtx, q)
	} else {
		r.unjudged = "not evaluated: the steady state did not hold before the first fault, so no fault was injected"
	}
	r.recordShop(evalCtx, q)
	switch {
	case !spec.Integrity:
	case r.code == errext.Interrupted:
		r.setCheck(integrityKey, r.notEvaluated(r.pending(integrityKey), metrics.Check{},
			"not evaluated: the run was interrupted; integrity is checked only after the load has run its course or was aborted"))
	default:
		r.checkIntegrity(evalCtx)
	}
}

var errAborted = errors.New("abort condition fired")

func (r *run) setLoadStart(t time.Time) {
	r.mu.Lock()
	r.start = t
	r.mu.Unlock()
}

func (r *run) loadStart() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start
}

// startFaults checks the steady state just before the first fault and, if
// it holds, starts the fault timeline on the load's clock. It returns the
// execution (nil when nothing was started) and whether the steady state
// held (false: the checks after the run are skipped, the run fails).
func (r *run) startFaults(ctx context.Context, tl *faults.Timeline, q metrics.Querier, loadDone <-chan struct{}) (*faults.Execution, bool) {
	if len(r.plan.Faults) == 0 {
		return nil, true
	}
	first := r.plan.Faults[0].Start.D()
	// Check the steady state a little before the first fault: the store has
	// the previous scrape by then.
	checkAt := r.loadStart().Add(first - 300*time.Millisecond)
	if len(r.exp.Spec.SteadyState) > 0 {
		select {
		case <-ctx.Done():
			return nil, false
		case <-loadDone:
			return nil, false
		case <-time.After(time.Until(checkAt)):
		}
		held := true
		for _, pc := range r.plan.SteadyState {
			if pc.When != experiments.CheckBeforeFaults {
				continue
			}
			c := r.steadyCheck(pc, r.o.Now())
			res := metrics.Evaluate(ctx, q, c)
			key := steadyKey(pc)
			r.setCheck(key, r.judged(r.pending(key), c, res))
			if !res.Pass {
				held = false
			}
		}
		if !held {
			r.fail(errext.Failed, "steady state did not hold before the first fault: no fault was injected")
			return nil, false
		}
	}
	exec, err := tl.Start(ctx, r.loadStart())
	if err != nil {
		r.fail(errext.Platform, "faults: %v", err)
		return nil, true
	}
	return exec, true
}

func (r *run) steadyCheck(pc experiments.PlannedCheck, end time.Time) metrics.Check {
	start := r.loadStart().Add(pc.Window.Start.D())
	if !end.After(start) {
		start = end
	}
	c := metrics.Check{
		Name: pc.Name, Query: pc.PromQL, Bound: pc.Expect.Bound,
		Start: start, End: end, Mode: metrics.ModeEnd, Step: r.exp.Spec.ScrapeInterval.D(),
	}
	sc := r.exp.Spec.SteadyState[pc.Index]
	if sc.For.D() > 0 {
		c.Mode, c.For = metrics.ModeContinuous, 0
	}
	c.MinSamples = sc.MinSamples
	return c
}

func (r *run) recordAbort(a *metrics.Abort) {
	at := a.At.Sub(r.loadStart()).Seconds()
	r.record.Abort = &reports.Abort{Condition: a.Reason, FiredAt: at, Observed: a.Observed}
	if r.record.Abort.Condition == "" {
		r.record.Abort.Condition = a.Condition.Name + ": " + a.Condition.Query
	}
	r.fail(errext.Failed, "aborted at %.1fs: %s", at, r.record.Abort.Condition)
}

// runtime is the runtime of that name: from Options.Runtimes when set,
// else from the platform registry.
func (r *run) runtime(name string) (platform.Runtime, bool) {
	if r.o.Runtimes != nil {
		rt, ok := r.o.Runtimes[name]
		return rt, ok
	}
	return platform.Lookup(name)
}

// runtimeNames lists the runtimes this run may use, sorted.
func (r *run) runtimeNames() []string {
	if r.o.Runtimes == nil {
		return platform.Names()
	}
	return slices.Sorted(maps.Keys(r.o.Runtimes))
}
