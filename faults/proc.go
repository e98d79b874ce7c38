package faults

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// RunIDEnv is the environment variable that marks a process as started by
// one run of this harness.
const RunIDEnv = "GAMEDAY_RUN_ID"

// ProcStartTime reads the start time of a process (clock ticks since boot,
// field 22 of /proc/PID/stat).
func ProcStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// The command name (field 2) may contain spaces and parentheses: the
	// fields after it start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat of pid %d: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("stat of pid %d: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// ProcState returns the state letter of a process (R, S, T for stopped, Z …).
func ProcState(pid int) (byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("stat of pid %d: malformed", pid)
	}
	return b[i+2], nil
}

// ProcEnv returns the value of one variable in a process's environment.
func ProcEnv(pid int, key string) (string, bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return "", false, err
	}
	prefix := []byte(key + "=")
	for _, kv := range bytes.Split(b, []byte{0}) {
		if bytes.HasPrefix(kv, prefix) {
			return string(kv[len(prefix):]), true, nil
		}
	}
	return "", false, nil
}

// ErrNotOwned says a process is gone or is not the one the harness started.
var ErrNotOwned = errors.New("process is gone or not started by this run")

// ProcRef identifies a process the harness started: pid, start time and the
// run id in its environment.
type ProcRef struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
	RunID     string `json:"runId"`
}

// Owned checks that the process is still the one the harness started: same
// start time and the run id in its environment. It returns ErrNotOwned (or
// a wrapped error) otherwise, and never matches by name.
func (p ProcRef) Owned() error {
	if p.PID <= 1 || p.RunID == "" {
		return fmt.Errorf("pid %d: %w", p.PID, ErrNotOwned)
	}
	st, err := ProcStartTime(p.PID)
	if err != nil {
		return fmt.Errorf("pid %d: %w", p.PID, ErrNotOwned)
	}
	if st != p.StartTime {
		return fmt.Errorf("pid %d: start time %d, journal says %d: %w", p.PID, st, p.StartTime, ErrNotOwned)
	}
	v, ok, err := ProcEnv(p.PID, RunIDEnv)
	if err != nil || !ok || v != p.RunID {
		return fmt.Errorf("pid %d: run id does not match: %w", p.PID, ErrNotOwned)
	}
	return nil
}

// Signal sends sig to the process after checking ownership.
func (p ProcRef) Signal(sig syscall.Signal) error {
	if err := p.Owned(); err != nil {
		return err
	}
	if err := syscall.Kill(p.PID, sig); err != nil {
		return fmt.Errorf("signal %v to pid %d: %w", sig, p.PID, err)
	}
	return nil
}

// Ref returns the ownership reference of an instance.
func (i Instance) Ref() ProcRef {
	return ProcRef{PID: i.PID, StartTime: i.StartTime, RunID: i.RunID}
}
