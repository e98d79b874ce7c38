package proxy

import (
	"fmt"
	"strings"
)

// LossMode says what a Loss toxic loses.
type LossMode int

// Blackhole is a mode of both Loss and Partition (an untyped constant, so
// Loss{Mode: Blackhole} and Partition{Mode: Blackhole} both read naturally).
//
// As a LossMode it silently swallows chunks (both directions) with
// probability p; connections that lost a chunk are closed when the toxic is
// removed, so keep-alive pools do not keep a connection whose stream is now
// broken.
//
// As a PartitionMode it accepts connections and never forwards nor answers
// anything; existing connections stop carrying data both ways and callers time
// out. When the partition is removed, every connection that was blackholed is
// closed, so callers' keep-alive pools do not hang on it.
const Blackhole = 1

// DropConnection closes connections: each new connection with probability p
// at accept, and each existing connection with probability p when the toxic is
// added. The zero LossMode is invalid: a mode must be chosen.
const DropConnection LossMode = 2

func (m LossMode) String() string {
	switch m {
	case DropConnection:
		return "drop-connection"
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("LossMode(%d)", int(m))
}

// ParseLossMode reads "drop-connection" (or "drop", or "" for the default)
// and "blackhole".
func ParseLossMode(s string) (LossMode, error) {
	switch strings.ToLower(s) {
	case "", "drop", "drop-connection", "dropconnection":
		return DropConnection, nil
	case "blackhole":
		return Blackhole, nil
	}
	return 0, fmt.Errorf("loss mode %q: want drop-connection or blackhole", s)
}

// Loss loses connections or chunks with a probability (see LossMode).
type Loss struct {
	Probability float64
	Mode        LossMode
}

// Type implements Toxic.
func (Loss) Type() string { return "loss" }

// Validate implements Toxic.
func (t Loss) Validate() error {
	if err := validProbability(t.Probability); err != nil {
		return fmt.Errorf("loss: %w", err)
	}
	if t.Mode != DropConnection && t.Mode != Blackhole {
		return fmt.Errorf("loss: invalid mode %d (want DropConnection or Blackhole)", int(t.Mode))
	}
	return nil
}

func (t Loss) apply(e *effects) {
	if t.Mode == Blackhole {
		e.chunkLoss = combine(e.chunkLoss, t.Probability)
		return
	}
	e.dropConn = combine(e.dropConn, t.Probability)
}

func (t Loss) attach(p *Proxy) {
	if t.Mode == DropConnection {
		p.dropExisting(t.Probability, false)
	}
}

func (t Loss) detach(p *Proxy) {
	if t.Mode == Blackhole {
		p.closeTainted()
	}
}
