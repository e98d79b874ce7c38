package proxy

import (
	"fmt"
	"strings"
)

// PartitionMode says how a partitioned link fails.
type PartitionMode int

// Refuse resets every new connection at once and resets the existing ones
// when the partition is added: callers fail fast. (The other mode is
// Blackhole.) The zero PartitionMode is invalid: a mode must be chosen.
const Refuse PartitionMode = 2

func (m PartitionMode) String() string {
	switch m {
	case Blackhole:
		return "blackhole"
	case Refuse:
		return "refuse"
	}
	return fmt.Sprintf("PartitionMode(%d)", int(m))
}

// ParsePartitionMode reads "blackhole" (or "" for the default) and "refuse".
func ParsePartitionMode(s string) (PartitionMode, error) {
	switch strings.ToLower(s) {
	case "", "blackhole":
		return Blackhole, nil
	case "refuse", "reject":
		return Refuse, nil
	}
	return 0, fmt.Errorf("partition mode %q: want blackhole or refuse", s)
}

// Partition cuts the link (see PartitionMode).
type Partition struct {
	Mode PartitionMode
}

// Type implements Toxic.
func (Partition) Type() string { return "partition" }

// Validate implements Toxic.
func (t Partition) Validate() error {
	if t.Mode != Blackhole && t.Mode != Refuse {
		return fmt.Errorf("partition: invalid mode %d (want Blackhole or Refuse)", int(t.Mode))
	}
	return nil
}

func (t Partition) apply(e *effects) {
	if t.Mode == Refuse {
		e.refuse = true
		return
	}
	e.blackhole = true
}

func (t Partition) attach(p *Proxy) {
	if t.Mode == Refuse {
		p.dropExisting(1, true)
		return
	}
	p.taintAll()
}

func (t Partition) detach(p *Proxy) {
	if t.Mode == Blackhole {
		p.closeTainted()
	}
}
