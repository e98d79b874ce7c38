// Validation of spec.sut, spec.variants and their overrides.

package experiments

import (
	"slices"
	"strings"

	"github.com/gameday/gameday/sut/policy"
)

func (v *validator) knownService(p Pos, what, name string, allowClient bool) bool {
	allowed := v.cat.services
	if allowClient {
		allowed = append(append([]string(nil), allowed...), ClientService)
	}
	if slices.Contains(allowed, name) {
		return true
	}
	v.add(p, "%s: unknown service %q (allowed: %s)%s", what, name, strings.Join(allowed, ", "), suggest(name, allowed))
	return false
}

func (v *validator) sut() {
	u := &v.e.Spec.SUT
	_, inline := v.e.Spec.Variants[u.Variant]
	if !u.Src.Has("variant") {
		u.Variant = DefaultVariant
	} else if !slices.Contains(v.cat.variants, u.Variant) && !inline {
		allowed := append([]string(nil), v.cat.variants...)
		for _, name := range sortedKeys(v.e.Spec.Variants) {
			if !slices.Contains(allowed, name) {
				allowed = append(allowed, name)
			}
		}
		v.add(u.Src.Value("variant"), "spec.sut.variant %q is unknown (allowed: %s)%s", u.Variant, strings.Join(allowed, ", "), suggest(u.Variant, allowed))
	}
	for _, svc := range sortedKeys(u.Replicas) {
		n := u.Replicas[svc]
		kp, vp := u.Src.mapKey("replicas", svc)
		if v.knownService(kp, "spec.sut.replicas", svc, false) && (n < 1 || n > MaxReplicas) {
			v.add(vp, "spec.sut.replicas.%s: %d is out of range (allowed: 1 to %d)", svc, n, MaxReplicas)
		}
	}
	if u.Src.Has("overrides") && u.Overrides != nil {
		v.overrides(u)
	}
}

// patchNames checks the service and edge names of a patch written at p
// under what (spec.sut.overrides, spec.variants.NAME.overrides).
func (v *validator) patchNames(p Pos, what string, patch *policy.Patch) bool {
	ok := true
	for _, svc := range sortedKeys(patch.Services) {
		ok = v.knownService(p, what+".services", svc, false) && ok
	}
	for _, edge := range sortedKeys(patch.Edges) {
		from, to, found := strings.Cut(edge, "->")
		if !found {
			v.add(p, "%s.edges: %q is not an edge; write caller->callee (for example orders->payment)", what, edge)
			ok = false
			continue
		}
		ok = v.knownService(p, what+".edges "+edge, from, false) && ok
		ok = v.knownService(p, what+".edges "+edge, to, false) && ok
	}
	return ok
}

// overrides checks the patch's service and edge names, then applies it to
// the variant (named or inline), which validates the resulting policy
// strictly.
func (v *validator) overrides(u *SUT) {
	p := u.Src.Value("overrides")
	ok := v.patchNames(p, "spec.sut.overrides", u.Overrides)
	_, inline := v.inline[u.Variant]
	if !ok || v.cat.variant == nil || (!slices.Contains(v.cat.variants, u.Variant) && !inline) {
		return
	}
	base, err := resolveVariant(u.Variant, v.inline, v.cat.variants, v.cat.variant)
	if err != nil {
		v.add(p, "spec.sut: %v", err)
		return
	}
	if _, err := base.Apply(u.Replicas, u.Overrides); err != nil {
		msg := policyLineRE.ReplaceAllString(err.Error(), "")
		v.add(p, "spec.sut.overrides do not apply to variant %s: %s", u.Variant, msg)
	}
}

// variants checks spec.variants: names that are valid and do not shadow a
// variant of the shop, a base that is a variant of the shop, replica counts
// in range and a patch that applies to the base.
func (v *validator) variants() {
	s := &v.e.Spec
	v.inline = map[string]InlineVariant{}
	for _, name := range sortedKeys(s.Variants) {
		iv := s.Variants[name]
		what := "spec.variants." + name
		kp, _ := s.Src.mapKey("variants", name)
		ok := true
		switch {
		case !nameRE.MatchString(name) || len(name) > 63:
			v.add(kp, "spec.variants: %q must be lower-case letters, digits and - (at most 63, for example short-timeouts)", name)
			ok = false
		case slices.Contains(v.cat.variants, name):
			v.add(kp, "spec.variants: %q is already a variant of the shop; give the inline variant another name (the shop's: %s)", name, strings.Join(v.cat.variants, ", "))
			ok = false
		}
		switch {
		case !iv.Src.Has("base"):
			v.add(iv.Src.Pos, "%s.base is missing; name the shop variant it changes (allowed: %s)", what, strings.Join(v.cat.variants, ", "))
			ok = false
		case !slices.Contains(v.cat.variants, iv.Base):
			v.add(iv.Src.Value("base"), "%s.base %q is not a variant of the shop (allowed: %s)%s", what, iv.Base, strings.Join(v.cat.variants, ", "), suggest(iv.Base, v.cat.variants))
			ok = false
		}
		for _, svc := range sortedKeys(iv.Replicas) {
			n := iv.Replicas[svc]
			rkp, rvp := iv.Src.mapKey("replicas", svc)
			if !v.knownService(rkp, what+".replicas", svc, false) {
				ok = false
			} else if n < 1 || n > MaxReplicas {
				v.add(rvp, "%s.replicas.%s: %d is out of range (allowed: 1 to %d)", what, svc, n, MaxReplicas)
				ok = false
			}
		}
		if iv.Overrides != nil && !v.patchNames(iv.Src.Value("overrides"), what+".overrides", iv.Overrides) {
			ok = false
		}
		if !ok || v.cat.variant == nil {
			continue
		}
		base, err := v.cat.variant(iv.Base)
		if err != nil {
			v.add(iv.Src.Value("base"), "%s: %v", what, err)
			continue
		}
		if _, err := base.Apply(iv.Replicas, iv.Overrides); err != nil {
			msg := policyLineRE.ReplaceAllString(err.Error(), "")
			v.add(iv.Src.Value("overrides"), "%s.overrides do not apply to variant %s: %s", what, iv.Base, msg)
			continue
		}
		v.inline[name] = iv
	}
}
