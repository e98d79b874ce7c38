package experiments

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Source records where a mapping and its keys were written in the file, so
// that validation can point at them.
type Source struct {
	Pos   Pos
	keys  map[string]Pos
	vals  map[string]Pos
	nodes map[string]*yaml.Node
}

// Has reports whether the key was written.
func (s Source) Has(key string) bool { _, ok := s.keys[key]; return ok }

// Key returns the position of the key, or of the mapping when it is absent.
func (s Source) Key(key string) Pos {
	if p, ok := s.keys[key]; ok {
		return p
	}
	return s.Pos
}

// Value returns the position of the key's value, or of the mapping when the
// key is absent.
func (s Source) Value(key string) Pos {
	if p, ok := s.vals[key]; ok {
		return p
	}
	return s.Pos
}

// scalarDecoder is implemented by value types written as one YAML scalar.
type scalarDecoder interface {
	decodeScalar(string) error
}

var (
	sourceType  = reflect.TypeFor[Source]()
	scalarIface = reflect.TypeFor[scalarDecoder]()
)

// decoder fills Go values from YAML nodes strictly, collecting every error.
type decoder struct {
	*errs
	depth int
	// nodes counts decoded nodes: aliases can make a small file expand
	// into a huge tree, which is refused past maxNodes.
	nodes int
}

const maxNodes = 200000

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// fieldInfo lists the YAML fields of a struct type.
func fieldInfo(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

// where names a field path in messages.
func where(what string) string {
	if what == "" {
		return "the experiment"
	}
	return what
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes == maxNodes+1 {
		d.add(posOf(n), "%s: the file expands to more than %d YAML nodes (through aliases)", where(what), maxNodes)
	}
	if d.nodes > maxNodes {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > 50 {
		d.add(posOf(n), "%s: nested too deeply", what)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(scalarIface) {
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.add(posOf(n), "%s: expected a single value, got %s", what, kindName(n))
			return
		}
		if err := v.Addr().Interface().(scalarDecoder).decodeScalar(n.Value); err != nil {
			d.add(posOf(n), "%s: %v", what, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), what)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, what)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(posOf(n), "%s: expected a list, got %s", what, kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", what, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.add(posOf(n), "%s: expected a mapping, got %s", what, kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				d.add(posOf(k), "%s: keys must be plain names (merge keys << are not supported)", what)
				continue
			}
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.add(posOf(k), "%s: key %q is repeated", what, k.Value)
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, what+"."+k.Value)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.add(posOf(n), "%s: %v", what, err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.add(posOf(n), "%s: expected text, got %s", what, kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := scalarBool(n)
		if !ok {
			d.add(posOf(n), "%s: expected true or false, got %s", what, kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode {
			d.add(posOf(n), "%s: expected a whole number, got %s", what, kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || (v.Kind() == reflect.Int && (i > math.MaxInt32 || i < math.MinInt32)) {
			d.add(posOf(n), "%s: expected a whole number, got %s", what, kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode {
			d.add(posOf(n), "%s: expected a number, got %s", what, kindName(n))
			return
		}
		f, err := parseFinite(strings.ReplaceAll(n.Value, "_", ""))
		if err != nil {
			d.add(posOf(n), "%s: expected a number, got %s", what, kindName(n))
			return
		}
		v.SetFloat(f)
	default:
		d.add(posOf(n), "%s: cannot decode into %s", what, v.Type())
	}
}

func scalarBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch n.Value {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, what string) {
	t := v.Type()
	names, index := fieldInfo(t)
	src := Source{Pos: posOf(n), keys: map[string]Pos{}, vals: map[string]Pos{}, nodes: map[string]*yaml.Node{}}
	defer func() {
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Type == sourceType {
				v.Field(i).Set(reflect.ValueOf(src))
			}
		}
	}()
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(posOf(n), "%s: expected a mapping with fields %s, got %s", what, strings.Join(names, ", "), kindName(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			d.add(posOf(k), "%s: keys must be plain field names (merge keys << are not supported)", what)
			continue
		}
		fi, ok := index[k.Value]
		if !ok {
			sorted := append([]string(nil), names...)
			sort.Strings(sorted)
			d.add(posOf(k), "unknown field %q in %s (allowed: %s)%s", k.Value, where(what), strings.Join(sorted, ", "), suggest(k.Value, names))
			// A misspelt field is also a missing one: do not report both.
			d.decoded[src.Pos] = true
			continue
		}
		if _, dup := src.keys[k.Value]; dup {
			d.add(posOf(k), "field %q is repeated in %s", k.Value, where(what))
			continue
		}
		src.keys[k.Value] = posOf(k)
		vn := val
		if vn.Kind == yaml.AliasNode {
			vn = vn.Alias
		}
		src.vals[k.Value] = posOf(vn)
		src.nodes[k.Value] = vn
		d.decode(val, v.Field(fi), fieldPath(what, k.Value))
	}
}

func fieldPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

func reflectValue(e *Experiment) reflect.Value { return reflect.ValueOf(e).Elem() }

func parseFinite(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v, nil
}

// mapKey returns the positions of key and of its value in the mapping held
// by field of src (the mapping's position when not found).
func (s Source) mapKey(field, key string) (keyPos, valPos Pos) {
	n := s.nodes[field]
	if n == nil {
		return s.Value(field), s.Value(field)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return posOf(n.Content[i]), posOf(n.Content[i+1])
		}
	}
	return posOf(n), posOf(n)
}
