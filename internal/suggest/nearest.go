package suggest

import (
	"strings"
	"unicode/utf8"
)

// Nearest returns the candidate closest to s, or "" when none is close
// enough: first one that differs only in case or in the separators ".",
// "_" and "-"; else the nearest by optimal string alignment distance (at
// most 1 for short words, 2 from five characters, 3 from ten); else the
// only candidate that s is a prefix of (three characters or more).
// canonical maps a candidate to the name to suggest for it (aliases); nil
// means itself. Ties go to the earlier candidate.
func Nearest(s string, candidates []string, canonical map[string]string) string {
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
		if d := Distance(low, c); d < bestD {
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
