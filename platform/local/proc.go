package local

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/platform"
)

// ErrNotOwned says a process is gone or is not the one this runtime
// started.
var ErrNotOwned = errors.New("process is gone or not started by this run")

// procRef names one process this runtime started: pid, start time (clock
// ticks since boot, which with the pid names one process beyond pid reuse)
// and the run id in its environment (platform.RunIDEnv).
type procRef struct {
	PID       int
	StartTime uint64
	RunID     string
}

// owned checks that the process is still the one the runtime started: same
// start time and the run id in its environment. It returns an error
// wrapping ErrNotOwned otherwise, and never matches by name.
func (p procRef) owned() error {
	if p.PID <= 1 || p.RunID == "" {
		return fmt.Errorf("pid %d: %w", p.PID, ErrNotOwned)
	}
	st, err := procfs.StartTime(p.PID)
	if err != nil {
		return fmt.Errorf("pid %d: %w", p.PID, ErrNotOwned)
	}
	if st != p.StartTime {
		return fmt.Errorf("pid %d: start time %d, journal says %d: %w", p.PID, st, p.StartTime, ErrNotOwned)
	}
	v, ok, err := procfs.Env(p.PID, platform.RunIDEnv)
	if err != nil || !ok || v != p.RunID {
		return fmt.Errorf("pid %d: run id does not match: %w", p.PID, ErrNotOwned)
	}
	return nil
}

// signal sends sig to the process (to its process group if group) after
// checking ownership; a process that vanished in between is not an error.
func (p procRef) signal(sig syscall.Signal, group bool) error {
	if err := p.owned(); err != nil {
		return err
	}
	target := p.PID
	if group {
		target = -p.PID
	}
	if err := syscall.Kill(target, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to pid %d: %w", sig, p.PID, err)
	}
	return nil
}

// instanceRef is the opaque faults.Instance.Ref of a process: it names one
// start of an instance.
func (p procRef) instanceRef() string {
	return strconv.Itoa(p.PID) + "/" + strconv.FormatUint(p.StartTime, 10)
}

// journal references of a process (journal.Undo.Ref).
func (p procRef) ref() map[string]string {
	return map[string]string{"pid": strconv.Itoa(p.PID), "startTime": strconv.FormatUint(p.StartTime, 10), "run": p.RunID}
}

func procRefOf(m map[string]string) (procRef, error) {
	pid, err := strconv.Atoi(m["pid"])
	if err != nil {
		return procRef{}, fmt.Errorf("journal record: pid %q: %w", m["pid"], err)
	}
	st, err := strconv.ParseUint(m["startTime"], 10, 64)
	if err != nil {
		return procRef{}, fmt.Errorf("journal record: start time %q: %w", m["startTime"], err)
	}
	return procRef{PID: pid, StartTime: st, RunID: m["run"]}, nil
}
