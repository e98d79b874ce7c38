package runner

import (
	"fmt"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/loadgen"
)

// phaseRecorder merges the load generator's per-interval histograms into one
// histogram per phase and request name, so that the report can show the
// percentile spectrum before, during and after each fault. Memory grows with
// phases × names, not with requests.
type phaseRecorder struct {
	mu     sync.Mutex
	phases []phaseAcc
}

type phaseAcc struct {
	name       string
	start, end time.Duration
	byName     map[string]*phaseHist
}

type phaseHist struct{ corrected, uncorrected *hdrhistogram.Histogram }

// phaseNames names the plan's phases uniquely: "baseline", the active
// faults joined by "+", "recovery"; repeats get " #2", " #3".
func phaseNames(p *experiments.Plan) []string {
	seen := map[string]int{}
	out := make([]string, len(p.Phases))
	for i, ph := range p.Phases {
		name := ph.Kind
		if ph.Kind == experiments.PhaseFault && len(ph.Faults) > 0 {
			name = strings.Join(ph.Faults, "+")
		}
		seen[name]++
		if n := seen[name]; n > 1 {
			name = fmt.Sprintf("%s #%d", name, n)
		}
		out[i] = name
	}
	return out
}

func newPhaseRecorder(p *experiments.Plan) *phaseRecorder {
	names := phaseNames(p)
	pr := &phaseRecorder{}
	for i, ph := range p.Phases {
		pr.phases = append(pr.phases, phaseAcc{name: names[i], start: ph.Start.D(), end: ph.End.D(), byName: map[string]*phaseHist{}})
	}
	return pr
}

// add files one interval under the phase its start falls in.
func (pr *phaseRecorder) add(iv loadgen.Interval, loadStart time.Time) {
	off := iv.Start.Sub(loadStart)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	idx := -1
	for i, ph := range pr.phases {
		if off >= ph.start-time.Millisecond && off < ph.end {
			idx = i
			break
		}
	}
	if idx < 0 {
		if len(pr.phases) == 0 {
			return
		}
		idx = len(pr.phases) - 1
	}
	acc := pr.phases[idx]
	for name, st := range iv.ByName {
		h := acc.byName[name]
		if h == nil {
			h = &phaseHist{corrected: loadgen.NewHistogram(), uncorrected: loadgen.NewHistogram()}
			acc.byName[name] = h
		}
		if st.Corrected != nil {
			h.corrected.Merge(st.Corrected)
		}
		if st.Uncorrected != nil {
			h.uncorrected.Merge(st.Uncorrected)
		}
	}
}
