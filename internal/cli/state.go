// Package cli holds the gameday commands, one file per cobra command. Every
// command is built from a constructor that takes the injected GlobalState, so
// tests run the whole CLI in-process with their own stdout, env and signals.
package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"golang.org/x/term"
)

// GlobalState is everything a command may take from the process: streams,
// environment, working directory, signals and the clock. Nothing in the
// commands reaches for os.* directly, so tests can substitute each part.
type GlobalState struct {
	Ctx context.Context

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// StdoutIsTTY says whether stdout is an interactive terminal (live
	// progress bars) or a pipe or file (plain periodic lines).
	StdoutIsTTY bool

	Args   []string
	Env    map[string]string
	Getwd  func() (string, error)
	Now    func() time.Time
	Exe    func() (string, error) // path of this binary, used to start the shop's processes
	Signal SignalFuncs
	// Exit ends the process at once; used only when the user forces an exit
	// with a second interrupt.
	Exit func(code int)
}

// SignalFuncs lets tests deliver signals without sending them to the process.
type SignalFuncs struct {
	Notify func(c chan<- os.Signal, sig ...os.Signal)
	Stop   func(c chan<- os.Signal)
}

// NewGlobalState returns the state of the real process.
func NewGlobalState(ctx context.Context) *GlobalState {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				env[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return &GlobalState{
		Ctx:         ctx,
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		StdoutIsTTY: term.IsTerminal(int(os.Stdout.Fd())),
		Args:        os.Args,
		Env:         env,
		Getwd:       os.Getwd,
		Now:         time.Now,
		Exe:         os.Executable,
		Signal:      SignalFuncs{Notify: signal.Notify, Stop: signal.Stop},
		Exit:        os.Exit,
	}
}

// StateDir is where gameday keeps its fault journal between runs, so that
// `gameday recover` finds what a crashed run left: $GAMEDAY_STATE_DIR, else
// $XDG_STATE_HOME/gameday, else ~/.local/state/gameday.
func (g *GlobalState) StateDir() string {
	if d := g.Env["GAMEDAY_STATE_DIR"]; d != "" {
		return d
	}
	if d := g.Env["XDG_STATE_HOME"]; d != "" {
		return filepath.Join(d, "gameday")
	}
	if h := g.Env["HOME"]; h != "" {
		return filepath.Join(h, ".local", "state", "gameday")
	}
	return filepath.Join(os.TempDir(), "gameday-state")
}
