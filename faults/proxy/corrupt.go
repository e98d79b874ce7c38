package proxy

import "fmt"

// Corrupt flips one bit of the data flowing in Direction: each chunk the
// proxy reads gets, with Probability, one bit flipped in one of its bytes
// (byte and bit drawn uniformly). The draws come from the proxy's seeded
// source (per connection and direction), so a run is reproducible with the
// same seed and the same chunking. The length of the stream never changes,
// so framing (Content-Length, chunk sizes) survives unless the flipped bit
// lands in it. It acts on existing connections from their next chunk on;
// removing it stops it at the next chunk.
type Corrupt struct {
	Probability float64
	Direction   Direction
}

// Type implements Toxic.
func (Corrupt) Type() string { return "corrupt" }

// Validate implements Toxic.
func (t Corrupt) Validate() error {
	if err := validProbability(t.Probability); err != nil {
		return fmt.Errorf("corrupt: %w", err)
	}
	return t.Direction.valid()
}

func (t Corrupt) apply(e *effects) {
	for _, dir := range [2]Direction{Upstream, Downstream} {
		if t.Direction.has(dir) {
			e.corrupt[dir] = combine(e.corrupt[dir], t.Probability)
		}
	}
}

func (Corrupt) attach(*Proxy) {}
func (Corrupt) detach(*Proxy) {}

// corrupt flips one random bit of b with probability prob (b is the reader's
// own buffer: the chunk is then queued or written as usual).
func (pp *pipe) corrupt(prob float64, b []byte) {
	if prob <= 0 || len(b) == 0 {
		return
	}
	r := pp.random()
	if prob < 1 && r.Float64() >= prob {
		return
	}
	bit := r.IntN(len(b) * 8)
	b[bit/8] ^= 1 << (bit % 8)
}
