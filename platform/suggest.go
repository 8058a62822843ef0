package platform

import (
	"github.com/manifest-push/manifest-push/internal/suggest"

	"fmt"
	"strings"
	"unicode/utf8"
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

// nearest returns the known name closest to s by optimal string alignment
// distance, or "" when none is close enough. An alias that is close
// suggests its canonical name. Ties go to the first candidate: known names
// in order, then aliases in order, so the result is deterministic.
func nearest(s string, known []string, aliases []archAlias) string {
	if s == "" || len(s) > 32 {
		return ""
	}
	best, bestD := "", 1<<30
	try := func(cand, name string) {
		if d := suggest.Distance(s, cand); d < bestD {
			best, bestD = name, d
		}
	}
	for _, k := range known {
		try(k, k)
	}
	for _, a := range aliases {
		try(a.alias, a.arch)
	}
	limit := 1
	if n := utf8.RuneCountInString(s); n >= 5 {
		limit = 2
	}
	if bestD > limit {
		return ""
	}
	return best
}
