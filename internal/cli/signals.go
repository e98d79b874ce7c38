package cli

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// withInterrupts returns a context cancelled by the first SIGINT or SIGTERM,
// so that the command reverts its faults and stops cleanly; a second signal
// ends the process at once (the journal lets `gameday recover` finish the
// job). stop releases the signal handler.
func withInterrupts(gs *GlobalState) (ctx context.Context, interrupted func() bool, stop func()) {
	ctx, cancel := context.WithCancel(gs.Ctx)
	sigs := make(chan os.Signal, 2)
	gs.Signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	got := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(gs.Stderr, "\ngameday: %v: reverting faults and stopping (again to force)\n", sig)
			close(got)
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			fmt.Fprintf(gs.Stderr, "gameday: %v again: exiting now; run `gameday recover` to revert what is left\n", sig)
			if gs.Exit != nil {
				gs.Exit(130)
			}
		case <-done:
		}
	}()
	interrupted = func() bool {
		select {
		case <-got:
			return true
		default:
			return false
		}
	}
	stop = func() {
		gs.Signal.Stop(sigs)
		close(done)
		cancel()
	}
	return ctx, interrupted, stop
}
