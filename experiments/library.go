package experiments

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed library/*.yaml
var libraryFiles embed.FS

// Scenario is one experiment of the built-in library.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	File        string `json:"file"` // library/NAME.yaml
}

// LibraryFS returns the built-in scenario files (NAME.yaml).
func LibraryFS() fs.FS {
	sub, err := fs.Sub(libraryFiles, "library")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Library lists the built-in scenarios, sorted by name, with the
// description from each file's metadata.
func Library() ([]Scenario, error) {
	ents, err := fs.ReadDir(LibraryFS(), ".")
	if err != nil {
		return nil, fmt.Errorf("read scenario library: %w", err)
	}
	var out []Scenario
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok {
			continue
		}
		data, err := fs.ReadFile(LibraryFS(), e.Name())
		if err != nil {
			return nil, fmt.Errorf("read scenario %s: %w", name, err)
		}
		var head struct {
			Metadata struct {
				Description string `yaml:"description"`
			} `yaml:"metadata"`
		}
		if err := yaml.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", name, err)
		}
		out = append(out, Scenario{Name: name, Description: strings.Join(strings.Fields(head.Metadata.Description), " "), File: path.Join("library", e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ErrNotFound is returned by Resolve when nameOrPath is neither a file nor a
// built-in scenario.
var ErrNotFound = errors.New("no such experiment")

// Resolve finds an experiment by file path or by the name of a built-in
// scenario (`gameday run payment-slowdown`). An existing file wins over a
// library name; the returned filename is the path, or library/NAME.yaml.
func Resolve(nameOrPath string) (filename string, data []byte, err error) {
	if st, statErr := os.Stat(nameOrPath); statErr == nil && !st.IsDir() {
		data, err := os.ReadFile(nameOrPath)
		if err != nil {
			return "", nil, fmt.Errorf("read experiment: %w", err)
		}
		return nameOrPath, data, nil
	} else if statErr == nil {
		return "", nil, fmt.Errorf("%s is a directory, not an experiment file", nameOrPath)
	}
	// NAME, NAME.yaml or library/NAME.yaml (as messages print it).
	name := strings.TrimSuffix(strings.TrimPrefix(nameOrPath, "library/"), ".yaml")
	if !strings.ContainsAny(name, `/\`) {
		if data, err := fs.ReadFile(LibraryFS(), name+".yaml"); err == nil {
			return path.Join("library", name+".yaml"), data, nil
		}
	}
	var names []string
	if lib, lerr := Library(); lerr == nil {
		for _, s := range lib {
			names = append(names, s.Name)
		}
	}
	return "", nil, fmt.Errorf("%w: %q is not a file nor a built-in scenario (built-in: %s)%s", ErrNotFound, nameOrPath, strings.Join(names, ", "), suggest(name, names))
}
