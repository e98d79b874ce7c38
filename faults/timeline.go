package faults

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/gameday/gameday/journal"
)

// Planned is one occurrence of a fault on the timeline: injected At after
// the start and reverted Duration later. A fault that repeats is one Planned
// per occurrence (the plan of the experiment expands every/times once; the
// timeline does not expand anything), each with its own Spec.Seed and so
// its own target pick; Occurrence numbers them from 0 within their fault.
// Occurrences may overlap each other and other faults.
type Planned struct {
	Spec       Spec
	Occurrence int
	At         time.Duration
	Duration   time.Duration
}

// Action is what the executor did at a moment of the timeline.
type Action string

// Actions.
const (
	Inject Action = "inject"
	Revert Action = "revert"
)

// Event is one planned action and when it actually happened, for the report.
type Event struct {
	Fault      string        `json:"fault"`
	Type       string        `json:"type"`
	Occurrence int           `json:"occurrence"`
	Action     Action        `json:"action"`
	Planned    time.Time     `json:"planned"`
	Actual     time.Time     `json:"actual"`
	Late       time.Duration `json:"late"`   // Actual - Planned (negative: early, on interrupt)
	Reason     string        `json:"reason"` // planned, interrupted, panic, inject failed
	Error      string        `json:"error,omitempty"`
}

// Timeline executes planned faults against a runtime.
type Timeline struct {
	Runtime Runtime
	// Journal, when set, receives an fsynced intent record before each
	// inject; the record is cleared once the revert succeeded.
	Journal *journal.Journal
	RunID   string
	Faults  []Planned
	// RevertTimeout bounds each revert (default 10s); reverts run on a
	// context detached from the run's, so that cancelling the run still
	// reverts.
	RevertTimeout time.Duration
	// OnEvent, when set, sees each event as it happens (serialised).
	OnEvent func(Event)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

type occurrence struct {
	p     Planned
	fault Fault
}

// occurrences builds every fault of the plan, so that all validation errors
// come before anything is injected, and orders them by injection time.
func (t *Timeline) occurrences() ([]occurrence, error) {
	var out []occurrence
	var errs []error
	for _, p := range t.Faults {
		if p.At < 0 || p.Duration < 0 || p.Occurrence < 0 {
			errs = append(errs, fmt.Errorf("fault %s: negative at, duration or occurrence", p.Spec.Name))
			continue
		}
		f, err := New(p.Spec, t.Runtime)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, occurrence{p: p, fault: f})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].p.At < out[j].p.At })
	return out, errors.Join(errs...)
}

// Validate builds every fault of the plan without injecting anything.
func (t *Timeline) Validate() error {
	_, err := t.occurrences()
	return err
}

// Execution is a running timeline.
type Execution struct {
	t      *Timeline
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	events []Event
	errs   []error
}

// Run executes the timeline from start and returns when every fault has
// been reverted: at its planned end, or at once when ctx is cancelled.
func (t *Timeline) Run(ctx context.Context, start time.Time) ([]Event, error) {
	x, err := t.Start(ctx, start)
	if err != nil {
		return nil, err
	}
	return x.Wait()
}

// Start validates the plan and starts executing it in the background. Stop
// the execution with Abort (or by cancelling ctx) and collect it with Wait.
func (t *Timeline) Start(ctx context.Context, start time.Time) (*Execution, error) {
	occ, err := t.occurrences()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	x := &Execution{t: t, cancel: cancel}
	for _, o := range occ {
		x.wg.Add(1)
		go x.run(ctx, o, start)
	}
	return x, nil
}

// Abort reverts every injected fault at once and waits for the reverts.
func (x *Execution) Abort() ([]Event, error) {
	x.cancel()
	return x.Wait()
}

// Wait waits until every occurrence is reverted (or was never injected)
// and returns the events in time order and the inject and revert errors.
func (x *Execution) Wait() ([]Event, error) {
	x.wg.Wait()
	x.cancel()
	x.mu.Lock()
	defer x.mu.Unlock()
	ev := append([]Event(nil), x.events...)
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].Actual.Before(ev[j].Actual) })
	return ev, errors.Join(x.errs...)
}

// Events returns the events so far.
func (x *Execution) Events() []Event {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]Event(nil), x.events...)
}

func (x *Execution) now() time.Time {
	if x.t.Now != nil {
		return x.t.Now()
	}
	return time.Now()
}

