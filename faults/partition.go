package faults

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gameday/gameday/faults/proxy"
)

func init() {
	register(TypeInfo{
		Name:   "partition",
		Groups: true,
		Summary: "Cut the call edges between two groups of services (target.groups), or every edge into and out of one service (target.service). " +
			"refuse: callers fail fast; blackhole: callers time out.",
		Class: ClassLink,
		Params: []Param{
			{Name: "mode", Kind: KindEnum, Enum: []string{"refuse", "blackhole"}, Default: "refuse", Help: "refuse resets connections at once; blackhole accepts and never answers"},
		},
	}, newPartition)
}

func newPartition(spec Spec, rt Runtime) (Fault, error) {
	lr, err := linkRuntime(rt)
	if err != nil {
		return nil, err
	}
	mode, err := proxy.ParsePartitionMode(params(spec.Params)["mode"])
	if err != nil {
		return nil, err
	}
	t := spec.Target
	var cut func(e Edge) bool
	var desc string
	switch {
	case len(t.Groups) == 2:
		a, b := set(t.Groups[0]), set(t.Groups[1])
		cut = func(e Edge) bool { return a[e.From] && b[e.To] || b[e.From] && a[e.To] }
		desc = fmt.Sprintf("[%s] | [%s]", strings.Join(t.Groups[0], ","), strings.Join(t.Groups[1], ","))
	case len(t.Groups) != 0:
		return nil, fmt.Errorf("target.groups: want exactly two groups, got %d", len(t.Groups))
	case t.Service != "":
		cut = func(e Edge) bool { return e.From == t.Service || e.To == t.Service }
		desc = t.Service + " isolated"
	default:
		return nil, errors.New("target: give groups (two lists of services) or a service to isolate")
	}
	resolve := func() ([]Link, string, error) {
		var out []Link
		for _, e := range lr.Edges() {
			if !cut(e) {
				continue
			}
			ls, err := lr.Links(e.To, e.From)
			if err != nil {
				return nil, "", err
			}
			out = append(out, ls...)
		}
		if len(out) == 0 {
			return nil, "", fmt.Errorf("partition %s cuts no call edge", desc)
		}
		return out, desc, nil
	}
	return &linkFault{name: spec.Name, resolve: resolve, toxic: proxy.Partition{Mode: mode}}, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
