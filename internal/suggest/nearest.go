package suggest

import (
	"strings"
	"unicode/utf8"
)

// Nearest returns the candidate closest to word, or "" when none is close
// enough: first one that differs only in case and the separators "-", "_"
// and "."; else the nearest by Distance (at most 1 for words under five
// characters, 2 under ten, 3 from ten). Ties go to the earlier candidate.
func Nearest(word string, candidates []string) string {
	if word == "" || len(word) > MaxQuote {
		return ""
	}
	squashed := squash(word)
	for _, c := range candidates {
		if squash(c) == squashed {
			return c
		}
	}
	limit := 1
	switch n := utf8.RuneCountInString(word); {
	case n >= 10:
		limit = 3
	case n >= 5:
		limit = 2
	}
	best, bestD := "", limit+1
	low := strings.ToLower(word)
	for _, c := range candidates {
		if d := Distance(low, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// squash lower-cases s and drops "-", "_" and ".".
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '_' || r == '.':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
