package server

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gameday/gameday/sut/client"
)

// faultSet holds the in-process faults installed through /admin/faults.
type faultSet struct {
	mu     sync.RWMutex
	faults map[string]client.AdminFault
	seq    int
	prefix string
	m      *metrics
}

func newFaultSet(m *metrics) *faultSet {
	b := make([]byte, 3)
	_, _ = crand.Read(b)
	return &faultSet{faults: map[string]client.AdminFault{}, prefix: hex.EncodeToString(b), m: m}
}

func (s *faultSet) add(f client.AdminFault) client.AdminFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f.ID = fmt.Sprintf("f-%s-%d", s.prefix, s.seq)
	s.faults[f.ID] = f
	s.m.faultsActive.Set(float64(len(s.faults)))
	return f
}

func (s *faultSet) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, id)
	s.m.faultsActive.Set(float64(len(s.faults)))
}

func (s *faultSet) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]client.AdminFault{}
	s.m.faultsActive.Set(0)
}

func (s *faultSet) list() []client.AdminFault {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]client.AdminFault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// hit is what the faults decide for one request or call.
type hit struct {
	delay       time.Duration
	abortStatus int // answer this at once (0: no abort)
	errorStatus int // do the work, then answer this (0: no error)
}

// match rolls the dice of every fault on the operation (edge == false) or
// the outgoing edge to name (edge == true).
func (s *faultSet) match(name string, edge bool) hit {
	var h hit
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.faults) == 0 {
		return h
	}
	target := "operation"
	if edge {
		target = "edge"
	}
	for _, f := range s.faults {
		if (edge && f.Edge != name) || (!edge && f.Operation != name) {
			continue
		}
		if p := f.Percent; p > 0 && p < 100 && rand.Float64()*100 >= p {
			continue
		}
		switch f.Kind {
		case client.KindDelay:
			d := f.Delay
			if f.Jitter > 0 {
				d += time.Duration((rand.Float64()*2 - 1) * float64(f.Jitter))
			}
			if d > h.delay {
				h.delay = d
			}
		case client.KindAbort:
			h.abortStatus = statusOr(f.Status, http.StatusServiceUnavailable)
		case client.KindError:
			h.errorStatus = statusOr(f.Status, http.StatusInternalServerError)
		}
		s.m.faultHits.WithLabelValues(f.Kind, target).Inc()
	}
	return h
}

func statusOr(s, def int) int {
	if s == 0 {
		return def
	}
	return s
}
