package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gameday/gameday/journal"
)

func init() {
	register(TypeInfo{
		Name: "stop",
		Summary: "Stop a count or a percentage of a service's instances gracefully (SIGTERM: they drain in-flight requests and exit; SIGKILL after grace); " +
			"the runtime starts them again at the fault's end, after a delay (a restart), or never.",
		Class: ClassProcess,
		Needs: func(rt Runtime) bool { _, ok := rt.(Stopper); return ok },
		Params: []Param{
			{Name: "restart", Kind: KindEnum, Enum: []string{"end", "delay", "never"}, Default: "end", Help: "end: stay stopped until the fault ends; delay: start again after restartDelay (a restart); never: stay stopped for the rest of the run"},
			{Name: "restartDelay", Kind: KindDuration, Default: "0s", Help: "how long a stopped instance stays down before it starts again (restart: delay)"},
			{Name: "grace", Kind: KindDuration, Default: "10s", Help: "how long an instance may drain after SIGTERM before SIGKILL"},
		},
	}, newStop)
}

// Stopper is a process runtime that can also stop an instance gracefully.
type Stopper interface {
	ProcessRuntime
	// Stop sends SIGTERM, SIGKILL after grace, and applies the restart
	// policy; it returns once the instance has exited.
	Stop(ctx context.Context, inst Instance, grace time.Duration, restart RestartPolicy) error
}

type stop struct {
	processFault
	st       Stopper
	policy   RestartPolicy
	grace    time.Duration
	once     sync.Once
	injected bool
}

func newStop(spec Spec, rt Runtime) (Fault, error) {
	st, ok := rt.(Stopper)
	if !ok {
		return nil, fmt.Errorf("runtime %s cannot stop instances gracefully", rt.Name())
	}
	if _, err := processRuntime(spec, rt); err != nil {
		return nil, err
	}
	p := params(spec.Params)
	return &stop{
		processFault: processFault{spec: spec, rt: st}, st: st, grace: p.duration("grace"),
		policy: RestartPolicy{Mode: RestartMode(p["restart"]), Delay: p.duration("restartDelay")},
	}, nil
}

func (s *stop) Prepare(context.Context) ([]journal.Undo, error) {
	sel, err := s.choose()
	if err != nil {
		return nil, err
	}
	var u []journal.Undo
	for _, in := range sel {
		u = append(u, journal.Undo{Kind: journal.EndsWithHarness, Detail: fmt.Sprintf("stop of %s (restart %s)", in.ID, s.policy.Mode)})
	}
	return u, nil
}

func (s *stop) Inject(ctx context.Context) error {
	sel, err := s.choose()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.injected = true
	s.mu.Unlock()
	var errs []error
	for _, in := range sel {
		if err := s.st.Stop(ctx, in, s.grace, s.policy); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Revert starts the instances again when the policy is "end" (once); the
// runtime handles "delay" and "never" itself.
func (s *stop) Revert(ctx context.Context) error {
	s.mu.Lock()
	injected := s.injected
	s.mu.Unlock()
	if !injected || s.policy.Mode != RestartAtRevert {
		return nil
	}
	var err error
	s.once.Do(func() {
		var errs []error
		for _, in := range s.Targets() {
			if e := s.rt.Restart(ctx, in); e != nil {
				errs = append(errs, fmt.Errorf("restart %s: %w", in.ID, e))
			}
		}
		err = errors.Join(errs...)
	})
	return err
}
