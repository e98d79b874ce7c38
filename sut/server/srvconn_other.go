//go:build !linux

package server

import (
	"net"

	"github.com/gameday/gameday/internal/lib/rawio"
)

// newListener: elsewhere than on Linux, net/http reads the connections itself.
func newListener(ln net.Listener) net.Listener { return rawio.Listener{Listener: ln} }
