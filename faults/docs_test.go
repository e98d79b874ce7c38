package faults

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryTypeAndParam fails when docs/faults.md misses a fault
// type or a parameter, or when its generated table is stale. Regenerate with
// GAMEDAY_UPDATE_DOCS=1 go test ./faults -run TestDocs.
func TestDocsListEveryTypeAndParam(t *testing.T) {
	const path = "../docs/faults.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, CatalogBegin), strings.Index(doc, CatalogEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: catalog markers missing", path)
	}
	want := CatalogMarkdown()
	got := doc[i+len(CatalogBegin)+1 : j]
	if got != want && os.Getenv("GAMEDAY_UPDATE_DOCS") == "1" {
		doc = doc[:i+len(CatalogBegin)+1] + want + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		got = want
	}
	for _, ti := range Types() {
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
		t.Errorf("%s: the catalog table is stale; regenerate with GAMEDAY_UPDATE_DOCS=1 go test ./faults -run TestDocs", path)
	}
}
