// Package procfs reads what the harness needs of a Linux process from
// /proc: its start time (which, with the pid, names one process beyond pid
// reuse), its state and one variable of its environment.
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// stat returns the fields of /proc/PID/stat after the command name: the
// name (field 2) may hold spaces and parentheses, so they start after the
// last ')'. f[0] is field 3 (state).
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("stat of pid %d: malformed", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// StartTime is the start time of a process in clock ticks since boot
// (field 22 of /proc/PID/stat).
func StartTime(pid int) (uint64, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, fmt.Errorf("stat of pid %d: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// State is the state letter of a process (R, S, T for stopped, Z …).
func State(pid int) (byte, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) == 0 || f[0] == "" {
		return 0, fmt.Errorf("stat of pid %d: malformed", pid)
	}
	return f[0][0], nil
}

// Env returns the value of one variable in a process's environment. Just
// after exec.Cmd.Start returns the child may still be inside execve, with
// its new environment not yet published: Env then finds nothing. Callers
// that check ownership by environment do so long after the start (at a
// fault, at recovery), never right after it.
func Env(pid int, key string) (string, bool, error) {
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
