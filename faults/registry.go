package faults

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Class says what a fault acts on, which decides which runtime capability it
// needs and how its target is read.
type Class string

// Fault classes.
const (
	ClassProcess Class = "process" // instances of a service: kill, pause
	ClassLink    Class = "link"    // call edges into a service: latency, loss, partition …
	ClassHTTP    Class = "http"    // operations inside the service: http-abort, http-delay
)

// ParamKind is the type of a fault parameter's value, as written in YAML.
type ParamKind string

// Parameter kinds. Every value is written as a YAML scalar and checked by Check.
const (
	KindDuration ParamKind = "duration" // Go duration: 800ms, 2s
	KindInt      ParamKind = "int"      // whole number
	KindFloat    ParamKind = "float"    // number
	KindPercent  ParamKind = "percent"  // 0–100, with or without a trailing %
	KindBool     ParamKind = "bool"     // true or false
	KindString   ParamKind = "string"   // free text
	KindEnum     ParamKind = "enum"     // one of Param.Enum
	KindRate     ParamKind = "rate"     // bytes per second: 100KB, 1MB, 512B (SI: K=1000)
)

// Param describes one parameter of a fault type. The experiment loader
// validates YAML against it (with file:line:col), docs are generated from it.
type Param struct {
	Name     string
	Kind     ParamKind
	Required bool
	Default  string   // as written in YAML; empty means no default
	Enum     []string // allowed values for KindEnum
	Help     string
}

// Check validates a value written in YAML against the parameter's kind and
// returns an error that says what is allowed.
func (p Param) Check(value string) error {
	v := strings.TrimSpace(value)
	switch p.Kind {
	case KindDuration:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%s: %q is not a duration (for example 800ms, 2s)", p.Name, value)
		}
	case KindInt:
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("%s: %q is not a whole number", p.Name, value)
		}
	case KindFloat:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%s: %q is not a number", p.Name, value)
		}
	case KindPercent:
		if _, err := ParsePercent(v); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	case KindBool:
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%s: %q is not true or false", p.Name, value)
		}
	case KindEnum:
		for _, e := range p.Enum {
			if v == e {
				return nil
			}
		}
		return fmt.Errorf("%s: %q is not allowed (allowed: %s)", p.Name, value, strings.Join(p.Enum, ", "))
	case KindRate:
		if _, err := ParseRate(v); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	case KindString:
	default:
		return fmt.Errorf("%s: unknown parameter kind %q", p.Name, p.Kind)
	}
	return nil
}

// ParsePercent reads "25", "25%" or "12.5%" as a fraction in [0, 1].
func ParsePercent(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || f < 0 || f > 100 {
		return 0, fmt.Errorf("%q is not a percentage from 0 to 100", s)
	}
	return f / 100, nil
}

// ParseRate reads a byte rate such as 512B, 100KB, 1.5MB or 1GB (per second, SI units).
func ParseRate(s string) (int64, error) {
	v := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(s), "/s"))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%q is not a byte rate (for example 512B, 100KB, 1MB)", s)
	}
	return int64(f * mult), nil
}

// TypeInfo describes a fault type: what it is called, what it acts on and
// its parameters. Which runtimes support it is not listed: a runtime does
// when its deployments implement the capability the type needs (see
// SupportedBy).
type TypeInfo struct {
	Name    string
	Summary string
	Class   Class
	Params  []Param
	// Needs, when set, says whether a runtime has the capability the type
	// needs; unset, the class's interface decides (ProcessRuntime,
	// LinkRuntime, HTTPRuntime).
	Needs func(rt Runtime) bool
	// Instant says the fault is one act with no duration of its own (a
	// kill: what follows is the runtime's restart policy), so a plan may
	// give it duration 0.
	Instant bool
	// Groups says the fault may target two groups of services
	// (target.groups) instead of one service (a partition).
	Groups bool
	// Check, when set, validates the parameters together (for rules such as
	// "exactly one of a and b") after each was checked on its own.
	Check func(params map[string]string) error
}

