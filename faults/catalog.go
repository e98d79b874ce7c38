package faults

import (
	"fmt"
	"strings"
)

// Catalog markers delimit the generated part of docs/faults.md.
const (
	CatalogBegin = "<!-- catalog:begin (generated from faults.Types(); run `GAMEDAY_UPDATE_DOCS=1 go test ./platform/runtimes -run TestDocs`) -->"
	CatalogEnd   = "<!-- catalog:end -->"
)

// CatalogMarkdown renders the fault catalog as a Markdown table: one row per
// type with its class, runtimes and parameters (kind, default, help).
// runtimes lists the runtimes that support a type (the platform registry
// derives it from their capabilities; faults knows no runtime).
func CatalogMarkdown(runtimes func(TypeInfo) []string) string {
	var b strings.Builder
	b.WriteString("| type | acts on | runtimes | parameters | what it does |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, t := range Types() {
		var ps []string
		for _, p := range t.Params {
			s := fmt.Sprintf("`%s` (%s", p.Name, p.Kind)
			if p.Kind == KindEnum {
				s += ": " + strings.Join(p.Enum, " | ")
			}
			switch {
			case p.Required:
				s += ", required"
			case p.Default != "":
				s += ", default `" + p.Default + "`"
			}
			s += "): " + p.Help
			ps = append(ps, s)
		}
		if len(ps) == 0 {
			ps = []string{"none"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", t.Name, t.Class, strings.Join(runtimes(t), ", "),
			strings.ReplaceAll(strings.Join(ps, "<br>"), "|", "\\|"), t.Summary)
	}
	return b.String()
}
