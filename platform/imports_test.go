package platform_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/gameday/gameday/"

// under reports whether pkg is root or inside it; every package is under
// "" (the whole module).
func under(pkg, root string) bool {
	return root == "" || pkg == root || strings.HasPrefix(pkg, root+"/")
}

// TestImportGraph keeps the seams where the platform contract puts them
// (the non-test imports of every package of the module, from go list):
//   - a concrete runtime is imported only by platform/runtimes, the list of
//     built-in runtimes, so that adding one is one package and one line
//     there, and no caller can reach past the contract;
//   - the contract (platform) knows no runtime and nothing above it;
//   - fault types know no runtime and no process: they act on capability
//     interfaces, and an instance's Ref is opaque to them;
//   - the journal knows none of the record kinds it keeps;
//   - metrics, load generation and reports know neither runtimes nor
//     experiments;
//   - internal/lib (errext, finesleep, h1wire, procfs, rawio) imports
//     nothing of the module: the top of the house is internal/cli;
//   - only cmd/gameday imports the CLI.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	runtimes := []string{"platform/local", "platform/docker", "platform/kubernetes", "platform/internal"}
	rules := []struct {
		pkgs   []string // the rule holds for packages under these
		forbid []string // which must not import packages under these
		why    string
	}{
		{[]string{"platform"}, []string{"platform/local", "platform/docker", "platform/kubernetes", "platform/runtimes", "experiments", "sut", "loadgen", "reports", "internal/cli"}, "the contract knows no runtime and nothing above it"},
		{[]string{"faults"}, []string{"platform", "experiments", "internal/cli", "internal/lib/procfs"}, "fault types act on capability interfaces, not on a runtime, and know no process"},
		{[]string{"journal"}, []string{"faults", "platform", "experiments", "metrics", "loadgen", "reports", "sut", "internal"}, "the journal is the bottom of the house: it knows no one whose records it keeps"},
		{[]string{"metrics", "loadgen", "reports"}, []string{"platform", "experiments", "internal/cli"}, "measuring and reporting know no runtime and no experiment"},
		{[]string{"experiments"}, []string{"internal/cli"}, "experiments are run by the CLI, not the other way round"},
		{[]string{"internal/lib"}, []string{""}, "internal/lib is the bottom of the house: leaf libraries that import nothing of gameday"},
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	seen := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(f[0], module)
		seen++
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			for _, rt := range runtimes {
				if !under(imp, rt) || under(pkg, rt) || under(pkg, "platform/runtimes") {
					continue
				}
				if rt == "platform/internal" && (under(pkg, "platform/local") || under(pkg, "platform/docker") || under(pkg, "platform/kubernetes")) {
					continue // what the runtimes share
				}
				t.Errorf("%s imports %s: only platform/runtimes imports a concrete runtime (use the platform registry)", pkg, imp)
			}
			if imp == "internal/cli" && pkg != "cmd/gameday" {
				t.Errorf("%s imports internal/cli: only cmd/gameday does", pkg)
			}
			for _, r := range rules {
				for _, p := range r.pkgs {
					if p == "platform" && pkg != "platform" || p != "platform" && !under(pkg, p) {
						continue
					}
					for _, fb := range r.forbid {
						if under(imp, fb) && !under(imp, pkg) {
							t.Errorf("%s imports %s: %s", pkg, imp, r.why)
						}
					}
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("go list listed %d packages: %s", seen, out)
	}
}

// TestFaultsKnowNoPID: no fault type handles a pid, a /proc path or a
// signal; those belong to the runtime that owns the processes.
func TestFaultsKnowNoPID(t *testing.T) {
	files, err := filepath.Glob("../faults/*.go")
	if err != nil || len(files) < 10 {
		t.Fatalf("faults sources: %v %v", files, err)
	}
	// Outside string literals (the catalog's help may say what a runtime
	// does): no pid, no signal; anywhere: no /proc path.
	ident := regexp.MustCompile(`\bPID\b|\bPid\b|\bpid\b|\bsyscall\.`)
	literal := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|` + "`[^`]*`")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "//")
			m := ident.FindString(literal.ReplaceAllString(code, `""`))
			if strings.Contains(code, "/proc/") {
				m = "/proc/"
			}
			if m != "" {
				t.Errorf("%s:%d: %q: faults knows no process (%s)", f, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}
