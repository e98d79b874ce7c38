package runtimes

import (
	"os"
	"strings"
	"testing"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
)

// TestDocsListEveryTypeAndParam fails when docs/faults.md misses a fault
// type or a parameter, or when its generated table is stale (its runtimes
// column is derived from what each registered runtime implements).
// Regenerate with GAMEDAY_UPDATE_DOCS=1 go test ./platform/runtimes -run TestDocs.
func TestDocsListEveryTypeAndParam(t *testing.T) {
	const path = "../../docs/faults.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, faults.CatalogBegin), strings.Index(doc, faults.CatalogEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: catalog markers missing", path)
	}
	want := faults.CatalogMarkdown(platform.RuntimesOf)
	got := doc[i+len(faults.CatalogBegin)+1 : j]
	if got != want && os.Getenv("GAMEDAY_UPDATE_DOCS") == "1" {
		doc = doc[:i+len(faults.CatalogBegin)+1] + want + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		got = want
	}
	for _, ti := range faults.Types() {
		if !strings.Contains(got, "| `"+ti.Name+"` |") {
			t.Errorf("%s: no row for fault type %s", path, ti.Name)
		}
		for _, p := range ti.Params {
			if !strings.Contains(got, "`"+p.Name+"` (") {
				t.Errorf("%s: type %s, parameter %s is not documented", path, ti.Name, p.Name)
			}
		}
	}
	if got != want {
		t.Errorf("%s: the catalog table is stale; regenerate with GAMEDAY_UPDATE_DOCS=1 go test ./platform/runtimes -run TestDocs", path)
	}
}

// TestEveryFaultTypeRunsSomewhere: the built-in runtimes between them
// support every fault type, and each support claim is the capability
// interface on the runtime's deployment type (the catalog's column cannot
// claim a runtime that lacks it).
func TestEveryFaultTypeRunsSomewhere(t *testing.T) {
	if got := platform.Names(); strings.Join(got, ",") != "local,docker,kubernetes" {
		t.Errorf("registered runtimes %v, want local (the default) first, then docker, kubernetes", got)
	}
	// A pod cannot be frozen through the API: kubernetes is no Pauser.
	want := map[string]string{"stop": "docker,kubernetes", "kill": "local,docker,kubernetes", "pause": "local,docker",
		"latency": "local,docker,kubernetes", "partition": "local,docker,kubernetes", "http-abort": "local,docker,kubernetes"}
	for _, ti := range faults.Types() {
		rts := platform.RuntimesOf(ti)
		if len(rts) == 0 {
			t.Errorf("fault type %s: no built-in runtime supports it", ti.Name)
		}
		if w, ok := want[ti.Name]; ok && strings.Join(rts, ",") != w {
			t.Errorf("fault type %s runs on %v, want %s", ti.Name, rts, w)
		}
	}
}
