package loadgen

import (
	"math"
	"time"
)

// pacer computes the intended start time of every arrival of the open model:
// arrival n (0, 1, 2, …) is due when the integral of the rate reaches n. It
// is a pure function of the stages, so the schedule does not depend on how
// late the scheduler runs.
type pacer struct {
	segs []segment
	cur  int
	n    float64 // index of the next arrival
}

type segment struct {
	start    float64 // seconds since the run's start
	dur      float64 // seconds
	r0, r1   float64 // rate at start and end of the segment
	cumStart float64 // arrivals due before the segment
	cumEnd   float64
}

func newPacer(stages []Stage) *pacer {
	p := &pacer{}
	var t, cum, prev float64
	for i, s := range stages {
		d := s.Duration.Seconds()
		r0 := prev
		if i == 0 {
			r0 = s.Rate
		}
		seg := segment{start: t, dur: d, r0: r0, r1: s.Rate, cumStart: cum}
		cum += d * (r0 + s.Rate) / 2
		seg.cumEnd = cum
		p.segs = append(p.segs, seg)
		t += d
		prev = s.Rate
	}
	return p
}

// rateAt returns the target rate at offset t.
func (p *pacer) rateAt(t time.Duration) float64 {
	s := t.Seconds()
	for _, seg := range p.segs {
		if s < seg.start+seg.dur {
			if seg.dur == 0 {
				return seg.r1
			}
			return seg.r0 + (seg.r1-seg.r0)*(s-seg.start)/seg.dur
		}
	}
	return 0
}

// total is the number of arrivals of the whole schedule.
func (p *pacer) total() int64 {
	if len(p.segs) == 0 {
		return 0
	}
	return int64(math.Ceil(p.segs[len(p.segs)-1].cumEnd))
}

// next returns the offset of the next arrival, or false when the schedule is over.
func (p *pacer) next() (time.Duration, bool) {
	for p.cur < len(p.segs) {
		seg := &p.segs[p.cur]
		if p.n >= seg.cumEnd {
			p.cur++
			continue
		}
		x := p.n - seg.cumStart // arrivals into this segment
		a := seg.r0
		b := 0.0
		if seg.dur > 0 {
			b = (seg.r1 - seg.r0) / seg.dur
		}
		// a·t + b·t²/2 = x, in the form that is stable for b → 0.
		var t float64
		if x > 0 {
			disc := a*a + 2*b*x
			if disc < 0 {
				disc = 0
			}
			t = 2 * x / (a + math.Sqrt(disc))
		}
		if t > seg.dur {
			t = seg.dur
		}
		p.n++
		return time.Duration((seg.start + t) * float64(time.Second)), true
	}
	return 0, false
}

// vusAt returns the closed model's target number of virtual users at offset t.
func vusAt(stages []Stage, t time.Duration) int {
	var start time.Duration
	prev := 0
	for i, s := range stages {
		from := prev
		if i == 0 {
			from = s.VUs
		}
		if t < start+s.Duration {
			f := float64(t-start) / float64(s.Duration)
			return int(math.Round(float64(from) + f*float64(s.VUs-from)))
		}
		start += s.Duration
		prev = s.VUs
	}
	return 0
}
