package experiments

import (
	"io/fs"
	"os"
	"path/filepath"
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
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
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
