// Package e2etest holds what the end-to-end tests of several packages share:
// building the project's binaries once, and finding what a run left behind.
package e2etest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Build compiles the Go package pkg (for example
// "github.com/gameday/gameday/cmd/sut") into dir and returns the binary's
// path. Build output goes to stderr, so a broken build explains itself.
func Build(dir, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return bin, nil
}

// ProcessesOf returns the PIDs of every live process whose environment
// carries GAMEDAY_RUN_ID=runID: the children of that run, found by the
// ownership mark the runtime gives them, never by name.
func ProcessesOf(runID string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	want := "GAMEDAY_RUN_ID=" + runID
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == want {
				if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

// Main is a TestMain body for end-to-end tests that need one of the
// project's binaries: it builds pkg once into a temporary directory, points
// *bin at it, runs the tests and removes the directory. Use it as
// `func TestMain(m *testing.M) { os.Exit(e2etest.Main(m, pkg, &bin)) }`.
func Main(m interface{ Run() int }, pkg string, bin *string) int {
	dir, err := os.MkdirTemp("", "gameday-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir, pkg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
