package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/gameday/gameday/journal"
)

func init() {
	register(TypeInfo{
		Name:    "http-abort",
		Summary: "Answer a share of a service's requests (optionally one operation) with an error status, through the shop's admin fault API.",
		Class:   ClassHTTP,
		Params: []Param{
			{Name: "status", Kind: KindInt, Default: "503", Help: "HTTP status returned instead of handling the request"},
			{Name: "percent", Kind: KindPercent, Default: "100%", Help: "share of requests aborted"},
			operationParam, edgeParam,
		},
		Check: oneOfOperationOrEdge,
	}, func(spec Spec, rt Runtime) (Fault, error) {
		p := params(spec.Params)
		st := p.int("status")
		if st < 400 || st > 599 {
			return nil, fmt.Errorf("status %s: want an error status from 400 to 599", strconv.Itoa(st))
		}
		return newHTTPFault(spec, rt, HTTPFault{Operation: p["operation"], Edge: p["edge"], Status: st, Percent: p.percent("percent")})
	})
	register(TypeInfo{
		Name:    "http-delay",
		Summary: "Delay a share of a service's requests (optionally one operation) inside the service, through the shop's admin fault API.",
		Class:   ClassHTTP,
		Params: []Param{
			{Name: "delay", Kind: KindDuration, Required: true, Help: "added delay before the request is handled"},
			{Name: "percent", Kind: KindPercent, Default: "100%", Help: "share of requests delayed"},
			{Name: "jitter", Kind: KindDuration, Default: "0s", Help: "uniform jitter around delay"},
			operationParam, edgeParam,
		},
		Check: oneOfOperationOrEdge,
	}, func(spec Spec, rt Runtime) (Fault, error) {
		p := params(spec.Params)
		return newHTTPFault(spec, rt, HTTPFault{Operation: p["operation"], Edge: p["edge"], Delay: p.duration("delay"), Jitter: p.duration("jitter"), Percent: p.percent("percent")})
	})
}

var (
	operationParam = Param{Name: "operation", Kind: KindString, Help: "an inbound operation of the target service, such as charge (give operation or edge)"}
	edgeParam      = Param{Name: "edge", Kind: KindString, Help: "an outgoing call of the target service, named by its callee, such as payment (give operation or edge)"}
)

// oneOfOperationOrEdge: the shop's admin API faults either an inbound
// operation or an outgoing edge, never both, never neither.
func oneOfOperationOrEdge(p map[string]string) error {
	if (p["operation"] == "") == (p["edge"] == "") {
		return errors.New("give exactly one of the parameters operation and edge")
	}
	return nil
}

type httpFault struct {
	spec Spec
	rt   HTTPRuntime
	f    HTTPFault

	mu       sync.Mutex
	prepared bool
	targets  []Instance
	ids      map[int]string // target index → admin fault id
}

func newHTTPFault(spec Spec, rt Runtime, f HTTPFault) (Fault, error) {
	hr, ok := rt.(HTTPRuntime)
	if !ok {
		return nil, fmt.Errorf("runtime %s has no HTTP fault API", rt.Name())
	}
	if spec.Target.Service == "" {
		return nil, errors.New("target: service is required")
	}
	return &httpFault{spec: spec, rt: hr, f: f, ids: map[int]string{}}, nil
}

func (h *httpFault) choose() ([]Instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prepared {
		return h.targets, nil
	}
	insts, err := h.rt.Instances(h.spec.Target.Service)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", h.spec.Target.Service, err)
	}
	sel, err := SelectInstances(h.spec.Target, insts, h.spec.Seed, "all")
	if err != nil {
		return nil, err
	}
	h.targets, h.prepared = sel, true
	return sel, nil
}

func (h *httpFault) Prepare(context.Context) ([]journal.Undo, error) {
	sel, err := h.choose()
	if err != nil {
		return nil, err
	}
	var u []journal.Undo
	for _, in := range sel {
		u = append(u, journal.Undo{Kind: journal.EndsWithHarness, Detail: fmt.Sprintf("%s on %s: held in the instance's memory, ends with it", h.spec.Type, in.ID)})
	}
	return u, nil
}

func (h *httpFault) Inject(ctx context.Context) error {
	sel, err := h.choose()
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for i, in := range sel {
		if _, on := h.ids[i]; on {
			continue
		}
		id, err := h.rt.SetHTTPFault(ctx, in, h.f)
		if err != nil {
			errs = append(errs, fmt.Errorf("set %s on %s: %w", h.spec.Type, in.ID, err))
			continue
		}
		h.ids[i] = id
	}
	return errors.Join(errs...)
}

func (h *httpFault) Revert(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for i, id := range h.ids {
		if err := h.rt.ClearHTTPFault(ctx, h.targets[i], id); err != nil {
			errs = append(errs, fmt.Errorf("clear %s on %s: %w", h.spec.Type, h.targets[i].ID, err))
			continue
		}
		delete(h.ids, i)
	}
	return errors.Join(errs...)
}
