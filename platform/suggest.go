package platform

import (
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
	return fmt.Errorf("%w %s%s; known: %s", sentinel, quoteMax(given), hint, strings.Join(known, ", "))
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
	try := func(cand, suggest string) {
		if d := osa(s, cand); d < bestD {
			best, bestD = suggest, d
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

// osa is the optimal string alignment distance (Levenshtein with adjacent
// transpositions) between a and b, over bytes.
func osa(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// quoteMax quotes s for a message, shortened to a readable length.
func quoteMax(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