// SupportedBy says whether a fault of this type can act on rt: whether rt
// implements the capability interface the type needs. rt may be a nil
// pointer of a deployment type (a runtime's capabilities before it
// deploys).
func (t TypeInfo) SupportedBy(rt Runtime) bool {
	if t.Needs != nil {
		return t.Needs(rt)
	}
	var ok bool
	switch t.Class {
	case ClassProcess:
		_, ok = rt.(ProcessRuntime)
	case ClassLink:
		_, ok = rt.(LinkRuntime)
	case ClassHTTP:
		_, ok = rt.(HTTPRuntime)
	}
	return ok
}

// Param returns the named parameter.
func (t TypeInfo) Param(name string) (Param, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// registry is filled by each fault type's init and only read afterwards.
var registry = map[string]registered{}

type registered struct {
	info TypeInfo
	make Constructor
}

// register adds a fault type; called from the init of the type's own file.
func register(info TypeInfo, make Constructor) {
	if _, dup := registry[info.Name]; dup {
		panic("faults: type registered twice: " + info.Name)
	}
	registry[info.Name] = registered{info: info, make: make}
}

// Lookup returns the fault type with that name.
func Lookup(name string) (TypeInfo, bool) {
	r, ok := registry[name]
	return r.info, ok
}

// Types returns every fault type, sorted by name.
func Types() []TypeInfo {
	out := make([]TypeInfo, 0, len(registry))
	for _, r := range registry {
		out = append(out, r.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// New validates spec against its type (unknown params, missing required
// ones, bad values), fills defaults and builds the fault against rt.
func New(spec Spec, rt Runtime) (Fault, error) {
	r, ok := registry[spec.Type]
	if !ok {
		names := make([]string, 0, len(registry))
		for _, t := range Types() {
			names = append(names, t.Name)
		}
		return nil, fmt.Errorf("fault %s: unknown type %q (known: %s)", spec.Name, spec.Type, strings.Join(names, ", "))
	}
	params, err := r.info.resolve(spec.Params)
	if err != nil {
		return nil, fmt.Errorf("fault %s (%s): %w", spec.Name, spec.Type, err)
	}
	spec.Params = params
	f, err := r.make(spec, rt)
	if err != nil {
		return nil, fmt.Errorf("fault %s (%s): %w", spec.Name, spec.Type, err)
	}
	return f, nil
}

// Validate checks params against the type without building the fault.
func (t TypeInfo) Validate(params map[string]string) error {
	_, err := t.resolve(params)
	return err
}

func (t TypeInfo) resolve(in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(t.Params))
	for k, v := range in {
		p, ok := t.Param(k)
		if !ok {
			allowed := make([]string, 0, len(t.Params))
			for _, p := range t.Params {
				allowed = append(allowed, p.Name)
			}
			return nil, fmt.Errorf("unknown parameter %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
		if err := p.Check(v); err != nil {
			return nil, err
		}
		out[k] = strings.TrimSpace(v)
	}
	for _, p := range t.Params {
		if _, ok := out[p.Name]; ok {
			continue
		}
		if p.Required {
			return nil, fmt.Errorf("parameter %s is required", p.Name)
		}
		if p.Default != "" {
			out[p.Name] = p.Default
		}
	}
	if t.Check != nil {
		if err := t.Check(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// params reads resolved (already checked) parameter values.
type params map[string]string

func (p params) duration(k string) time.Duration {
	d, _ := time.ParseDuration(p[k])
	return d
}

func (p params) percent(k string) float64 {
	f, _ := ParsePercent(p[k])
	return f
}

func (p params) int(k string) int {
	n, _ := strconv.Atoi(p[k])
	return n
}

func (p params) rate(k string) int64 {
	r, _ := ParseRate(p[k])
	return r
}
