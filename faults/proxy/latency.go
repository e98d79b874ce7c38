package proxy

import (
	"errors"
	"time"
)

// Latency delays every chunk flowing in Direction by Delay ± Jitter (uniform,
// drawn per chunk from the proxy's seeded source). The delay is counted from
// the moment the proxy read the chunk and chunks keep their order, so a
// streamed response of many chunks is delayed by Delay once, not once per
// chunk. It acts on existing connections from their next chunk on; removing it
// releases chunks that are waiting at once.
type Latency struct {
	Delay     time.Duration
	Jitter    time.Duration
	Direction Direction
}

// Type implements Toxic.
func (Latency) Type() string { return "latency" }

// Validate implements Toxic.
func (t Latency) Validate() error {
	if t.Delay < 0 || t.Jitter < 0 {
		return errors.New("latency: delay and jitter must not be negative")
	}
	if t.Delay == 0 && t.Jitter == 0 {
		return errors.New("latency: delay or jitter must be positive")
	}
	return t.Direction.valid()
}

func (t Latency) apply(e *effects) {
	for _, dir := range [2]Direction{Upstream, Downstream} {
		if t.Direction.has(dir) {
			e.latency[dir].delay += t.Delay
			e.latency[dir].jitter += t.Jitter
		}
	}
}

func (Latency) attach(*Proxy) {}
func (Latency) detach(*Proxy) {}
