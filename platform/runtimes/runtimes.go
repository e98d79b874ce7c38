// Package runtimes is the list of runtimes built into gameday: importing it
// registers each with the platform registry. It is the only package that
// imports a concrete runtime; adding a runtime is one line here.
package runtimes

import (
	// Each runtime registers itself (platform.Register) in its init.
	_ "github.com/gameday/gameday/platform/docker"
	_ "github.com/gameday/gameday/platform/kubernetes"
	_ "github.com/gameday/gameday/platform/local"
)
