package experiments

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var wantLibrary = []string{"bandwidth-squeeze", "baseline", "gateway-pause", "inventory-partition", "orders-crash-loop", "payment-slowdown", "retry-storm"}

func TestLibraryScenariosValidateAndPlan(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range lib {
		names = append(names, s.Name)
		t.Run(s.Name, func(t *testing.T) {
			data, err := fs.ReadFile(LibraryFS(), s.Name+".yaml")
			if err != nil {
				t.Fatal(err)
			}
			e, err := Parse(s.File, data)
			if err != nil {
				t.Fatalf("library scenario does not validate:\n%v", err)
			}
			if e.Metadata.Name != s.Name {
				t.Errorf("metadata.name %q, want the file name %q", e.Metadata.Name, s.Name)
			}
			if s.Description == "" {
				t.Error("no description")
			}
			p, err := e.Plan()
			if err != nil {
				t.Fatal(err)
			}
			if p.Total.D().Seconds() < 60 || p.Total.D().Seconds() > 90 {
				t.Errorf("total %s: library scenarios last 60–90 s (CI)", p.Total)
			}
			if len(e.Spec.SteadyState) == 0 || len(e.Spec.SLOs) == 0 {
				t.Error("a library scenario needs a steady state and SLOs")
			}
		})
	}
	if strings.Join(names, ",") != strings.Join(wantLibrary, ",") {
		t.Errorf("library = %v, want %v", names, wantLibrary)
	}
}

func TestResolve(t *testing.T) {
	name, data, err := Resolve("payment-slowdown")
	if err != nil || name != "library/payment-slowdown.yaml" || !strings.Contains(string(data), "name: payment-slowdown") {
		t.Fatalf("Resolve(payment-slowdown) = %q, %d bytes, %v", name, len(data), err)
	}
	if name, _, err := Resolve("library/baseline.yaml"); err != nil || name != "library/baseline.yaml" {
		t.Errorf("Resolve(library/baseline.yaml) = %q, %v", name, err)
	}
	dir := t.TempDir()
	// A file wins over a library name.
	local := filepath.Join(dir, "baseline")
	if err := os.WriteFile(local, []byte("kind: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if name, data, err := Resolve(local); err != nil || name != local || string(data) != "kind: x\n" {
		t.Fatalf("Resolve(file) = %q, %q, %v", name, data, err)
	}
	_, _, err = Resolve("payment-slowdwn")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `did you mean "payment-slowdown"?`) {
		t.Fatalf("Resolve(typo) error = %v", err)
	}
	if _, _, err := Resolve(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("Resolve(dir) error = %v", err)
	}
}
