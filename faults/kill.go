package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gameday/gameday/journal"
)

func init() {
	register(TypeInfo{
		Name:    "kill",
		Instant: true,
		Summary: "SIGKILL a count or a percentage of a service's instances; the runtime restarts them after a delay (with backoff), at the fault's end, or never.",
		Class:   ClassProcess,
		Params: []Param{
			{Name: "restart", Kind: KindEnum, Enum: []string{"delay", "end", "never"}, Default: "delay", Help: "delay: restart after restartDelay (doubling on repeated kills, like a kubelet); end: stay dead until the fault ends; never: stay dead for the rest of the run"},
			{Name: "restartDelay", Kind: KindDuration, Default: "1s", Help: "how long a killed instance stays down before its restart (restart: delay; 0s restarts at once)"},
		},
	}, newKill)
}

type kill struct {
	processFault
	policy   RestartPolicy
	once     sync.Once
	injected bool
}

func newKill(spec Spec, rt Runtime) (Fault, error) {
	pr, err := processRuntime(spec, rt)
	if err != nil {
		return nil, err
	}
	p := params(spec.Params)
	return &kill{
		processFault: processFault{spec: spec, rt: pr},
		policy:       RestartPolicy{Mode: RestartMode(p["restart"]), Delay: p.duration("restartDelay")},
	}, nil
}

func (k *kill) Prepare(context.Context) ([]journal.Undo, error) {
	sel, err := k.choose()
	if err != nil {
		return nil, err
	}
	var u []journal.Undo
	for _, in := range sel {
		u = append(u, journal.Undo{Kind: journal.EndsWithHarness, Detail: fmt.Sprintf("kill of %s (restart %s)", in.ID, k.policy.Mode)})
	}
	return u, nil
}

func (k *kill) Inject(ctx context.Context) error {
	sel, err := k.choose()
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.injected = true
	k.mu.Unlock()
	var errs []error
	for _, in := range sel {
		if err := k.rt.Kill(ctx, in, k.policy); err != nil {
			errs = append(errs, fmt.Errorf("kill %s: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Revert restarts the instances when the policy is "end"; a killed process
// is otherwise already handled by the runtime's restart policy.
func (k *kill) Revert(ctx context.Context) error {
	k.mu.Lock()
	injected := k.injected
	k.mu.Unlock()
	if !injected || k.policy.Mode != RestartAtRevert {
		return nil
	}
	var err error
	k.once.Do(func() {
		var errs []error
		for _, in := range k.Targets() {
			if e := k.rt.Restart(ctx, in); e != nil {
				errs = append(errs, fmt.Errorf("restart %s: %w", in.ID, e))
			}
		}
		err = errors.Join(errs...)
	})
	return err
}