func (x *Execution) record(e Event, err error) {
	if err != nil {
		e.Error = err.Error()
	}
	e.Late = e.Actual.Sub(e.Planned)
	x.mu.Lock()
	x.events = append(x.events, e)
	if err != nil {
		x.errs = append(x.errs, fmt.Errorf("%s %s #%d: %w", e.Action, e.Fault, e.Occurrence, err))
	}
	if x.t.OnEvent != nil {
		x.t.OnEvent(e)
	}
	x.mu.Unlock()
}

// run owns one occurrence: wait, journal, inject, wait, revert. A panic in
// a fault is recovered here and the fault reverted.
func (x *Execution) run(ctx context.Context, o occurrence, start time.Time) {
	defer x.wg.Done()
	base := Event{Fault: o.p.Spec.Name, Type: o.p.Spec.Type, Occurrence: o.p.Occurrence}
	injectAt := start.Add(o.p.At)
	revertAt := injectAt.Add(o.p.Duration)
	// Resolve the targets and write the intent (an fsync) ahead of the
	// planned time, so that the inject itself lands on time. An intent
	// written for a fault that is then not injected is harmless: its undo
	// actions are idempotent.
	if !sleepUntil(ctx, injectAt.Add(-prepareLead)) {
		return
	}
	intentID := fmt.Sprintf("%s-%s-%d", x.t.RunID, o.p.Spec.Name, o.p.Occurrence)
	injected := false
	reverted := false
	revert := func(reason string) {
		if reverted || !injected {
			return
		}
		reverted = true
		to := x.t.RevertTimeout
		if to <= 0 {
			to = 10 * time.Second
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), to)
		defer cancel()
		planned := revertAt
		err := safe(func() error { return o.fault.Revert(rctx) })
		e := base
		e.Action, e.Planned, e.Actual, e.Reason = Revert, planned, x.now(), reason
		if err == nil && x.t.Journal != nil {
			err = x.t.Journal.ClearIntent(intentID)
		}
		x.record(e, err)
	}
	defer func() {
		if r := recover(); r != nil {
			x.record(Event{Fault: base.Fault, Type: base.Type, Occurrence: o.p.Occurrence, Action: Revert, Planned: revertAt, Actual: x.now(), Reason: "panic"},
				fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
			revert("panic")
		}
	}()

	var undo []journal.Undo
	var err error
	if p, ok := o.fault.(Preparer); ok {
		undo, err = safeUndo(func() ([]journal.Undo, error) { return p.Prepare(ctx) })
	}
	if err == nil && x.t.Journal != nil {
		err = x.t.Journal.WriteIntent(journal.Intent{ID: intentID, RunID: x.t.RunID, Fault: o.p.Spec.Name, Type: o.p.Spec.Type, Created: x.now().UTC(), Undo: undo})
	}
	if err != nil {
		e := base
		e.Action, e.Planned, e.Actual, e.Reason = Inject, injectAt, x.now(), "prepare failed"
		x.record(e, err)
		return
	}
	if !sleepUntil(ctx, injectAt) {
		if x.t.Journal != nil {
			_ = x.t.Journal.ClearIntent(intentID)
		}
		return
	}
	injected = true // from here on a revert is due, even if Inject fails half-way
	err = safe(func() error { return o.fault.Inject(ctx) })
	e := base
	e.Action, e.Planned, e.Actual, e.Reason = Inject, injectAt, x.now(), "planned"
	if err != nil && ctx.Err() != nil {
		// The run was stopped (abort condition, Ctrl-C) while this fault was
		// being injected: that is not a failure of the fault. It is noted on
		// the event and reverted like any other.
		e.Reason, e.Error = "interrupted", err.Error()
		x.record(e, nil)
		revert("interrupted")
		return
	}
	x.record(e, err)
	if err != nil {
		revert("inject failed")
		return
	}
	if sleepUntil(ctx, revertAt) {
		revert("planned")
	} else {
		revert("interrupted")
	}
}

// prepareLead is how long before its planned time an occurrence resolves
// its targets and journals its intent.
const prepareLead = 20 * time.Millisecond

// sleepUntil waits until t and reports whether it got there before ctx ended.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func safe(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func safeUndo(f func() ([]journal.Undo, error)) (u []journal.Undo, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
