package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
)

// linkFault adds one toxic to a set of links and removes it again.
type linkFault struct {
	name  string
	toxic proxy.Toxic
	// links resolves the links the fault acts on (once, at Prepare).
	resolve func() ([]Link, string, error)

	mu     sync.Mutex
	links  []Link
	desc   string
	ready  bool
	active map[int]string // link index → toxic id
}

func linkRuntime(rt Runtime) (LinkRuntime, error) {
	lr, ok := rt.(LinkRuntime)
	if !ok {
		return nil, fmt.Errorf("runtime %s cannot shape call edges", rt.Name())
	}
	return lr, nil
}

// inbound resolves the edges into target.Service (from target.From if set).
func inbound(lr LinkRuntime, t Target) func() ([]Link, string, error) {
	return func() ([]Link, string, error) {
		if t.Service == "" {
			return nil, "", errors.New("target: service is required")
		}
		ls, err := lr.Links(t.Service, t.From)
		if err != nil {
			return nil, "", err
		}
		if len(ls) == 0 {
			return nil, "", fmt.Errorf("no call edge into %s (from %q)", t.Service, t.From)
		}
		from := t.From
		if from == "" {
			from = "*"
		}
		return ls, fmt.Sprintf("%s→%s", from, t.Service), nil
	}
}

func (l *linkFault) prepare() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ready {
		return nil
	}
	if err := l.toxic.Validate(); err != nil {
		return err
	}
	ls, desc, err := l.resolve()
	if err != nil {
		return err
	}
	l.links, l.desc, l.ready, l.active = ls, desc, true, map[int]string{}
	return nil
}

func (l *linkFault) Prepare(context.Context) ([]journal.Undo, error) {
	if err := l.prepare(); err != nil {
		return nil, err
	}
	return []journal.Undo{{Kind: journal.EndsWithHarness, Detail: fmt.Sprintf("%s on %d proxies of %s", l.toxic.Type(), len(l.links), l.desc)}}, nil
}

func (l *linkFault) Inject(ctx context.Context) error {
	if err := l.prepare(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for i, ln := range l.links {
		if _, on := l.active[i]; on {
			continue
		}
		id, err := ln.AddToxic(ctx, l.toxic)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s on %s: %w", l.toxic.Type(), l.desc, err))
			continue
		}
		l.active[i] = id
	}
	return errors.Join(errs...)
}

// Revert removes the toxic from every link it was added to; a second call
// finds nothing left to remove.
func (l *linkFault) Revert(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for i, id := range l.active {
		if err := l.links[i].RemoveToxic(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("remove %s from %s: %w", l.toxic.Type(), l.desc, err))
			continue
		}
		delete(l.active, i)
	}
	return errors.Join(errs...)
}

// Links returns the number of links the fault acts on (after Prepare).
func (l *linkFault) Links() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.links)
}

var directionParam = Param{Name: "direction", Kind: KindEnum, Enum: []string{"upstream", "downstream", "both"}, Default: "downstream",
	Help: "upstream: requests (caller → callee); downstream: responses; both: each way"}

func direction(s string) proxy.Direction {
	d, err := proxy.ParseDirection(s)
	if err != nil {
		return proxy.Downstream
	}
	return d
}
