package platform

import (
	"github.com/manifest-push/manifest-push/internal/suggest"

	"fmt"
	"slices"
	"strings"
)

// unknown builds the error for an unknown os or architecture: given is what
// the user wrote, norm its lower-case form. It suggests the nearest known
// name (or alias) and lists the known names.
func unknown(sentinel error, given, norm string, known []string, aliases []archAlias) error {
	var hint string
	if s := nearest(norm, known, aliases); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Errorf("%w %s%s; known: %s", sentinel, suggest.Quote(given), hint, strings.Join(known, ", "))
}

// nearest is suggest.Nearest over the known names and the aliases (an
// alias that is close suggests its canonical name); ties go to the known
// names first, in order.
func nearest(s string, known []string, aliases []archAlias) string {
	candidates := slices.Clone(known)
	canonical := map[string]string{}
	for _, a := range aliases {
		candidates = append(candidates, a.alias)
		canonical[a.alias] = a.arch
	}
	return suggest.Nearest(s, candidates, canonical)
}
