//go:build !linux

package loadgen

import (
	"io"
	"net"
)

func newFdIO(c net.Conn) (io.ReadWriter, error) { return c, nil }
