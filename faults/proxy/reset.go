package proxy

import "fmt"

// Reset resets new connections with Probability: the proxy accepts the
// connection and closes it at once with SO_LINGER 0, so the caller sees a TCP
// RST (ECONNRESET) instead of an answer.
type Reset struct {
	Probability float64
}

// Type implements Toxic.
func (Reset) Type() string { return "reset" }

// Validate implements Toxic.
func (t Reset) Validate() error {
	if err := validProbability(t.Probability); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

func (t Reset) apply(e *effects) { e.resetConn = combine(e.resetConn, t.Probability) }

func (Reset) attach(*Proxy) {}
func (Reset) detach(*Proxy) {}
