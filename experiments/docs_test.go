package experiments

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gameday/gameday/faults"
)

// schemaPaths lists every field of the experiment file as a dotted path,
// with [] for list elements: spec.load.stages[].duration.
func schemaPaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(scalarIface) {
		return
	}
	names, index := fieldInfo(t)
	for _, n := range names {
		p := n
		if prefix != "" {
			p = prefix + "." + n
		}
		*out = append(*out, p)
		schemaPaths(t.Field(index[n]).Type, p, out)
	}
}

func TestEverySchemaFieldIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/experiments.md")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	schemaPaths(reflect.TypeFor[Experiment](), "", &paths)
	if len(paths) < 60 {
		t.Fatalf("only %d schema paths found", len(paths))
	}
	for _, p := range paths {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/experiments.md does not document `%s`", p)
		}
	}
}

func TestEveryFaultTypeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/experiments.md")
	if err != nil {
		t.Fatal(err)
	}
	types := faults.Types()
	if len(types) == 0 {
		t.Fatal("no fault type registered")
	}
	for _, ft := range types {
		if !strings.Contains(string(doc), "| `"+ft.Name+"` |") {
			t.Errorf("docs/experiments.md has no row for fault type `%s`", ft.Name)
		}
	}
}

func TestDocumentedExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../docs/experiments.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## An example\n\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/experiments.md has no example")
	}
	e, err := Parse("docs/experiments.md example", []byte(example))
	if err != nil {
		t.Fatalf("the documented example is invalid:\n%v", err)
	}
	if _, err := e.Plan(); err != nil {
		t.Fatal(err)
	}
}
