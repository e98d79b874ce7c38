package experiments

import (
	"fmt"
	"strings"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

// SetRuntime moves the experiment to another runtime (`gameday run
// --runtime`) with the checks validation makes of spec.runtime: the runtime
// is registered, and it supports every fault type of the experiment. The
// error is an ErrorList naming, at its type, each fault the runtime cannot
// inject; nothing is changed then.
func (e *Experiment) SetRuntime(name string) error {
	c := &errs{file: e.File}
	c.seal()
	allowed := platform.Names()
	rt, ok := platform.Lookup(name)
	if !ok {
		return fmt.Errorf("runtime %q is not available (allowed: %s)%s", name, strings.Join(allowed, ", "), suggest(name, allowed))
	}
	for i, f := range e.Spec.Faults {
		info, known := faults.Lookup(f.Type)
		if known && !platform.Supports(rt, info) {
			c.add(f.Src.Value("type"), "spec.faults[%d]: a %s fault is not available on the %s runtime (available on: %s)", i, f.Type, name, strings.Join(platform.RuntimesOf(info), ", "))
		}
	}
	if err := c.err(); err != nil {
		return err
	}
	e.Spec.Runtime = name
	return nil
}
