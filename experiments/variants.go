package experiments

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gameday/gameday/sut/policy"
)

// UnknownVariantError is returned by ResolveVariant for a name that is
// neither an inline variant of the experiment nor a variant of the shop.
type UnknownVariantError struct {
	Name   string
	Inline []string // the experiment's spec.variants, sorted
	Shop   []string // the shop's named variants (policy.Names)
}

// Reason says why the name is unknown and which names exist.
func (e *UnknownVariantError) Reason() string {
	inline := "it has no spec.variants"
	if len(e.Inline) > 0 {
		inline = "spec.variants: " + strings.Join(e.Inline, ", ")
	}
	return fmt.Sprintf("not a variant of the shop (have: %s) nor of the scenario (%s)%s",
		strings.Join(e.Shop, ", "), inline, suggest(e.Name, append(append([]string(nil), e.Inline...), e.Shop...)))
}

func (e *UnknownVariantError) Error() string {
	return fmt.Sprintf("variant %q: %s", e.Name, e.Reason())
}

// VariantNames returns the names a variant can be given by: the
// experiment's inline variants (sorted), then the shop's named variants.
func (e *Experiment) VariantNames() []string {
	return append(sortedKeys(e.Spec.Variants), policy.Names()...)
}

// ResolveVariant returns the policy of the variant called name. The name is
// looked up first in spec.variants, whose entry yields its base variant with
// its replicas and overrides applied and renamed to name; then among the
// shop's named variants. The scenario's own spec.sut.replicas and
// spec.sut.overrides are not applied: the caller applies them on top (see
// (*policy.Variant).Apply). An unknown name gives an *UnknownVariantError.
func (e *Experiment) ResolveVariant(name string) (*policy.Variant, error) {
	return resolveVariant(name, e.Spec.Variants, policy.Names(), policy.Load)
}

// resolveVariant resolves name against the inline variants, then against
// the shop's variants (names, loaded with load).
func resolveVariant(name string, inline map[string]InlineVariant, shop []string, load func(string) (*policy.Variant, error)) (*policy.Variant, error) {
	iv, isInline := inline[name]
	if !isInline {
		if !slices.Contains(shop, name) {
			return nil, &UnknownVariantError{Name: name, Inline: sortedKeys(inline), Shop: shop}
		}
		v, err := load(name)
		if err != nil {
			return nil, fmt.Errorf("resolve variant %s: %w", name, err)
		}
		return v, nil
	}
	if !slices.Contains(shop, iv.Base) {
		return nil, fmt.Errorf("variant %s: base %q is not a variant of the shop (have: %s)", name, iv.Base, strings.Join(shop, ", "))
	}
	base, err := load(iv.Base)
	if err != nil {
		return nil, fmt.Errorf("variant %s: %w", name, err)
	}
	v, err := base.Apply(iv.Replicas, iv.Overrides)
	if err != nil {
		return nil, fmt.Errorf("variant %s (base %s): %w", name, iv.Base, err)
	}
	v.Name = name
	return v, nil
}
