package proxy

import "errors"

// Bandwidth limits the bytes per second flowing in Direction, per connection.
// Chunks are cut into slices of about 10 ms worth of bytes so the flow stays
// smooth; removing the toxic restores full speed on the next slice.
type Bandwidth struct {
	BytesPerSecond int64
	Direction      Direction
}

// Type implements Toxic.
func (Bandwidth) Type() string { return "bandwidth" }

// Validate implements Toxic.
func (t Bandwidth) Validate() error {
	if t.BytesPerSecond <= 0 {
		return errors.New("bandwidth: bytes per second must be positive")
	}
	return t.Direction.valid()
}

func (t Bandwidth) apply(e *effects) {
	for _, dir := range [2]Direction{Upstream, Downstream} {
		if t.Direction.has(dir) && (e.bandwidth[dir] == 0 || t.BytesPerSecond < e.bandwidth[dir]) {
			e.bandwidth[dir] = t.BytesPerSecond
		}
	}
}

func (Bandwidth) attach(*Proxy) {}
func (Bandwidth) detach(*Proxy) {}
