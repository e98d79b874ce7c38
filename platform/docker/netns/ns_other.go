//go:build !linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Do is only supported on Linux.
func (n NS) Do(func() error) error { return unsupported(n) }

// Listen is only supported on Linux.
func (n NS) Listen(context.Context, string) (net.Listener, error) { return nil, unsupported(n) }

// DialContext is only supported on Linux.
func (n NS) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, unsupported(n)
}

// AddChain is only supported on Linux.
func (n NS) AddChain(context.Context, string, []Rule) error { return unsupported(n) }

// RemoveChain is only supported on Linux.
func (n NS) RemoveChain(context.Context, string) error { return unsupported(n) }

// Chains is only supported on Linux.
func (n NS) Chains(context.Context) ([]string, error) { return nil, unsupported(n) }

func unsupported(n NS) error {
	return fmt.Errorf("netns %s: %w: network namespaces need Linux", n.Path, errors.ErrUnsupported)
}
