package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommands keeps the README's two opening commands honest: the
// game day it names must exist and validate, and CI must run the test
// command exactly as written.
func TestREADMECommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```sh\n")
	if !ok {
		t.Fatal("README.md has no sh code block")
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	if len(cmds) != 2 {
		t.Fatalf("README must open with exactly two commands, found %d: %q", len(cmds), cmds)
	}
	const prefix = "go run ./cmd/gameday run "
	if !strings.HasPrefix(cmds[0], prefix) {
		t.Fatalf("first command %q must run a game day with %q", cmds[0], prefix)
	}
	scenario := strings.TrimPrefix(cmds[0], prefix)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := experimentsCLI(t, wd, "validate", scenario); code != 0 {
		t.Fatalf("the README's scenario %q does not validate (exit %d): %s", scenario, code, stderr)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\n"+cmds[1]+"\n") {
		t.Fatalf(".ci/run does not run the README's test command %q on a line of its own", cmds[1])
	}
}

// TestDocsHaveNoMachinePaths: the README and docs/*.md name paths a reader
// has (the repository's, $OUT_DIR, runs/…), never a developer machine's
// temporary or home directories.
func TestDocsHaveNoMachinePaths(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs found: %v", err)
	}
	machinePath := regexp.MustCompile("(^|[\\s(\"'`=:])/(tmp|root|work)/\\S*")
	for _, f := range append(docs, "../../README.md") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range machinePath.FindAllString(line, -1) {
				t.Errorf("%s:%d: a path of the developer's machine: %s", strings.TrimPrefix(f, "../../"), i+1, strings.TrimSpace(m))
			}
		}
	}
}
