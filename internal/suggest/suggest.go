// Package suggest holds what error messages need to point a user from a
// mistyped word to the right one: an edit distance, and a quote of the
// user's word shortened to a readable length.
package suggest

import (
	"fmt"
	"unicode/utf8"
)

// Distance is the optimal string alignment distance (Levenshtein with
// adjacent transpositions) between a and b, over bytes.
func Distance(a, b string) int {
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

// MaxQuote is the longest part of a word that Quote shows.
const MaxQuote = 64

// Quote quotes s for a message, cut at MaxQuote bytes (on a rune boundary)
// and marked with "..." when longer.
func Quote(s string) string {
	if len(s) > MaxQuote {
		cut := MaxQuote
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
