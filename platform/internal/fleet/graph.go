package fleet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

// Service is a service to deploy, as the platform contract has it.
type Service = platform.Service

// Check checks a deployment's call graph: every service has at least one
// replica, the gateway is among the services and every edge joins two of
// them. Cycles are found by Order.
func Check(services []Service, edges []faults.Edge, gateway string) error {
	known := map[string]bool{}
	for _, s := range services {
		if s.Replicas < 1 {
			return fmt.Errorf("service %s: %d replicas", s.Name, s.Replicas)
		}
		known[s.Name] = true
	}
	if !known[gateway] {
		return fmt.Errorf("gateway %q is not among the services", gateway)
	}
	for _, e := range edges {
		if !known[e.From] || !known[e.To] {
			return fmt.Errorf("edge %s→%s names a service that is not deployed", e.From, e.To)
		}
	}
	return nil
}

// Order returns the services callees first (a depth-first walk along the
// edges, in the order given), so that every callee is up before its
// callers start; a call cycle is an error.
func Order(services []Service, edges []faults.Edge) ([]Service, error) {
	byName := map[string]Service{}
	for _, s := range services {
		byName[s.Name] = s
	}
	state := map[string]int{} // 1 visiting, 2 done
	var out []Service
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("call cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, e := range edges {
			if e.From == n {
				if err := visit(e.To); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, byName[n])
		return nil
	}
	for _, s := range services {
		if err := visit(s.Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Levels groups services given callees first (as Order returns them) by
// their distance from the leaves of the call graph: every callee of a
// service is in an earlier level, so the services of one level can start
// together.
func Levels(ordered []Service, edges []faults.Edge) [][]Service {
	depth := map[string]int{}
	var out [][]Service
	for _, s := range ordered { // callees first: their depth is known
		name := s.Name
		dd := 0
		for _, e := range edges {
			if e.From == name {
				dd = max(dd, depth[e.To]+1)
			}
		}
		depth[name] = dd
		for len(out) <= dd {
			out = append(out, nil)
		}
		out[dd] = append(out[dd], s)
	}
	return out
}

// Graph is a deployment's call graph as the faults see it: its services and
// its edges, the load generator's (client → gateway) first.
type Graph struct {
	names []string // sorted
	edges []faults.Edge
}

// NewGraph is the graph of services and edges with the load generator
// calling gateway.
func NewGraph(services []Service, edges []faults.Edge, gateway string) *Graph {
	g := &Graph{edges: append([]faults.Edge{{From: faults.ClientCaller, To: gateway}}, edges...)}
	for _, s := range services {
		g.names = append(g.names, s.Name)
	}
	slices.Sort(g.names)
	return g
}

// Edges lists the edges, the load generator's first (a copy).
func (g *Graph) Edges() []faults.Edge { return slices.Clone(g.edges) }

// CheckService fails, naming the deployed services, unless name is one.
func (g *Graph) CheckService(name string) error {
	if !slices.Contains(g.names, name) {
		return fmt.Errorf("no service %q (deployed: %s)", name, strings.Join(g.names, ", "))
	}
	return nil
}

// Into lists the edges into the service to, only the one from from if from
// is set ("client" is the load generator). It fails if to is not deployed
// or from does not call it, naming what would be valid.
func (g *Graph) Into(to, from string) ([]faults.Edge, error) {
	if err := g.CheckService(to); err != nil {
		return nil, err
	}
	var out, into []faults.Edge
	for _, e := range g.edges {
		if e.To != to {
			continue
		}
		into = append(into, e)
		if from == "" || e.From == from {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		var callers []string
		for _, e := range into {
			callers = append(callers, e.From)
		}
		return nil, fmt.Errorf("%s does not call %s (callers: %s)", from, to, strings.Join(callers, ", "))
	}
	return out, nil
}

// Links lists a runtime's links (kept by edge) of the edges into to, only
// those of the edge from from if from is set; the errors are Into's.
func Links[L faults.Link](g *Graph, links map[faults.Edge][]L, to, from string) ([]faults.Link, error) {
	edges, err := g.Into(to, from)
	if err != nil {
		return nil, err
	}
	var out []faults.Link
	for _, e := range edges {
		for _, l := range links[e] {
			out = append(out, l)
		}
	}
	return out, nil
}
