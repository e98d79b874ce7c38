package experiments

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gameday/gameday/faults"
)

// TestExperimentsNamesNoFaultType: what a fault type needs of the
// experiment file (a duration or none, one service or two groups) is in its
// TypeInfo, so that adding a fault type never touches experiments.
func TestExperimentsNamesNoFaultType(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "library") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d files found: %v", len(files), files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range faults.Types() {
			if q := strconv.Quote(ti.Name); strings.Contains(string(data), q) {
				t.Errorf("%s names the fault type %s", f, q)
			}
		}
	}
}
