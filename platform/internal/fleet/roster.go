package fleet

import (
	"context"
	"fmt"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/metrics"
)

// Member is what every runtime knows of one instance whatever runs it:
// its service, its index among the service's replicas, its id
// ("payment-0") and the stable host address of its /metrics and /admin
// (Ctl: a plain proxy, never faulted, re-pointed when a restart moves the
// instance). The runtimes embed it in their instance type.
type Member struct {
	Service string
	Index   int
	ID      string
	Ctl     *proxy.Proxy
}

func (m *Member) member() *Member { return m }

// Instance is a runtime's instance type: a Member with a slot whose
// Restart brings it back, and that names its current start.
type Instance interface {
	member() *Member
	Restart(ctx context.Context, id string) error
	// CurrentRef names the instance's current start in the runtime's own
	// terms (faults.Instance.Ref), if it is up.
	CurrentRef() (ref string, up bool)
}

// Roster is a deployment's instances in start order, found by id or by
// service. It is filled while the deployment starts and read-only after.
type Roster[I Instance] struct {
	all       []I
	byService map[string][]I
}

// Add appends an instance.
func (r *Roster[I]) Add(in I) {
	if r.byService == nil {
		r.byService = map[string][]I{}
	}
	m := in.member()
	r.all = append(r.all, in)
	r.byService[m.Service] = append(r.byService[m.Service], in)
}

// All lists every instance in start order.
func (r *Roster[I]) All() []I { return r.all }

// Of lists a service's instances by index.
func (r *Roster[I]) Of(service string) []I { return r.byService[service] }

// Get finds an instance by id.
func (r *Roster[I]) Get(id string) (I, error) {
	for _, in := range r.all {
		if in.member().ID == id {
			return in, nil
		}
	}
	var zero I
	return zero, fmt.Errorf("no instance %q", id)
}

// Running lists a service's instances that are up, as fault targets.
func (r *Roster[I]) Running(service string) []faults.Instance {
	var out []faults.Instance
	for _, in := range r.byService[service] {
		if s, ok := in.CurrentRef(); ok {
			m := in.member()
			out = append(out, faults.Instance{Service: m.Service, Index: m.Index, ID: m.ID, Ref: s})
		}
	}
	return out
}

// Targets lists every instance's /metrics through its stable control
// address, which survives restarts, labelled with the runtime's name.
func (r *Roster[I]) Targets(runtime string) []metrics.Target {
	var out []metrics.Target
	for _, in := range r.all {
		m := in.member()
		if m.Ctl != nil {
			out = append(out, MetricsTarget(m.Service, m.ID, m.Ctl.Addr(), runtime))
		}
	}
	return out
}

// AdminURL is the base URL of an instance's admin API (stable across
// restarts).
func (r *Roster[I]) AdminURL(id string) (string, error) {
	in, err := r.Get(id)
	if err != nil {
		return "", err
	}
	if in.member().Ctl == nil {
		return "", fmt.Errorf("instance %q has no control address yet", id)
	}
	return "http://" + in.member().Ctl.Addr(), nil
}

// Restart implements faults.ProcessRuntime's Restart for every runtime
// with a roster: it wakes a down instance and waits until it is up again;
// a running instance is left alone.
func (r *Roster[I]) Restart(ctx context.Context, fi faults.Instance) error {
	in, err := r.Get(fi.ID)
	if err != nil {
		return err
	}
	return in.Restart(ctx, fi.ID)
}
