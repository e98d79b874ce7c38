package faults

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
)

// The ≤ 10 ms target is about the executor, but on a shared machine the
// scheduler alone can starve a timer for longer; the test passes when one of
// three runs keeps every action within 10 ms (each attempt is logged).
func TestTimelineInjectsAndRevertsOnTimeWithRepeatsAndOverlaps(t *testing.T) {
	var worst []time.Duration
	for attempt := 0; attempt < 3; attempt++ {
		w, ok := timelineOnTime(t)
		worst = append(worst, w)
		if ok {
			t.Logf("worst lateness per attempt: %v", worst)
			return
		}
	}
	t.Errorf("every attempt had an action more than 10ms late: worst per attempt %v", worst)
}

func timelineOnTime(t *testing.T) (time.Duration, bool) {
	b := newLinkBed(t)
	j, err := journal.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	payment := b.proxies[Edge{"orders", "payment"}]
	orders := b.proxies[Edge{"gateway", "orders"}]
	var mu sync.Mutex
	var checks []string
	tl := &Timeline{
		Runtime: b, Journal: j, RunID: "run-1",
		Faults: []Planned{
			// Three occurrences of one fault, 150 ms apart.
			{Spec: Spec{Name: "slow-payment", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "5ms"}},
				At: 50 * time.Millisecond, Duration: 100 * time.Millisecond},
			{Spec: Spec{Name: "slow-payment", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "5ms"}, Seed: 1},
				Occurrence: 1, At: 200 * time.Millisecond, Duration: 100 * time.Millisecond},
			{Spec: Spec{Name: "slow-payment", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "5ms"}, Seed: 2},
				Occurrence: 2, At: 350 * time.Millisecond, Duration: 100 * time.Millisecond},
			{Spec: Spec{Name: "cut-orders", Type: "partition", Target: Target{Groups: [][]string{{"gateway"}, {"orders"}}}},
				At: 100 * time.Millisecond, Duration: 200 * time.Millisecond},
		},
		OnEvent: func(e Event) {
			// Runs right after the action: the proxy and the journal must agree.
			intents, _ := j.Intents()
			mu.Lock()
			defer mu.Unlock()
			px := payment
			if e.Fault == "cut-orders" {
				px = orders
			}
			active := len(px.Toxics()) > 0
			if (e.Action == Inject) != active {
				checks = append(checks, e.Fault+" "+string(e.Action)+": toxic active="+boolStr(active))
			}
			found := false
			for _, in := range intents {
				found = found || strings.Contains(in.ID, e.Fault)
			}
			if e.Action == Inject && !found {
				checks = append(checks, e.Fault+" injected without an intent in the journal")
			}
		},
	}
	events, err := tl.Run(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 8 {
		t.Fatalf("%d events, want 8: %+v", len(events), events)
	}
	var worst time.Duration
	onTime := true
	for _, e := range events {
		if e.Late < 0 || e.Late > 10*time.Millisecond {
			t.Logf("%s #%d %s: %v late, want ≤ 10ms", e.Fault, e.Occurrence, e.Action, e.Late)
			onTime = false
		}
		worst = max(worst, e.Late)
		if e.Reason != "planned" || e.Error != "" {
			t.Errorf("%+v", e)
		}
	}
	mu.Lock()
	for _, c := range checks {
		t.Error(c)
	}
	mu.Unlock()
	if in, _ := j.Intents(); len(in) != 0 {
		t.Errorf("journal keeps %d intents after the run", len(in))
	}
	return worst, onTime
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestTimelineCancelRevertsEverythingAtOnce(t *testing.T) {
	b := newLinkBed(t)
	j, _ := journal.Open(t.TempDir())
	injected := make(chan struct{}, 2)
	tl := &Timeline{
		Runtime: b, Journal: j, RunID: "run-2",
		Faults: []Planned{
			{Spec: Spec{Name: "a", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "1s"}}, Duration: time.Minute},
			{Spec: Spec{Name: "b", Type: "reset", Target: Target{Service: "orders"}}, Duration: time.Minute},
			{Spec: Spec{Name: "later", Type: "reset", Target: Target{Service: "gateway"}}, At: time.Minute, Duration: time.Minute},
		},
		OnEvent: func(e Event) {
			if e.Action == Inject {
				injected <- struct{}{}
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	x, err := tl.Start(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	<-injected
	<-injected
	start := time.Now()
	cancel()
	events, err := x.Wait()
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > 100*time.Millisecond {
		t.Errorf("reverting on cancel took %v", took)
	}
	reverts := 0
	for _, e := range events {
		if e.Action == Revert {
			reverts++
			if e.Reason != "interrupted" {
				t.Errorf("revert reason %q", e.Reason)
			}
		}
		if e.Fault == "later" {
			t.Errorf("a fault planned after the cancel ran: %+v", e)
		}
	}
	if reverts != 2 {
		t.Errorf("%d reverts, want 2", reverts)
	}
	for e, p := range b.proxies {
		if n := len(p.Toxics()); n != 0 {
			t.Errorf("%s→%s keeps %d toxics", e.From, e.To, n)
		}
	}
	if in, _ := j.Intents(); len(in) != 0 {
		t.Errorf("journal keeps %v", in)
	}
}

// panicLinks panics when a toxic is added to its second link, after the
// first link took it.
type panicLinks struct{ *linkBed }

type panicking struct{ *proxy.Proxy }

func (panicking) AddToxic(context.Context, proxy.Toxic) (string, error) { panic("proxy exploded") }

func (p panicLinks) Links(to, from string) ([]Link, error) {
	ls, err := p.linkBed.Links(to, from)
	return append(ls, panicking{}), err
}

func TestTimelinePanicInAFaultIsRecoveredAndReverted(t *testing.T) {
	b := newLinkBed(t)
	tl := &Timeline{
		Runtime: panicLinks{b}, RunID: "run-3",
		Faults: []Planned{{Spec: Spec{Name: "boom", Type: "latency", Target: Target{Service: "payment"}, Params: map[string]string{"delay": "1s"}}, Duration: time.Minute}},
	}
	start := time.Now()
	events, err := tl.Run(context.Background(), start)
	if err == nil || !strings.Contains(err.Error(), "proxy exploded") {
		t.Fatalf("error %v, want the panic", err)
	}
	if time.Since(start) > time.Second {
		t.Error("waited for the planned end after a panic")
	}
	if p := b.proxies[Edge{"orders", "payment"}]; len(p.Toxics()) != 0 {
		t.Error("the toxic added before the panic was not removed")
	}
	if len(events) != 2 || events[1].Action != Revert {
		t.Errorf("events %+v, want inject and revert", events)
	}
}

func TestTimelineValidatesEverythingBeforeStarting(t *testing.T) {
	b := newLinkBed(t)
	tl := &Timeline{Runtime: b, Faults: []Planned{
		{Spec: Spec{Name: "ok", Type: "reset", Target: Target{Service: "payment"}}, Duration: time.Second},
		{Spec: Spec{Name: "bad", Type: "latency", Target: Target{Service: "payment"}}, Duration: time.Second},
		{Spec: Spec{Name: "early", Type: "reset", Target: Target{Service: "payment"}}, At: -time.Second},
	}}
	err := tl.Validate()
	if err == nil || !strings.Contains(err.Error(), "delay is required") || !strings.Contains(err.Error(), "fault early: negative at") {
		t.Fatalf("%v", err)
	}
	if _, err := tl.Start(context.Background(), time.Now()); err == nil {
		t.Fatal("started an invalid plan")
	}
	if n := len(b.proxies[Edge{"orders", "payment"}].Toxics()); n != 0 {
		t.Fatal("an invalid plan injected something")
	}
}

// slowPauseBed stops the process, then waits for the context like a
// runtime that confirms the stop; it reports when the pause has begun.
type slowPauseBed struct {
	*procBed
	began chan struct{}
}

func (b slowPauseBed) Pause(ctx context.Context, in Instance) error {
	if err := b.procBed.Pause(ctx, in); err != nil {
		return err
	}
	close(b.began)
	<-ctx.Done()
	return ctx.Err()
}

// An abort that lands while a fault is being injected is not a failure of
// the fault: the run reports no error, and the half-done pause is reverted.
func TestTimelineCancelDuringInjectRevertsWithoutError(t *testing.T) {
	b := slowPauseBed{procBed: newProcBed(t, 1), began: make(chan struct{})}
	tl := &Timeline{
		Runtime: b, RunID: b.runID,
		Faults: []Planned{{Spec: Spec{Name: "freeze", Type: "pause", Target: Target{Service: "svc"}}, Duration: time.Minute}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	x, err := tl.Start(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	<-b.began
	if !waitStopped(b.procs[0].Process.Pid, true) {
		t.Fatal("the instance was not stopped")
	}
	cancel()
	events, err := x.Wait()
	if err != nil {
		t.Fatalf("an inject cut short by the run's end is an error: %v", err)
	}
	if len(events) != 2 || events[0].Reason != "interrupted" || events[0].Error == "" || events[1].Action != Revert || events[1].Error != "" {
		t.Fatalf("events %+v, want an interrupted inject (with its cause) and a clean revert", events)
	}
	if !waitStopped(b.procs[0].Process.Pid, false) {
		t.Error("the instance is still stopped after the revert")
	}
}
