package faults

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
)

// SelectInstances picks the instances a process or HTTP fault hits: a
// specific index, else a count, a percentage (rounded up, at least one) or
// "all" of them, the first ones or a seeded random pick. def is the count
// used when the target says nothing.
func SelectInstances(t Target, insts []Instance, seed int64, def string) ([]Instance, error) {
	if t.Service == "" {
		return nil, fmt.Errorf("target: service is required")
	}
	if len(insts) == 0 {
		return nil, fmt.Errorf("target %s: no running instance", t.Service)
	}
	if t.Index != nil {
		for _, in := range insts {
			if in.Index == *t.Index {
				return []Instance{in}, nil
			}
		}
		return nil, fmt.Errorf("target %s: instance %d is not running (%d running)", t.Service, *t.Index, len(insts))
	}
	n, err := instanceCount(t.Instances, def, len(insts))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Service, err)
	}
	out := append([]Instance(nil), insts...)
	switch t.Pick {
	case "", "first":
	case "random":
		r := rand.New(rand.NewSource(seed))
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	default:
		return nil, fmt.Errorf("target %s: pick %q is not first or random", t.Service, t.Pick)
	}
	return out[:n], nil
}

func instanceCount(s, def string, have int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = def
	}
	switch {
	case s == "all":
		return have, nil
	case strings.HasSuffix(s, "%"):
		f, err := ParsePercent(s)
		if err != nil {
			return 0, err
		}
		n := int(f*float64(have) + 0.999999)
		if n < 1 {
			n = 1
		}
		return min(n, have), nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("instances %q is not a count, a percentage or all", s)
		}
		return min(n, have), nil
	}
}
