//go:build !linux

package server

import (
	"errors"
	"net"
)

// h1Supported: elsewhere than on Linux the shop calls through net/http.
const h1Supported = false

type h1IO struct{}

func newH1IO(net.Conn) (*h1IO, error) { return nil, errors.New("not supported here") }

func (*h1IO) send([]byte, bool) {}

func (*h1IO) read([]byte) (int, error) { return 0, errors.New("not supported here") }
