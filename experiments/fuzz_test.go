package experiments

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: whatever the input, Parse returns an error or an experiment
// whose plan can be made; it never panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	_ = fs.WalkDir(LibraryFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := fs.ReadFile(LibraryFS(), p)
			f.Add(data)
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse("fuzz.yaml", data)
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			// A syntax error points inside the file (its last line
			// may be the empty one after the final newline).
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, e := range list {
				if strings.HasPrefix(e.Msg, "invalid YAML") && (e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Column < 1) {
					t.Fatalf("syntax error outside the file's %d lines: %v", lines, e)
				}
			}
			return
		}
		p, err := e.Plan()
		if err != nil {
			t.Fatalf("valid experiment without a plan: %v", err)
		}
		if p.Total <= 0 {
			t.Fatalf("plan with total %s", p.Total)
		}
		for _, o := range p.Faults {
			if o.End > p.Total || o.Start > o.End {
				t.Fatalf("occurrence %+v outside the run (%s)", o, p.Total)
			}
		}
	})
}
