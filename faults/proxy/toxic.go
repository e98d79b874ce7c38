package proxy

import (
	"fmt"
	"math"
	"time"
)

// Direction says which way through the proxy a toxic acts.
type Direction int

const (
	// Upstream is the request path: from the caller (the proxy's client) to
	// the upstream service.
	Upstream Direction = iota
	// Downstream is the response path: from the upstream service back to the
	// caller.
	Downstream
	// Both applies the toxic to each direction independently (a 50 ms latency
	// on Both adds 50 ms each way, so 100 ms to a request/response round trip).
	Both
)

func (d Direction) String() string {
	switch d {
	case Upstream:
		return "upstream"
	case Downstream:
		return "downstream"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// ParseDirection reads "upstream", "downstream" or "both" ("" means both).
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "upstream", "up", "request":
		return Upstream, nil
	case "downstream", "down", "response":
		return Downstream, nil
	case "", "both":
		return Both, nil
	}
	return 0, fmt.Errorf("direction %q: want upstream, downstream or both", s)
}

func (d Direction) valid() error {
	if d < Upstream || d > Both {
		return fmt.Errorf("invalid direction %d", int(d))
	}
	return nil
}

// has reports whether d covers the single direction dir (Upstream or Downstream).
func (d Direction) has(dir Direction) bool { return d == Both || d == dir }

// Toxic is one fault applied to a proxied link. The concrete toxics are
// Latency, Bandwidth, Loss, Reset, Partition and Corrupt; the set is closed because
// every toxic is compiled into the proxy's flat, immutable effect table that
// the copy loop reads with one atomic load.
type Toxic interface {
	// Type is the toxic's kind: "latency", "bandwidth", "loss", "reset",
	// "partition" or "corrupt" (the "type" label of gameday_proxy_toxics_active).
	Type() string
	// Validate reports a parameter that makes no sense.
	Validate() error

	// apply folds the toxic into the effect table.
	apply(e *effects)
	// attach acts on the connections that exist when the toxic is added.
	attach(p *Proxy)
	// detach acts on the connections that exist when the toxic is removed.
	detach(p *Proxy)
}

// effects is the compiled, combined form of all active toxics. It is built
// once per Add/Remove and never mutated afterwards.
type effects struct {
	latency   [2]latencyEffect // indexed by Upstream, Downstream
	bandwidth [2]int64         // bytes per second, 0 = unlimited
	chunkLoss float64          // probability that a chunk is silently swallowed
	corrupt   [2]float64       // probability that a chunk gets one bit flipped, indexed by direction
	dropConn  float64          // probability that a new connection is closed
	resetConn float64          // probability that a new connection is reset
	blackhole bool             // partition: accept, never forward, never answer
	refuse    bool             // partition: reset every connection at once
}

type latencyEffect struct {
	delay, jitter time.Duration
}

// combine adds an independent probability q to p: 1-(1-p)(1-q).
func combine(p, q float64) float64 { return 1 - (1-p)*(1-q) }

func validProbability(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("probability %v not in [0,1]", p)
	}
	return nil
}

// toxicEntry is one added toxic and its id.
type toxicEntry struct {
	id    string
	toxic Toxic
}

// toxicSet is immutable once published. changed is closed when a newer set
// replaces it, which wakes every goroutine waiting on a delay or a bandwidth
// slot so that a removed toxic stops acting at once.
type toxicSet struct {
	entries []toxicEntry
	eff     effects
	// fast[dir] is true when no toxic touches the bytes flowing in dir: the
	// copy loop then writes straight through.
	fast    [2]bool
	changed chan struct{}
}

func newToxicSet(entries []toxicEntry) *toxicSet {
	s := &toxicSet{entries: entries, changed: make(chan struct{})}
	for _, e := range entries {
		e.toxic.apply(&s.eff)
	}
	for dir := range 2 {
		s.fast[dir] = !s.eff.blackhole && s.eff.chunkLoss == 0 && s.eff.corrupt[dir] == 0 &&
			s.eff.latency[dir].delay == 0 && s.eff.latency[dir].jitter == 0 &&
			s.eff.bandwidth[dir] == 0
	}
	return s
}
