// Package libtest gives end-to-end tests the built-in scenarios in shorter forms.
package libtest

import (
	"testing"
	"time"

	"github.com/gameday/gameday/experiments"
)

// Short loads a scenario of the built-in library with its timeline
// compressed for a test: one stage of load, its first fault moved to at for
// d, no steady-state gate when the fault comes before the gate's hold could
// be met, and at most 5 samples required per SLO window. The shop, the mix,
// the fault and the bounds stay as the library has them.
func Short(t testing.TB, name string, load time.Duration, rate float64, at, d time.Duration) *experiments.Experiment {
	t.Helper()
	e := Load(t, name)
	s := &e.Spec
	s.Load.Stages = []experiments.Stage{{Duration: experiments.Duration(load), Rate: rate}}
	if len(s.Faults) == 0 {
		t.Fatalf("%s has no fault to move", name)
	}
	s.Faults[0].At, s.Faults[0].Duration = experiments.Duration(at), experiments.Duration(d)
	if at < 8*time.Second {
		s.SteadyState = nil
	}
	for i := range s.SLOs {
		if s.SLOs[i].MinSamples > 5 {
			s.SLOs[i].MinSamples = 5
		}
	}
	return e
}

// Load parses a scenario of the built-in library as it is.
func Load(t testing.TB, name string) *experiments.Experiment {
	t.Helper()
	filename, data, err := experiments.Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	e, err := experiments.Parse(filename, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
