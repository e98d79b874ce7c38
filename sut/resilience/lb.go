package resilience

import (
	"sync/atomic"
)

// Load-balancing policies (the same strings as in policy files).
const (
	RoundRobin    = "round_robin"
	Random        = "random"
	LeastInflight = "least_inflight"
	P2C           = "p2c"
)

// Balancer picks one of n replicas. eligible(i) says whether replica i may
// take a call now (its breaker is not open); inflight(i) is the number of
// calls in flight to replica i. Pick returns -1 when no replica is eligible.
type Balancer interface {
	Pick(n int, eligible func(int) bool, inflight func(int) int64) int
}

// NewBalancer returns the balancer for policy (round robin when unknown).
// intn returns a uniform int in [0, n); it must be safe for concurrent use.
func NewBalancer(policy string, intn func(int) int) Balancer {
	switch policy {
	case Random:
		return randomLB{intn}
	case LeastInflight:
		return &leastInflight{}
	case P2C:
		return p2c{intn}
	}
	return &roundRobin{}
}

// roundRobin takes the replicas in turn, skipping the ineligible ones.
type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(n int, eligible func(int) bool, _ func(int) int64) int {
	start := int(r.next.Add(1) - 1)
	for k := 0; k < n; k++ {
		i := (start + k) % n
		if eligible(i) {
			return i
		}
	}
	return -1
}

// randomLB picks uniformly among the eligible replicas.
type randomLB struct{ intn func(int) int }

func (r randomLB) Pick(n int, eligible func(int) bool, _ func(int) int64) int {
	ok := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if eligible(i) {
			ok = append(ok, i)
		}
	}
	if len(ok) == 0 {
		return -1
	}
	return ok[r.intn(len(ok))]
}

// leastInflight picks the eligible replica with the fewest calls in flight;
// ties go round robin so that an idle edge still spreads its calls.
type leastInflight struct{ next atomic.Uint64 }

func (l *leastInflight) Pick(n int, eligible func(int) bool, inflight func(int) int64) int {
	start := int(l.next.Add(1) - 1)
	best, bestN := -1, int64(0)
	for k := 0; k < n; k++ {
		i := (start + k) % n
		if !eligible(i) {
			continue
		}
		if c := inflight(i); best < 0 || c < bestN {
			best, bestN = i, c
		}
	}
	return best
}

// p2c (power of two choices) draws two distinct eligible replicas at random
// and takes the one with fewer calls in flight.
type p2c struct{ intn func(int) int }

func (p p2c) Pick(n int, eligible func(int) bool, inflight func(int) int64) int {
	ok := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if eligible(i) {
			ok = append(ok, i)
		}
	}
	switch len(ok) {
	case 0:
		return -1
	case 1:
		return ok[0]
	}
	a := p.intn(len(ok))
	b := p.intn(len(ok) - 1)
	if b >= a {
		b++
	}
	i, j := ok[a], ok[b]
	if inflight(j) < inflight(i) {
		return j
	}
	return i
}
