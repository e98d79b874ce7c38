package faults

import (
	"context"
	"errors"
	"fmt"

	"github.com/gameday/gameday/journal"
)

func init() {
	register(TypeInfo{
		Name:    "pause",
		Summary: "Freeze instances of a service (SIGSTOP) for the fault's duration, then thaw them (SIGCONT): the process holds its sockets but answers nothing.",
		Class:   ClassProcess,
		Needs:   func(rt Runtime) bool { _, ok := rt.(Pauser); return ok },
		Params:  []Param{},
	}, newPause)
}

type pause struct {
	processFault
	pr Pauser
}

func newPause(spec Spec, rt Runtime) (Fault, error) {
	pr, err := processRuntime(spec, rt)
	if err != nil {
		return nil, err
	}
	pa, ok := pr.(Pauser)
	if !ok {
		return nil, fmt.Errorf("runtime %s cannot pause an instance", rt.Name())
	}
	return &pause{processFault: processFault{spec: spec, rt: pr}, pr: pa}, nil
}

func (p *pause) Prepare(context.Context) ([]journal.Undo, error) {
	sel, err := p.choose()
	if err != nil {
		return nil, err
	}
	var u []journal.Undo
	for _, in := range sel {
		u = append(u, p.pr.PauseUndo(in))
	}
	return u, nil
}

func (p *pause) Inject(ctx context.Context) error {
	sel, err := p.choose()
	if err != nil {
		return err
	}
	var errs []error
	for _, in := range sel {
		if err := p.pr.Pause(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("pause %s: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Revert resumes every chosen instance; resuming a running or vanished
// instance is not an error, so Revert is idempotent.
func (p *pause) Revert(ctx context.Context) error {
	var errs []error
	for _, in := range p.Targets() {
		if err := p.pr.Resume(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("resume %s: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}
