package faults

import (
	"errors"
	"fmt"
	"sync"
)

// processFault is the shared part of kill and pause: the chosen instances
// of a process runtime.
type processFault struct {
	spec     Spec
	rt       ProcessRuntime
	mu       sync.Mutex
	targets  []Instance
	prepared bool
}

func processRuntime(spec Spec, rt Runtime) (ProcessRuntime, error) {
	pr, ok := rt.(ProcessRuntime)
	if !ok {
		return nil, fmt.Errorf("runtime %s cannot kill or pause processes", rt.Name())
	}
	if spec.Target.Service == "" {
		return nil, errors.New("target: service is required")
	}
	return pr, nil
}

// choose picks the instances once: a repeated occurrence gets a new fault.
func (p *processFault) choose() ([]Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prepared {
		return p.targets, nil
	}
	insts, err := p.rt.Instances(p.spec.Target.Service)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p.spec.Target.Service, err)
	}
	sel, err := SelectInstances(p.spec.Target, insts, p.spec.Seed, "1")
	if err != nil {
		return nil, err
	}
	p.targets, p.prepared = sel, true
	return sel, nil
}

// Targets returns the instances chosen by Prepare (nil before).
func (p *processFault) Targets() []Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Instance(nil), p.targets...)
}
