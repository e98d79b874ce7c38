package proxy

import (
	"fmt"
	"time"
)

// Spec is a toxic as data: what an admin API carries to a proxy that runs
// in another process (a sidecar beside a caller), and what it lists back.
// Durations are Go duration strings ("50ms"); a field a type does not use
// stays empty.
type Spec struct {
	Type           string  `json:"type"`
	Direction      string  `json:"direction,omitempty"` // upstream, downstream or both
	Delay          string  `json:"delay,omitempty"`
	Jitter         string  `json:"jitter,omitempty"`
	BytesPerSecond int64   `json:"bytesPerSecond,omitempty"`
	Probability    float64 `json:"probability,omitempty"`
	Mode           string  `json:"mode,omitempty"` // loss: drop-connection or blackhole; partition: blackhole or refuse
}

// Encode turns one of the proxy's toxics into its Spec.
func Encode(t Toxic) (Spec, error) {
	switch t := t.(type) {
	case Latency:
		return Spec{Type: t.Type(), Direction: t.Direction.String(), Delay: t.Delay.String(), Jitter: t.Jitter.String()}, nil
	case Bandwidth:
		return Spec{Type: t.Type(), Direction: t.Direction.String(), BytesPerSecond: t.BytesPerSecond}, nil
	case Loss:
		return Spec{Type: t.Type(), Probability: t.Probability, Mode: t.Mode.String()}, nil
	case Reset:
		return Spec{Type: t.Type(), Probability: t.Probability}, nil
	case Partition:
		return Spec{Type: t.Type(), Mode: t.Mode.String()}, nil
	case Corrupt:
		return Spec{Type: t.Type(), Direction: t.Direction.String(), Probability: t.Probability}, nil
	case nil:
		return Spec{}, fmt.Errorf("encode toxic: nil")
	}
	return Spec{}, fmt.Errorf("encode toxic: %T is not a toxic of this proxy", t)
}

// Toxic decodes the spec and validates the toxic.
func (s Spec) Toxic() (Toxic, error) {
	t, err := s.decode()
	if err != nil {
		return nil, fmt.Errorf("toxic %q: %w", s.Type, err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func (s Spec) decode() (Toxic, error) {
	dir := func() (Direction, error) {
		if s.Direction == "" {
			return 0, fmt.Errorf("direction is required (upstream, downstream or both)")
		}
		return ParseDirection(s.Direction)
	}
	dur := func(name, v string) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%s %q is not a duration such as 50ms", name, v)
		}
		return d, nil
	}
	switch s.Type {
	case "latency":
		d, err := dir()
		if err != nil {
			return nil, err
		}
		delay, err := dur("delay", s.Delay)
		if err != nil {
			return nil, err
		}
		jitter, err := dur("jitter", s.Jitter)
		if err != nil {
			return nil, err
		}
		return Latency{Delay: delay, Jitter: jitter, Direction: d}, nil
	case "bandwidth":
		d, err := dir()
		if err != nil {
			return nil, err
		}
		return Bandwidth{BytesPerSecond: s.BytesPerSecond, Direction: d}, nil
	case "loss":
		switch s.Mode {
		case DropConnection.String():
			return Loss{Probability: s.Probability, Mode: DropConnection}, nil
		case LossMode(Blackhole).String():
			return Loss{Probability: s.Probability, Mode: Blackhole}, nil
		}
		return nil, fmt.Errorf("mode %q: want drop-connection or blackhole", s.Mode)
	case "reset":
		return Reset{Probability: s.Probability}, nil
	case "partition":
		switch s.Mode {
		case Refuse.String():
			return Partition{Mode: Refuse}, nil
		case PartitionMode(Blackhole).String():
			return Partition{Mode: Blackhole}, nil
		}
		return nil, fmt.Errorf("mode %q: want blackhole or refuse", s.Mode)
	case "corrupt":
		d, err := dir()
		if err != nil {
			return nil, err
		}
		return Corrupt{Probability: s.Probability, Direction: d}, nil
	}
	return nil, fmt.Errorf("unknown type (known: latency, bandwidth, loss, reset, partition, corrupt)")
}
