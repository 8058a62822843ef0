package spec

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// nearest returns the candidate closest to s, or "" when none is close
// enough: first one that differs only in case or in the separators ".",
// "_" and "-"; else the nearest by optimal string alignment distance (at
// most 1 for short words, 2 from five characters, 3 from ten); else the
// only candidate that s is a prefix of (three characters or more).
// canonical maps a candidate to the name to suggest for it (aliases); nil
// means itself. Ties go to the earlier candidate.
func nearest(s string, candidates []string, canonical map[string]string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	name := func(c string) string {
		if n, ok := canonical[c]; ok {
			return n
		}
		return c
	}
	squashed := squash(s)
	for _, c := range candidates {
		if squash(c) == squashed {
			return name(c)
		}
	}
	best, bestD := "", 1<<30
	low := strings.ToLower(s)
	for _, c := range candidates {
		if d := osa(low, c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	switch n := utf8.RuneCountInString(s); {
	case n >= 10:
		limit = 3
	case n >= 5:
		limit = 2
	}
	if bestD <= limit {
		return name(best)
	}
	if len(s) >= 3 {
		var found string
		for _, c := range candidates {
			if strings.HasPrefix(c, low) {
				if found != "" && name(found) != name(c) {
					return ""
				}
				found = c
			}
		}
		if found != "" {
			return name(found)
		}
	}
	return ""
}

// squash lower-cases ASCII letters and drops ".", "_", "-" and " ".
func squash(x string) string {
	b := make([]byte, 0, len(x))
	for i := 0; i < len(x); i++ {
		switch c := x[i]; {
		case c == '.' || c == '_' || c == '-' || c == ' ':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
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

// didYouMean renders a suggestion for s among candidates, or "".
func didYouMean(s string, candidates []string, canonical map[string]string) string {
	if n := nearest(s, candidates, canonical); n != "" && n != s {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
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
