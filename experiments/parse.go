package experiments

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

// ClientService is the name of the load generator as the caller of an edge:
// accepted only as the `from` side of a link fault or a partition group.
const ClientService = "client"

// catalog is what validation checks names against. Parse uses the real one;
// tests may substitute fault types that are not registered yet.
type catalog struct {
	faultType  func(string) (faults.TypeInfo, bool)
	faultTypes func() []faults.TypeInfo
	services   []string
	variants   []string
	// variant loads a variant's policy, to check overrides against it.
	variant func(string) (*policy.Variant, error)
	callers func(string) []string
}

func defaultCatalog() catalog {
	return catalog{faultType: faults.Lookup, faultTypes: faults.Types, services: sut.Services(), variants: policy.Names(), variant: policy.Load, callers: sut.Callers}
}

// Load reads and parses an experiment file.
func Load(path string) (*Experiment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load experiment: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates an experiment. The error, if any, is an
// ErrorList naming file:line:col for every problem found.
func Parse(filename string, data []byte) (*Experiment, error) {
	return parseWith(defaultCatalog(), filename, data)
}

func parseWith(cat catalog, filename string, data []byte) (*Experiment, error) {
	c := &errs{file: filename}
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.add(Pos{}, "the file is empty; an experiment starts with apiVersion: %s and kind: %s", APIVersion, Kind)
			return nil, c.err()
		}
		addYAMLError(c, dec, data, err)
		return nil, c.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		c.add(posOf(&extra), "a second YAML document: one experiment per file")
	} else if !errors.Is(err, io.EOF) {
		addYAMLError(c, dec, data, err)
		return nil, c.err()
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	e := &Experiment{File: filename}
	d := &decoder{errs: c}
	d.decode(root, reflectValue(e), "")
	c.seal()
	v := &validator{errs: c, cat: cat, e: e, lines: strings.Split(string(data), "\n")}
	v.validate()
	if err := c.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// addYAMLError adds a syntax error of the file at its line and column. When
// the parser's state cannot be read (a yaml.v3 other than the one
// yamlerr.go knows), the library's message is kept whole instead: the line
// it prints is not reliable.
func addYAMLError(c *errs, dec *yaml.Decoder, data []byte, err error) {
	if p, msg, ok := yamlFailure(dec, data, err); ok {
		c.add(p, "%s", msg)
		return
	}
	c.add(Pos{}, "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}
